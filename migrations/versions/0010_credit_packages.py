"""Credit packages, sold online: the packages, their checkouts, and the provider's events.

Revision ID: 0010_credit_packages
Revises: 0009_series
Create Date: 2026-12-06

- `credit_packages`: credits (> 0), a price in minor units (>= 0) in the organization's
  currency at the package's creation, and how many days the credits stay valid (> 0, or null
  for the organization's `credit_expiry_days`). A package is retired (`active` false), never
  deleted, so the purchases made of it keep their meaning: the application role has no
  DELETE on it.
- `payment_checkouts`: the provider's checkout (a Stripe Checkout Session) of a PENDING
  purchase, one per purchase, with the package it sells and when it expires. The ledger
  entry itself stays as written (credit_transactions is append-only).
- `payment_events`: every provider event acted on, once: a second delivery of the same
  event id, even at the same moment to another server, finds it here and changes nothing.
- `notification_outbox`: RECEIPT (credits bought online have arrived) and PAYMENT_FAILED.
Every key holds organization_id, every foreign key is composite, and row-level security is
forced, as for every tenant table. Checkouts and events are only ever added.
"""

from alembic import op
from tenant_tables import isolate_tenant_table

revision = "0010_credit_packages"
down_revision = "0009_series"
branch_labels = None
depends_on = None

OLD_KINDS = ("('BOOKING', 'CONFIRMATION', 'CANCELLATION', 'REFUND', 'EXPIRY', 'REMINDER', "
             "'INVITATION', 'PASSWORD_RESET', 'SERIES_SKIPPED')")
KINDS = OLD_KINDS[:-1] + ", 'RECEIPT', 'PAYMENT_FAILED')"


def _outbox_kinds(kinds: str) -> None:
    op.execute("ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_kind_check")
    op.execute("ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_kind_check "
               f"CHECK (kind IN {kinds})")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE credit_packages (
            organization_id bigint NOT NULL REFERENCES organizations (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
            credits integer NOT NULL CHECK (credits > 0),
            price_cents bigint NOT NULL CHECK (price_cents >= 0),
            currency varchar(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
            validity_days integer CHECK (validity_days > 0),
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id)
        )
        """
    )
    op.execute("CREATE INDEX credit_packages_listing_idx "
               "ON credit_packages (organization_id, active, price_cents, id)")
    isolate_tenant_table("credit_packages", privileges="SELECT, INSERT, UPDATE")
    op.execute(
        """
        CREATE TABLE payment_checkouts (
            organization_id bigint NOT NULL,
            transaction_id bigint NOT NULL,
            provider text NOT NULL CHECK (provider IN ('stripe')),
            session_id text NOT NULL CHECK (length(session_id) BETWEEN 1 AND 255),
            credit_package_id bigint NOT NULL,
            expires_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, transaction_id),
            UNIQUE (organization_id, provider, session_id),
            FOREIGN KEY (organization_id, transaction_id)
                REFERENCES credit_transactions (organization_id, id),
            FOREIGN KEY (organization_id, credit_package_id)
                REFERENCES credit_packages (organization_id, id)
        )
        """
    )
    isolate_tenant_table("payment_checkouts", privileges="SELECT, INSERT")
    op.execute(
        """
        CREATE TABLE payment_events (
            organization_id bigint NOT NULL REFERENCES organizations (id),
            provider text NOT NULL CHECK (provider IN ('stripe')),
            event_id text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
            type text NOT NULL,
            transaction_id bigint,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, provider, event_id),
            FOREIGN KEY (organization_id, transaction_id)
                REFERENCES credit_transactions (organization_id, id)
        )
        """
    )
    isolate_tenant_table("payment_events", privileges="SELECT, INSERT")
    _outbox_kinds(KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM notification_outbox WHERE kind IN ('RECEIPT', 'PAYMENT_FAILED')")
    _outbox_kinds(OLD_KINDS)
    op.execute("DROP TABLE payment_events")
    op.execute("DROP TABLE payment_checkouts")
    op.execute("DROP TABLE credit_packages")
