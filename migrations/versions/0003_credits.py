"""Credits: balances, the append-only ledger, lots and their draws, idempotency keys.

Revision ID: 0003_credits
Revises: 0002_scheduling
Create Date: 2026-11-26

The database keeps the ledger's promises (docs/rules.md: credits), not only the code:
- `credit_balances.balance` can never go below zero (CHECK), so no race can
  overdraw an account;
- `credit_transactions` is append-only: a trigger refuses DELETE and TRUNCATE,
  and refuses every UPDATE except the one settlement of a PENDING purchase.
  Triggers fire for superusers and table owners too;
- a debit is reversed at most once (a partial unique index on `reverses_id`);
- a lot's remainder stays between zero and its original amount (CHECK).
"""

from alembic import op
from tenant_tables import APP_ROLE, isolate_tenant_table

revision = "0003_credits"
down_revision = "0002_scheduling"
branch_labels = None
depends_on = None

TYPES = "('PURCHASE', 'APPOINTMENT_DEBIT', 'CANCELLATION_REFUND', 'ADMIN_ADJUSTMENT', 'EXPIRATION')"
STATUSES = "('PENDING', 'COMPLETED', 'FAILED')"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE credit_balances (
            organization_id bigint NOT NULL,
            user_id bigint NOT NULL,
            balance integer NOT NULL DEFAULT 0 CHECK (balance >= 0),
            lifetime_purchased integer NOT NULL DEFAULT 0 CHECK (lifetime_purchased >= 0),
            lifetime_used integer NOT NULL DEFAULT 0 CHECK (lifetime_used >= 0),
            lifetime_refunded integer NOT NULL DEFAULT 0 CHECK (lifetime_refunded >= 0),
            lifetime_expired integer NOT NULL DEFAULT 0 CHECK (lifetime_expired >= 0),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, user_id),
            FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id)
        )
        """
    )
    isolate_tenant_table("credit_balances", "SELECT, INSERT, UPDATE")

    op.execute(
        f"""
        CREATE TABLE credit_transactions (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            user_id bigint NOT NULL,
            type text NOT NULL CHECK (type IN {TYPES}),
            status text NOT NULL CHECK (status IN {STATUSES}),
            amount integer NOT NULL,
            balance_after integer CHECK (balance_after >= 0),
            reverses_id bigint,
            -- The appointments table comes with the booking issue, which adds the FK.
            appointment_id bigint,
            amount_paid_cents bigint CHECK (amount_paid_cents >= 0),
            currency char(3) CHECK (currency ~ '^[A-Z]{{3}}$'),
            payment_reference text,
            expires_at timestamptz,
            created_by_id bigint,
            description text,
            failure_reason text,
            metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            processed_at timestamptz,
            PRIMARY KEY (organization_id, id),
            FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id),
            FOREIGN KEY (organization_id, created_by_id) REFERENCES users (organization_id, id),
            FOREIGN KEY (organization_id, reverses_id)
                REFERENCES credit_transactions (organization_id, id),
            -- Each type moves credits one way; an adjustment either way, never by zero.
            CONSTRAINT credit_transactions_amount_sign CHECK (
                CASE type
                    WHEN 'PURCHASE' THEN amount > 0
                    WHEN 'CANCELLATION_REFUND' THEN amount > 0
                    WHEN 'APPOINTMENT_DEBIT' THEN amount < 0
                    WHEN 'EXPIRATION' THEN amount < 0
                    ELSE amount <> 0
                END
            ),
            -- Only purchases wait for a payment; only refunds reverse something.
            CONSTRAINT credit_transactions_pending_purchases CHECK (
                status = 'COMPLETED' OR type = 'PURCHASE'
            ),
            CONSTRAINT credit_transactions_refund_reverses CHECK (
                (type = 'CANCELLATION_REFUND') = (reverses_id IS NOT NULL)
            ),
            -- balanceAfter and processedAt exist exactly once the entry moved credits.
            CONSTRAINT credit_transactions_completed_balance CHECK (
                (status = 'COMPLETED') = (balance_after IS NOT NULL)
            ),
            CONSTRAINT credit_transactions_processed CHECK (
                (status = 'PENDING') = (processed_at IS NULL)
            ),
            CONSTRAINT credit_transactions_payment CHECK (
                (amount_paid_cents IS NULL) = (currency IS NULL)
                AND (type <> 'PURCHASE' OR amount_paid_cents IS NOT NULL)
            ),
            CONSTRAINT credit_transactions_failure CHECK (
                status = 'FAILED' OR failure_reason IS NULL
            )
        )
        """
    )
    # A debit is refunded at most once, whatever the code does.
    op.execute(
        "CREATE UNIQUE INDEX credit_transactions_reverses_key "
        "ON credit_transactions (organization_id, reverses_id) WHERE reverses_id IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX credit_transactions_user_idx "
        "ON credit_transactions (organization_id, user_id, created_at, id)"
    )
    op.execute(
        "CREATE INDEX credit_transactions_created_idx "
        "ON credit_transactions (organization_id, created_at, id)"
    )
    op.execute(
        "CREATE INDEX credit_transactions_appointment_idx "
        "ON credit_transactions (organization_id, appointment_id) WHERE appointment_id IS NOT NULL"
    )
    op.execute(
        """
        CREATE FUNCTION credit_transactions_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'UPDATE' THEN
                RAISE EXCEPTION 'credit_transactions is append-only: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            -- The one allowed change: settling a PENDING entry, once.
            IF OLD.status <> 'PENDING' OR NEW.status NOT IN ('COMPLETED', 'FAILED') THEN
                RAISE EXCEPTION 'credit transaction %: status % -> % refused',
                    OLD.id, OLD.status, NEW.status USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF (NEW.organization_id, NEW.id, NEW.user_id, NEW.type, NEW.amount, NEW.reverses_id,
                NEW.appointment_id, NEW.amount_paid_cents, NEW.currency, NEW.payment_reference,
                NEW.expires_at, NEW.created_by_id, NEW.description, NEW.metadata, NEW.created_at)
               IS DISTINCT FROM
               (OLD.organization_id, OLD.id, OLD.user_id, OLD.type, OLD.amount, OLD.reverses_id,
                OLD.appointment_id, OLD.amount_paid_cents, OLD.currency, OLD.payment_reference,
                OLD.expires_at, OLD.created_by_id, OLD.description, OLD.metadata, OLD.created_at)
            THEN
                RAISE EXCEPTION 'credit transaction %: only its settlement may change', OLD.id
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER credit_transactions_append_only BEFORE UPDATE OR DELETE "
        "ON credit_transactions FOR EACH ROW EXECUTE FUNCTION credit_transactions_append_only()"
    )
    op.execute(
        "CREATE TRIGGER credit_transactions_no_truncate BEFORE TRUNCATE "
        "ON credit_transactions FOR EACH STATEMENT "
        "EXECUTE FUNCTION credit_transactions_append_only()"
    )
    isolate_tenant_table("credit_transactions", "SELECT, INSERT")
    # Column privileges too: the application role can touch nothing else.
    op.execute(
        "GRANT UPDATE (status, processed_at, balance_after, failure_reason) "
        f"ON credit_transactions TO {APP_ROLE}"
    )

    op.execute(
        """
        CREATE TABLE credit_lots (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            user_id bigint NOT NULL,
            source_transaction_id bigint NOT NULL,
            original_amount integer NOT NULL CHECK (original_amount > 0),
            remaining integer NOT NULL,
            expires_at timestamptz,
            -- Set once an EXPIRATION entry removed the remainder.
            expired_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id),
            UNIQUE (organization_id, source_transaction_id),
            FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id),
            FOREIGN KEY (organization_id, source_transaction_id)
                REFERENCES credit_transactions (organization_id, id),
            CONSTRAINT credit_lots_remaining CHECK (remaining BETWEEN 0 AND original_amount),
            CONSTRAINT credit_lots_expired_empty CHECK (expired_at IS NULL OR remaining = 0)
        )
        """
    )
    # Debits draw the earliest-expiring lot first (NULL, never expiring, last).
    op.execute(
        "CREATE INDEX credit_lots_draw_order_idx ON credit_lots "
        "(organization_id, user_id, expires_at, id) WHERE remaining > 0"
    )
    op.execute(
        "CREATE INDEX credit_lots_expiry_idx ON credit_lots (organization_id, expires_at) "
        "WHERE remaining > 0 AND expires_at IS NOT NULL"
    )
    isolate_tenant_table("credit_lots", "SELECT, INSERT, UPDATE")

    op.execute(
        """
        CREATE TABLE credit_lot_draws (
            organization_id bigint NOT NULL,
            transaction_id bigint NOT NULL,
            lot_id bigint NOT NULL,
            amount integer NOT NULL CHECK (amount > 0),
            PRIMARY KEY (organization_id, transaction_id, lot_id),
            FOREIGN KEY (organization_id, transaction_id)
                REFERENCES credit_transactions (organization_id, id),
            FOREIGN KEY (organization_id, lot_id) REFERENCES credit_lots (organization_id, id)
        )
        """
    )
    op.execute(
        "CREATE INDEX credit_lot_draws_lot_idx ON credit_lot_draws (organization_id, lot_id)"
    )
    isolate_tenant_table("credit_lot_draws", "SELECT, INSERT")

    op.execute(
        """
        CREATE TABLE idempotency_keys (
            organization_id bigint NOT NULL,
            user_id bigint NOT NULL,
            key text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
            operation text NOT NULL,
            fingerprint text NOT NULL,
            -- Written in the transaction that inserted the key, so others never see it empty.
            result jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, user_id, key),
            FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id)
        )
        """
    )
    op.execute(
        "CREATE INDEX idempotency_keys_created_idx "
        "ON idempotency_keys (organization_id, created_at)"
    )
    isolate_tenant_table("idempotency_keys", "SELECT, INSERT, UPDATE, DELETE")


def downgrade() -> None:
    op.execute("DROP TABLE idempotency_keys")
    op.execute("DROP TABLE credit_lot_draws")
    op.execute("DROP TABLE credit_lots")
    op.execute("DROP TABLE credit_transactions")
    op.execute("DROP FUNCTION credit_transactions_append_only()")
    op.execute("DROP TABLE credit_balances")
