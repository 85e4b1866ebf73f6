"""Languages: the organization's, a user's own, and the one each outbox message was written in.

Revision ID: 0014_languages
Revises: 0013_report_indexes
Create Date: 2026-12-07

- `organizations.locale`: the BCP 47 tag of its people's messages, "en" unless changed.
- `users.locale`: a person's own tag; null means the organization's.
- `notification_outbox.locale`: the tag a message was written in, kept with it (rows written
  before this migration have none).
The server checks tags against Babel and the shipped catalogues (app/i18n/languages.py);
the CHECKs only keep out what no tag looks like, so a raw SQL fix cannot store a blank.
"""

from alembic import op

revision = "0014_languages"
down_revision = "0013_report_indexes"
branch_labels = None
depends_on = None

_TAG_SHAPE = "locale ~ '^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$'"


def upgrade() -> None:
    op.execute("ALTER TABLE organizations ADD COLUMN locale text NOT NULL DEFAULT 'en' "
               f"CONSTRAINT organizations_locale_check CHECK ({_TAG_SHAPE})")
    op.execute("ALTER TABLE users ADD COLUMN locale text "
               f"CONSTRAINT users_locale_check CHECK ({_TAG_SHAPE})")
    op.execute("ALTER TABLE notification_outbox ADD COLUMN locale text")


def downgrade() -> None:
    op.execute("ALTER TABLE notification_outbox DROP COLUMN locale")
    op.execute("ALTER TABLE users DROP COLUMN locale")
    op.execute("ALTER TABLE organizations DROP COLUMN locale")
