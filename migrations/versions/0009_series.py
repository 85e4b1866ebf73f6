"""Recurring series: standing appointments booked as their occurrences enter the window.

Revision ID: 0009_series
Revises: 0008_accounts
Create Date: 2026-12-06

- `appointment_series`: the first occurrence's local weekday and start time in the
  professional's zone, repeated every `interval_weeks` (1 or 2) from `first_date`, bounded
  by `until` or `count` (never both) or open-ended. `next_occurrence` counts the
  occurrences handled so far, booked or skipped: the extension job goes on from there,
  and a series with a `count` ends when it reaches it.
- `appointment_series_skips`: an occurrence that could not be booked, and why; one row per
  occurrence, so the people told about it are told once.
- `appointments.series_id`: the series an appointment is an occurrence of.
- `notification_outbox`: a SERIES_SKIPPED kind, the message that an occurrence could not be
  booked.
Every key holds organization_id, every foreign key is composite, and row-level security is
forced, as for every tenant table.
"""

from alembic import op
from tenant_tables import isolate_tenant_table

revision = "0009_series"
down_revision = "0008_accounts"
branch_labels = None
depends_on = None

SKIP_CODES = "('SLOT_UNAVAILABLE', 'INSUFFICIENT_CREDITS', 'OUTSIDE_BOOKING_WINDOW')"
OLD_KINDS = ("('BOOKING', 'CONFIRMATION', 'CANCELLATION', 'REFUND', 'EXPIRY', 'REMINDER', "
             "'INVITATION', 'PASSWORD_RESET')")
KINDS = OLD_KINDS[:-1] + ", 'SERIES_SKIPPED')"


def _outbox_kinds(kinds: str) -> None:
    op.execute("ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_kind_check")
    op.execute("ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_kind_check "
               f"CHECK (kind IN {kinds})")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE appointment_series (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            client_id bigint NOT NULL,
            student_id bigint,
            professional_id bigint NOT NULL,
            interval_weeks integer NOT NULL CHECK (interval_weeks IN (1, 2)),
            start_time time NOT NULL,
            time_zone text NOT NULL,
            first_date date NOT NULL,
            until date CHECK (until >= first_date),
            count integer CHECK (count BETWEEN 1 AND 104),
            notes text,
            next_occurrence integer NOT NULL DEFAULT 0 CHECK (next_occurrence >= 0),
            active boolean NOT NULL DEFAULT true,
            created_by_id bigint NOT NULL,
            cancelled_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id),
            FOREIGN KEY (organization_id) REFERENCES organizations (id),
            FOREIGN KEY (organization_id, client_id) REFERENCES users (organization_id, id),
            FOREIGN KEY (organization_id, student_id, client_id)
                REFERENCES students (organization_id, id, guardian_id),
            FOREIGN KEY (organization_id, professional_id)
                REFERENCES professionals (organization_id, id),
            FOREIGN KEY (organization_id, created_by_id) REFERENCES users (organization_id, id),
            CHECK (until IS NULL OR count IS NULL),
            CHECK (count IS NULL OR next_occurrence <= count),
            CHECK (cancelled_at IS NULL OR NOT active)
        )
        """
    )
    op.execute("CREATE INDEX appointment_series_client_idx "
               "ON appointment_series (organization_id, client_id, id)")
    op.execute("CREATE INDEX appointment_series_professional_idx "
               "ON appointment_series (organization_id, professional_id, id)")
    # The extension job walks the active series of an organization.
    op.execute("CREATE INDEX appointment_series_active_idx "
               "ON appointment_series (organization_id, id) WHERE active")
    isolate_tenant_table("appointment_series", "SELECT, INSERT, UPDATE")

    op.execute(
        f"""
        CREATE TABLE appointment_series_skips (
            organization_id bigint NOT NULL,
            series_id bigint NOT NULL,
            occurrence integer NOT NULL CHECK (occurrence >= 0),
            starts_at timestamptz NOT NULL,
            code text NOT NULL CHECK (code IN {SKIP_CODES}),
            message text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, series_id, occurrence),
            FOREIGN KEY (organization_id, series_id)
                REFERENCES appointment_series (organization_id, id)
        )
        """
    )
    isolate_tenant_table("appointment_series_skips", "SELECT, INSERT")

    op.execute("ALTER TABLE appointments ADD COLUMN series_id bigint")
    op.execute(
        "ALTER TABLE appointments ADD CONSTRAINT appointments_series_fkey "
        "FOREIGN KEY (organization_id, series_id) REFERENCES appointment_series (organization_id, id)"
    )
    op.execute("CREATE INDEX appointments_series_idx ON appointments "
               "(organization_id, series_id, starts_at) WHERE series_id IS NOT NULL")
    _outbox_kinds(KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM notification_outbox WHERE kind = 'SERIES_SKIPPED'")
    _outbox_kinds(OLD_KINDS)
    op.execute("DROP INDEX appointments_series_idx")
    op.execute("ALTER TABLE appointments DROP CONSTRAINT appointments_series_fkey")
    op.execute("ALTER TABLE appointments DROP COLUMN series_id")
    op.execute("DROP TABLE appointment_series_skips")
    op.execute("DROP TABLE appointment_series")
