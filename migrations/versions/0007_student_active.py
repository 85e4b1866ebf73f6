"""Students can be deactivated: a deactivated student keeps their history but cannot be
booked for.

Revision ID: 0007_student_active
Revises: 0006_hardening
Create Date: 2026-12-06

A plain boolean with a default, so adding it rewrites nothing on PostgreSQL 11+ and
every existing student stays active.
"""

from alembic import op

revision = "0007_student_active"
down_revision = "0006_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE students ADD COLUMN active boolean NOT NULL DEFAULT true")


def downgrade() -> None:
    op.execute("ALTER TABLE students DROP COLUMN active")
