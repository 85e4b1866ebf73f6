"""Hardening: login throttling state, shared by every server replica.

Revision ID: 0006_hardening
Revises: 0005_jobs
Create Date: 2026-11-28

- `login_attempts`: one row per account that recently tried to log in, keyed
  by a SHA-256 of the organization slug and the lowercased email as typed. It
  is not a tenant table, on purpose: it is written before the tenant is
  known, and it must count attempts for organizations and emails that do not
  exist exactly like real ones, so that the throttle reveals nothing about
  which accounts exist. The key is a hash, so no email is stored for an
  account that does not exist.
- The application role gets no rights on the table at all. It counts and
  clears attempts only through two SECURITY DEFINER functions with a fixed
  search path. Row-level security is enabled with no policy, so even a grant
  made by mistake would show nothing to a role other than the owner.
- Counting is one atomic upsert, so concurrent attempts against one account
  cannot slip past the limit, and it works across replicas.
- Stale rows (their window over) are deleted now and then by the counting
  function itself, so random emails cannot grow the table without bound.
"""

from alembic import op
from tenant_tables import APP_ROLE

revision = "0006_hardening"
down_revision = "0005_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE login_attempts (
            account_key bytea PRIMARY KEY CHECK (length(account_key) = 32),
            attempts integer NOT NULL CHECK (attempts > 0),
            window_started_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX login_attempts_window_idx ON login_attempts (window_started_at)")
    op.execute("ALTER TABLE login_attempts ENABLE ROW LEVEL SECURITY")
    op.execute("REVOKE ALL ON login_attempts FROM PUBLIC")

    # Counts one attempt of an account and returns the count within the current window
    # (a window starts with the first attempt after the last one ended) and the seconds
    # until that window ends.
    op.execute(
        """
        CREATE FUNCTION bookings_count_login_attempt(key_hash bytea, window_seconds integer)
        RETURNS TABLE (attempts integer, retry_after_seconds integer)
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
        AS $$
            DELETE FROM login_attempts
            WHERE window_started_at < now() - make_interval(secs => window_seconds)
              AND (SELECT random()) < 0.01;

            INSERT INTO login_attempts AS seen (account_key, attempts, window_started_at)
            VALUES (key_hash, 1, now())
            ON CONFLICT (account_key) DO UPDATE SET
                attempts = CASE
                    WHEN seen.window_started_at <= now() - make_interval(secs => window_seconds)
                    THEN 1 ELSE seen.attempts + 1 END,
                window_started_at = CASE
                    WHEN seen.window_started_at <= now() - make_interval(secs => window_seconds)
                    THEN now() ELSE seen.window_started_at END
            RETURNING seen.attempts,
                      greatest(1, ceil(extract(epoch FROM seen.window_started_at
                          + make_interval(secs => window_seconds) - now())))::integer;
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION bookings_clear_login_attempts(key_hash bytea) RETURNS void
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
        AS $$
            DELETE FROM login_attempts WHERE account_key = key_hash;
        $$
        """
    )
    for signature in ("bookings_count_login_attempt(bytea, integer)",
                      "bookings_clear_login_attempts(bytea)"):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION bookings_clear_login_attempts(bytea)")
    op.execute("DROP FUNCTION bookings_count_login_attempt(bytea, integer)")
    op.execute("DROP TABLE login_attempts")
