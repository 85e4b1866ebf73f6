"""Calendar feeds: each user's secret iCalendar URL, and a sequence number per appointment.

Revision ID: 0011_calendar_feeds
Revises: 0010_credit_packages
Create Date: 2026-12-06

- `calendar_feeds`: a user's feed, as the SHA-256 hash of its token and the version the
  token was made from (rotating the feed moves the version on, so the old URL ends). The
  token itself is never stored: the server derives it from its signing key.
  `bookings_find_calendar_feed(hash)` finds a feed's organization and user from a request
  that has no tenant yet; it answers nothing else.
- `appointments.sequence`: iCalendar's SEQUENCE, moved on by the database itself whenever
  an appointment's state, times, slot or notes change, so no writer can forget it.
Every key holds organization_id and row-level security is forced on the new table.
"""

from alembic import op
from tenant_tables import APP_ROLE, isolate_tenant_table

revision = "0011_calendar_feeds"
down_revision = "0010_credit_packages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE calendar_feeds (
            organization_id bigint NOT NULL,
            user_id bigint NOT NULL,
            version integer NOT NULL DEFAULT 0 CHECK (version >= 0),
            token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, user_id),
            -- Unique keys hold organization_id (distributable by it, docs/deploy.md); a
            -- 256-bit hash does not repeat across organizations either.
            UNIQUE (organization_id, token_hash),
            FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id)
        )
        """
    )
    # A request for a feed has no tenant yet: it finds the feed by its hash alone.
    op.execute("CREATE INDEX calendar_feeds_token_idx ON calendar_feeds (token_hash)")
    isolate_tenant_table("calendar_feeds", privileges="SELECT, INSERT, UPDATE")
    op.execute(
        """
        CREATE FUNCTION bookings_find_calendar_feed(token_hash bytea)
        RETURNS TABLE (organization_id bigint, user_id bigint)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
        AS $$
            SELECT feed.organization_id, feed.user_id FROM calendar_feeds AS feed
            WHERE feed.token_hash = bookings_find_calendar_feed.token_hash
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION bookings_find_calendar_feed(bytea) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION bookings_find_calendar_feed(bytea) TO {APP_ROLE}")

    op.execute("ALTER TABLE appointments ADD COLUMN sequence integer NOT NULL DEFAULT 0 "
               "CHECK (sequence >= 0)")
    op.execute(
        """
        CREATE FUNCTION appointments_next_sequence() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF (NEW.state, NEW.starts_at, NEW.ends_at, NEW.time_slot_id, NEW.notes)
               IS DISTINCT FROM (OLD.state, OLD.starts_at, OLD.ends_at, OLD.time_slot_id,
                                 OLD.notes) THEN
                NEW.sequence := OLD.sequence + 1;
            ELSE
                NEW.sequence := OLD.sequence;
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute("CREATE TRIGGER appointments_sequence BEFORE UPDATE ON appointments "
               "FOR EACH ROW EXECUTE FUNCTION appointments_next_sequence()")


def downgrade() -> None:
    op.execute("DROP TRIGGER appointments_sequence ON appointments")
    op.execute("DROP FUNCTION appointments_next_sequence()")
    op.execute("ALTER TABLE appointments DROP COLUMN sequence")
    op.execute("DROP FUNCTION bookings_find_calendar_feed(bytea)")
    op.execute("DROP TABLE calendar_feeds")
