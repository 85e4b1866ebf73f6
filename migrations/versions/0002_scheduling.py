"""Scheduling: weekly availability rules, time off, and concrete time slots.

Revision ID: 0002_scheduling
Revises: 0001_foundation
Create Date: 2026-11-26

The database, not only the code, keeps the two scheduling invariants:
- two active rules of one professional never overlap on the same weekday,
  date range and time of day (`availability_rules_no_overlap`);
- two slots of one professional never overlap in time (`time_slots_no_overlap`),
  so a double booking cannot exist whatever the code does.
Both are exclusion constraints over GiST (scalar columns need btree_gist,
which 0001 installed).
"""

from alembic import op
from tenant_tables import isolate_tenant_table

revision = "0002_scheduling"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

WEEKDAYS = "('MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY')"
SLOT_STATUSES = "('AVAILABLE', 'BOOKED', 'BLOCKED')"
BLOCK_REASONS = "('MANUAL', 'TIME_OFF')"


def upgrade() -> None:
    # PostgreSQL has no range of `time`; rules compare wall-clock hours with it.
    op.execute("CREATE TYPE timerange AS RANGE (subtype = time)")

    op.execute(
        f"""
        CREATE TABLE availability_rules (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            professional_id bigint NOT NULL,
            weekday text NOT NULL CHECK (weekday IN {WEEKDAYS}),
            start_time time NOT NULL,
            end_time time NOT NULL,
            effective_from date,
            effective_until date,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id),
            FOREIGN KEY (organization_id, professional_id)
                REFERENCES professionals (organization_id, id),
            CONSTRAINT availability_rules_end_after_start CHECK (end_time > start_time),
            CONSTRAINT availability_rules_effective_order
                CHECK (effective_until IS NULL OR effective_from IS NULL
                       OR effective_until >= effective_from),
            -- Null effective dates are open ends; '[]' makes both dates inclusive.
            -- '[)' on the hours: a rule ending at 12:00 may touch one starting at 12:00.
            CONSTRAINT availability_rules_no_overlap EXCLUDE USING gist (
                organization_id WITH =,
                professional_id WITH =,
                weekday WITH =,
                daterange(effective_from, effective_until, '[]') WITH &&,
                timerange(start_time, end_time, '[)') WITH &&
            ) WHERE (active)
        )
        """
    )
    isolate_tenant_table("availability_rules", "SELECT, INSERT, UPDATE, DELETE")

    op.execute(
        """
        CREATE TABLE time_off (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            professional_id bigint NOT NULL,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL,
            period tstzrange GENERATED ALWAYS AS (tstzrange(starts_at, ends_at, '[)')) STORED,
            reason text,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id),
            FOREIGN KEY (organization_id, professional_id)
                REFERENCES professionals (organization_id, id),
            CONSTRAINT time_off_end_after_start CHECK (ends_at > starts_at)
        )
        """
    )
    op.execute(
        "CREATE INDEX time_off_period_idx ON time_off "
        "USING gist (organization_id, professional_id, period)"
    )
    isolate_tenant_table("time_off", "SELECT, INSERT, UPDATE, DELETE")

    op.execute(
        f"""
        CREATE TABLE time_slots (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            professional_id bigint NOT NULL,
            rule_id bigint,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL,
            period tstzrange GENERATED ALWAYS AS (tstzrange(starts_at, ends_at, '[)')) STORED,
            status text NOT NULL DEFAULT 'AVAILABLE' CHECK (status IN {SLOT_STATUSES}),
            -- Why a slot is BLOCKED: removing a time off unblocks only its own blocks.
            block_reason text CHECK (block_reason IN {BLOCK_REASONS}),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id),
            FOREIGN KEY (organization_id, professional_id)
                REFERENCES professionals (organization_id, id),
            -- A deleted rule leaves its booked and past slots behind, unattributed.
            FOREIGN KEY (organization_id, rule_id)
                REFERENCES availability_rules (organization_id, id) ON DELETE SET NULL (rule_id),
            CONSTRAINT time_slots_end_after_start CHECK (ends_at > starts_at),
            CONSTRAINT time_slots_block_reason
                CHECK ((status = 'BLOCKED') = (block_reason IS NOT NULL)),
            CONSTRAINT time_slots_no_overlap EXCLUDE USING gist (
                organization_id WITH =,
                professional_id WITH =,
                period WITH &&
            )
        )
        """
    )
    # "Available slots of these professionals in this range" (the availability query).
    op.execute(
        "CREATE INDEX time_slots_available_idx ON time_slots "
        "(organization_id, professional_id, starts_at) WHERE status = 'AVAILABLE'"
    )
    # A rule's slots, when the rule changes or is deleted (and for ON DELETE SET NULL).
    op.execute(
        "CREATE INDEX time_slots_rule_idx ON time_slots (organization_id, rule_id, starts_at) "
        "WHERE rule_id IS NOT NULL"
    )
    isolate_tenant_table("time_slots", "SELECT, INSERT, UPDATE, DELETE")


def downgrade() -> None:
    op.execute("DROP TABLE time_slots")
    op.execute("DROP TABLE time_off")
    op.execute("DROP TABLE availability_rules")
    op.execute("DROP TYPE timerange")
