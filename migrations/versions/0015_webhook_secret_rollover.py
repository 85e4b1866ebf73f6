"""Webhook secret rotation with a rollover: the old secret signs alongside the new one for a
while, so a receiver can switch without refusing a delivery.

Revision ID: 0015_webhook_secret_rollover
Revises: 0014_languages
Create Date: 2026-12-07

- `webhook_endpoints.old_secret` and `old_secret_expires_at`: the secret a rotation
  replaced, and until when deliveries carry its signature too (Standard Webhooks allows
  several signatures in one header). Both are set or neither is.
"""

from alembic import op

revision = "0015_webhook_secret_rollover"
down_revision = "0014_languages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE webhook_endpoints ADD COLUMN old_secret text, "
               "ADD COLUMN old_secret_expires_at timestamptz, "
               "ADD CONSTRAINT webhook_endpoints_old_secret_check "
               "CHECK ((old_secret IS NULL) = (old_secret_expires_at IS NULL))")


def downgrade() -> None:
    op.execute("ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_old_secret_check, "
               "DROP COLUMN old_secret_expires_at, DROP COLUMN old_secret")
