"""Outgoing webhooks: the endpoints, one delivery per event and endpoint, and every attempt.

Revision ID: 0012_webhooks
Revises: 0011_calendar_feeds
Create Date: 2026-12-06

- `webhook_endpoints`: where an organization's events go, which event types (or "*"), and
  the endpoint's Standard Webhooks secret (`whsec_...`). The secret signs with HMAC, so it
  must be kept as it is; the API shows it once, when made or rotated.
- `webhook_deliveries`: one row per event and subscribed endpoint, written in the same
  transaction as the change the event tells of. The payload is kept as the exact text
  that is signed and sent. `event_id` is the webhook-id header: the same on every attempt
  and on a redelivery (which adds a row with the same event id).
- `webhook_attempts`: every attempt of a delivery: when, the status code, a short error.
- `bookings_defer_webhook_event(event_id)`: queues the job that sends an event's
  deliveries, in the caller's transaction (as `bookings_defer_notification` does), so a
  delivery starts within seconds of the commit. Retries are the periodic sweep's.
Every key holds organization_id, every foreign key is composite, and row-level security is
forced, as for every tenant table. Deleting an endpoint deletes its deliveries.
"""

from alembic import op
from tenant_tables import APP_ROLE, isolate_tenant_table

revision = "0012_webhooks"
down_revision = "0011_calendar_feeds"
branch_labels = None
depends_on = None

# Must match the task's name in app/jobs/tasks.py.
DELIVER_TASK = "deliver_webhook_event"
_TENANT = "NULLIF(current_setting('app.organization_id', true), '')::bigint"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE webhook_endpoints (
            organization_id bigint NOT NULL REFERENCES organizations (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
            events text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 50),
            active boolean NOT NULL DEFAULT true,
            secret text NOT NULL CHECK (secret LIKE 'whsec\\_%'),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id)
        )
        """
    )
    isolate_tenant_table("webhook_endpoints")
    op.execute(
        """
        CREATE TABLE webhook_deliveries (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            endpoint_id bigint NOT NULL,
            event_id text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 100),
            event_type text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 100),
            payload text NOT NULL,
            status text NOT NULL DEFAULT 'PENDING'
                CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
            attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            last_status_code integer,
            last_error text,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            delivered_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id),
            FOREIGN KEY (organization_id, endpoint_id)
                REFERENCES webhook_endpoints (organization_id, id) ON DELETE CASCADE
        )
        """
    )
    # An endpoint's deliveries, newest first (the API's list); an event's (its job).
    op.execute("CREATE INDEX webhook_deliveries_endpoint_idx "
               "ON webhook_deliveries (organization_id, endpoint_id, id DESC)")
    op.execute("CREATE INDEX webhook_deliveries_event_idx "
               "ON webhook_deliveries (organization_id, event_id)")
    # The sweep's due deliveries; finished ones drop out of the index.
    op.execute("CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries "
               "(organization_id, next_attempt_at) WHERE status = 'PENDING'")
    # Endpoints that are failing: a delivery still waiting after an attempt.
    op.execute("CREATE INDEX webhook_deliveries_failing_idx ON webhook_deliveries "
               "(organization_id, endpoint_id) WHERE status = 'PENDING' AND attempts > 0")
    isolate_tenant_table("webhook_deliveries", privileges="SELECT, INSERT, UPDATE")
    op.execute(
        """
        CREATE TABLE webhook_attempts (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            delivery_id bigint NOT NULL,
            attempted_at timestamptz NOT NULL,
            status_code integer,
            error text CHECK (length(error) <= 500),
            duration_ms integer NOT NULL CHECK (duration_ms >= 0),
            PRIMARY KEY (organization_id, id),
            FOREIGN KEY (organization_id, delivery_id)
                REFERENCES webhook_deliveries (organization_id, id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX webhook_attempts_delivery_idx "
               "ON webhook_attempts (organization_id, delivery_id, id)")
    isolate_tenant_table("webhook_attempts", privileges="SELECT, INSERT")
    op.execute(
        f"""
        CREATE FUNCTION bookings_defer_webhook_event(event_id text) RETURNS void
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
        AS $$
            INSERT INTO procrastinate_jobs (queue_name, task_name, args)
            SELECT 'default', '{DELIVER_TASK}',
                   jsonb_build_object('organization_id', tenant.id, 'event_id', event_id)
            FROM (SELECT {_TENANT}) AS tenant (id)
            WHERE tenant.id IS NOT NULL
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION bookings_defer_webhook_event(text) "
               "FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION bookings_defer_webhook_event(text) "
               f"TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION bookings_defer_webhook_event(text)")
    op.execute(f"DELETE FROM procrastinate_jobs WHERE task_name = '{DELIVER_TASK}'")
    op.execute("DROP TABLE webhook_attempts")
    op.execute("DROP TABLE webhook_deliveries")
    op.execute("DROP TABLE webhook_endpoints")
