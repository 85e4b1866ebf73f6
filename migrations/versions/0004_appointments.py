"""Appointments: the booking of a slot by a client, and its lifecycle.

Revision ID: 0004_appointments
Revises: 0003_credits
Create Date: 2026-11-26

What the database guarantees here, whatever the code does:
- at most one live (not cancelled) appointment per slot, a partial unique
  index; together with the slots' exclusion constraint no time of a
  professional can be double-booked;
- an appointment's student belongs to its client: a composite foreign key to
  (student, guardian);
- ledger entries that name an appointment name one of the same organization.
"""

from alembic import op
from tenant_tables import isolate_tenant_table

revision = "0004_appointments"
down_revision = "0003_credits"
branch_labels = None
depends_on = None

STATES = "('PRE_CONFIRMED', 'CONFIRMED', 'EXECUTED', 'NO_SHOW', 'CANCELLED')"


def upgrade() -> None:
    # The target of the (student, guardian) foreign key below.
    op.execute(
        "ALTER TABLE students ADD CONSTRAINT students_guardian_key "
        "UNIQUE (organization_id, id, guardian_id)"
    )
    op.execute(
        f"""
        CREATE TABLE appointments (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            professional_id bigint NOT NULL,
            client_id bigint NOT NULL,
            student_id bigint,
            time_slot_id bigint NOT NULL,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL,
            state text NOT NULL DEFAULT 'PRE_CONFIRMED' CHECK (state IN {STATES}),
            credit_cost integer NOT NULL CHECK (credit_cost >= 0),
            refundable_until timestamptz NOT NULL,
            notes text,
            private_notes text,
            booked_at timestamptz NOT NULL DEFAULT now(),
            confirmed_at timestamptz,
            executed_at timestamptz,
            cancelled_at timestamptz,
            cancelled_by_id bigint,
            cancellation_reason text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id),
            FOREIGN KEY (organization_id, professional_id)
                REFERENCES professionals (organization_id, id),
            FOREIGN KEY (organization_id, client_id) REFERENCES users (organization_id, id),
            FOREIGN KEY (organization_id, student_id, client_id)
                REFERENCES students (organization_id, id, guardian_id),
            FOREIGN KEY (organization_id, time_slot_id) REFERENCES time_slots (organization_id, id),
            FOREIGN KEY (organization_id, cancelled_by_id) REFERENCES users (organization_id, id),
            CHECK (ends_at > starts_at),
            CHECK ((state = 'CANCELLED') = (cancelled_at IS NOT NULL)),
            CHECK (state NOT IN ('EXECUTED') OR executed_at IS NOT NULL)
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX appointments_live_slot_key ON appointments "
        "(organization_id, time_slot_id) WHERE state <> 'CANCELLED'"
    )
    op.execute(
        "CREATE INDEX appointments_professional_idx "
        "ON appointments (organization_id, professional_id, starts_at, id)"
    )
    op.execute(
        "CREATE INDEX appointments_client_idx ON appointments (organization_id, client_id, starts_at, id)"
    )
    op.execute(
        "CREATE INDEX appointments_starts_idx ON appointments (organization_id, starts_at, id)"
    )
    # The expiry job looks for unconfirmed bookings only.
    op.execute(
        "CREATE INDEX appointments_pre_confirmed_idx ON appointments (organization_id, booked_at) "
        "WHERE state = 'PRE_CONFIRMED'"
    )
    isolate_tenant_table("appointments", "SELECT, INSERT, UPDATE")
    op.execute(
        "ALTER TABLE credit_transactions ADD CONSTRAINT credit_transactions_appointment_fkey "
        "FOREIGN KEY (organization_id, appointment_id) REFERENCES appointments (organization_id, id)"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE credit_transactions DROP CONSTRAINT credit_transactions_appointment_fkey"
    )
    op.execute("DROP TABLE appointments")
    op.execute("ALTER TABLE students DROP CONSTRAINT students_guardian_key")
