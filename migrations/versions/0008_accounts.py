"""Accounts: invitations, password resets, sign-up and revocable sessions.

Revision ID: 0008_accounts
Revises: 0007_student_active
Create Date: 2026-12-06

- `users.session_version`: every token carries the version it was issued under, and the
  request's user row (read anyway) must still hold it. Revoking sessions adds one.
- `organizations.allow_client_signup`: off by default.
- `account_tokens`: the newest invitation or password-reset token of a user, stored only as
  its SHA-256. A person who follows an emailed link brings only the token, not their
  organization, so the token is looked up before any tenant is known. Like
  `login_attempts`, the table is therefore not a tenant table: row-level security is on with
  no policy and the application role has no rights on it. It reaches the rows only through
  three SECURITY DEFINER functions with a fixed search path:
  - `bookings_mint_account_token` writes a token for a user of the transaction's own
    organization (the tenant setting, never an argument), replacing the earlier one;
  - `bookings_forget_account_token` drops one, in the transaction's own organization;
  - `bookings_redeem_account_token` deletes a live token by its hash and says whose it
    was, so two requests cannot both use it; a rolled back transaction restores it.
- `notification_outbox`: two new kinds (INVITATION, PASSWORD_RESET) and an HTML body.
  A message whose body needs a token holds a placeholder; the token is minted when the
  message is sent, so the database never holds a usable link.
- `bookings_defer_notification(message_id)`: queues the delivery of one message in the
  caller's transaction (as `bookings_defer_slot_refresh` does for slots), so a message
  someone waits for leaves within seconds of the commit rather than at the next sweep.
- `bookings_count_login_attempt` now keeps a row for a day, not one window: sign-up and
  password-reset throttles count in the same table with longer windows than logins.
"""

from alembic import op
from tenant_tables import APP_ROLE

revision = "0008_accounts"
down_revision = "0007_student_active"
branch_labels = None
depends_on = None

OLD_KINDS = "('BOOKING', 'CONFIRMATION', 'CANCELLATION', 'REFUND', 'EXPIRY', 'REMINDER')"
KINDS = OLD_KINDS[:-1] + ", 'INVITATION', 'PASSWORD_RESET')"
PURPOSES = "('INVITATION', 'PASSWORD_RESET')"
# Must match the task's name in app/jobs/tasks.py.
DELIVER_TASK = "deliver_notification"

_COUNT_ATTEMPT = """
    CREATE OR REPLACE FUNCTION bookings_count_login_attempt(key_hash bytea, window_seconds integer)
    RETURNS TABLE (attempts integer, retry_after_seconds integer)
    LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
    AS $$
        DELETE FROM login_attempts
        WHERE window_started_at < now() - make_interval(secs => {stale_after})
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


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN session_version integer NOT NULL DEFAULT 0")
    op.execute(
        "ALTER TABLE organizations ADD COLUMN allow_client_signup boolean NOT NULL DEFAULT false"
    )

    op.execute(
        f"""
        CREATE TABLE account_tokens (
            organization_id bigint NOT NULL,
            user_id bigint NOT NULL,
            purpose text NOT NULL CHECK (purpose IN {PURPOSES}),
            token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
            expires_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, user_id, purpose),
            FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id)
        )
        """
    )
    op.execute("ALTER TABLE account_tokens ENABLE ROW LEVEL SECURITY")
    op.execute("REVOKE ALL ON account_tokens FROM PUBLIC")
    _tenant = "NULLIF(current_setting('app.organization_id', true), '')::bigint"
    op.execute(
        f"""
        CREATE FUNCTION bookings_mint_account_token(
            user_id bigint, purpose text, token_hash bytea, lifetime_seconds integer
        ) RETURNS timestamptz
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
        AS $$
            INSERT INTO account_tokens AS token (organization_id, user_id, purpose, token_hash,
                                                 expires_at)
            SELECT tenant.id, user_id, purpose, token_hash,
                   now() + make_interval(secs => lifetime_seconds)
            FROM (SELECT {_tenant}) AS tenant (id)
            WHERE tenant.id IS NOT NULL
            ON CONFLICT (organization_id, user_id, purpose) DO UPDATE SET
                token_hash = excluded.token_hash, expires_at = excluded.expires_at,
                created_at = now()
            RETURNING token.expires_at
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION bookings_forget_account_token(user_id bigint, purpose text)
        RETURNS void
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
        AS $$
            DELETE FROM account_tokens AS token
            WHERE token.organization_id = {_tenant}
              AND token.user_id = bookings_forget_account_token.user_id
              AND token.purpose = bookings_forget_account_token.purpose
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION bookings_redeem_account_token(purpose text, token_hash bytea)
        RETURNS TABLE (organization_id bigint, user_id bigint, token_hash bytea)
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
        AS $$
            DELETE FROM account_tokens AS token
            WHERE token.token_hash = bookings_redeem_account_token.token_hash
              AND token.purpose = bookings_redeem_account_token.purpose
              AND token.expires_at > now()
            RETURNING token.organization_id, token.user_id, token.token_hash
        $$
        """
    )
    for signature in ("bookings_mint_account_token(bigint, text, bytea, integer)",
                      "bookings_forget_account_token(bigint, text)",
                      "bookings_redeem_account_token(text, bytea)"):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}")

    op.execute("ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_kind_check")
    op.execute(
        f"ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_kind_check "
        f"CHECK (kind IN {KINDS})"
    )
    op.execute("ALTER TABLE notification_outbox ADD COLUMN html_body text")

    op.execute(
        f"""
        CREATE FUNCTION bookings_defer_notification(message_id bigint) RETURNS void
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
        AS $$
            INSERT INTO procrastinate_jobs (queue_name, task_name, args)
            SELECT 'default', '{DELIVER_TASK}',
                   jsonb_build_object('organization_id', tenant.id, 'message_id', message_id)
            FROM (SELECT {_tenant}) AS tenant (id)
            WHERE tenant.id IS NOT NULL
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION bookings_defer_notification(bigint) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION bookings_defer_notification(bigint) TO {APP_ROLE}")

    op.execute(_COUNT_ATTEMPT.format(stale_after="greatest(window_seconds, 86400)"))


def downgrade() -> None:
    op.execute(_COUNT_ATTEMPT.format(stale_after="window_seconds"))
    op.execute("DROP FUNCTION bookings_defer_notification(bigint)")
    op.execute(
        "DELETE FROM notification_outbox WHERE kind IN ('INVITATION', 'PASSWORD_RESET')"
    )
    op.execute("ALTER TABLE notification_outbox DROP COLUMN html_body")
    op.execute("ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_kind_check")
    op.execute(
        f"ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_kind_check "
        f"CHECK (kind IN {OLD_KINDS})"
    )
    op.execute("DROP FUNCTION bookings_redeem_account_token(text, bytea)")
    op.execute("DROP FUNCTION bookings_forget_account_token(bigint, text)")
    op.execute("DROP FUNCTION bookings_mint_account_token(bigint, text, bytea, integer)")
    op.execute("DROP TABLE account_tokens")
    op.execute("ALTER TABLE organizations DROP COLUMN allow_client_signup")
    op.execute("ALTER TABLE users DROP COLUMN session_version")
