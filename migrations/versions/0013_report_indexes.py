"""Indexes for the organization's report (docs/rules.md: reports).

Revision ID: 0013_report_indexes
Revises: 0012_webhooks
Create Date: 2026-12-07

- `time_slots_report_idx`: a professional's slots by start, carrying their end and status,
  so the offered minutes of a period are read from the index alone. The exclusion
  constraint's GiST index found a professional's slots but not the period's: it read every
  slot of the year and filtered.
- `credit_transactions_completed_idx`: the COMPLETED entries by when they were processed,
  carrying type and amounts, so the report's one pass over the ledger (the period's
  movements, and everything before its end for `outstanding`) reads the index alone.
Both hold organization_id first, as every index of a tenant table does.
"""

from alembic import op

revision = "0013_report_indexes"
down_revision = "0012_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX time_slots_report_idx ON time_slots "
               "(organization_id, professional_id, starts_at) INCLUDE (ends_at, status)")
    op.execute("CREATE INDEX credit_transactions_completed_idx ON credit_transactions "
               "(organization_id, processed_at) INCLUDE (type, amount, amount_paid_cents) "
               "WHERE status = 'COMPLETED'")


def downgrade() -> None:
    op.execute("DROP INDEX credit_transactions_completed_idx")
    op.execute("DROP INDEX time_slots_report_idx")
