"""Background work: procrastinate's job queue, and the notifications outbox.

Revision ID: 0005_jobs
Revises: 0004_appointments
Create Date: 2026-11-27

- procrastinate's schema (its tables, types, functions and triggers), read
  from the installed package. Its tables are infrastructure, not tenant data:
  a job names its organization in its arguments, and the job runs under that
  organization's tenant context. A later procrastinate release that changes
  its schema ships migration scripts; apply them with a new revision.
- `bookings_defer_slot_refresh(professional_id)`: lets a tenant transaction
  (role bookings_app, which has no rights on the queue) enqueue a slot
  refresh of its own organization in the same transaction as the rule change.
  SECURITY DEFINER with a fixed search path; the organization comes from the
  transaction's tenant setting, so a tenant cannot queue work for another.
  Identical pending refreshes collapse into one (procrastinate's queueing lock).
- `notification_outbox`: messages to send, written in the transaction that
  causes them. At most one reminder per appointment and lead time (a unique
  key), and a `dedupe_key` unique per organization for any other message.
"""

from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.util.concurrency import await_
from tenant_tables import APP_ROLE, isolate_tenant_table

revision = "0005_jobs"
down_revision = "0004_appointments"
branch_labels = None
depends_on = None

KINDS = "('BOOKING', 'CONFIRMATION', 'CANCELLATION', 'REFUND', 'EXPIRY', 'REMINDER')"
STATUSES = "('PENDING', 'SENT', 'FAILED')"
# Must match the task's name in app/jobs/tasks.py.
SLOT_REFRESH_TASK = "refresh_professional_slots"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE notification_outbox (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            kind text NOT NULL CHECK (kind IN {KINDS}),
            recipient_user_id bigint NOT NULL,
            appointment_id bigint,
            lead_hours integer CHECK (lead_hours > 0),
            dedupe_key text,
            subject text NOT NULL,
            body text NOT NULL,
            status text NOT NULL DEFAULT 'PENDING' CHECK (status IN {STATUSES}),
            attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_error text,
            sent_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id),
            FOREIGN KEY (organization_id, recipient_user_id) REFERENCES users (organization_id, id),
            FOREIGN KEY (organization_id, appointment_id)
                REFERENCES appointments (organization_id, id),
            -- NULLs are distinct: only reminders (which have every column) are constrained.
            CONSTRAINT notification_outbox_reminder_key
                UNIQUE (organization_id, appointment_id, kind, lead_hours),
            CONSTRAINT notification_outbox_dedupe_key UNIQUE (organization_id, dedupe_key),
            CHECK ((kind = 'REMINDER') = (lead_hours IS NOT NULL)),
            CHECK (kind <> 'REMINDER' OR appointment_id IS NOT NULL),
            CHECK ((status = 'SENT') = (sent_at IS NOT NULL))
        )
        """
    )
    # Delivery claims the due PENDING messages of one organization, oldest due first.
    op.execute(
        "CREATE INDEX notification_outbox_due_idx "
        "ON notification_outbox (organization_id, next_attempt_at) WHERE status = 'PENDING'"
    )
    isolate_tenant_table("notification_outbox", "SELECT, INSERT, UPDATE")

    _apply_procrastinate_schema()

    op.execute(
        f"""
        CREATE FUNCTION bookings_defer_slot_refresh(professional_id bigint) RETURNS void
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
        AS $$
            INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args)
            SELECT 'default', '{SLOT_REFRESH_TASK}', refresh.key, refresh.key,
                   jsonb_build_object('organization_id', tenant.id,
                                      'professional_id', professional_id)
            FROM (SELECT NULLIF(current_setting('app.organization_id', true), '')::bigint) AS
                 tenant (id),
                 LATERAL (SELECT 'slots:' || tenant.id || ':' || professional_id) AS refresh (key)
            WHERE tenant.id IS NOT NULL
            ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION bookings_defer_slot_refresh(bigint) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION bookings_defer_slot_refresh(bigint) TO {APP_ROLE}")


def _apply_procrastinate_schema() -> None:
    # The schema is many statements with PL/pgSQL bodies: run it as one simple
    # query on the driver connection (a prepared statement holds only one).
    # It must join the revision's transaction, which the statements above began.
    driver = op.get_bind().connection.driver_connection
    assert driver.is_in_transaction(), "the procrastinate schema must run in the revision's transaction"
    await_(driver.execute(SchemaManager.get_schema()))


def downgrade() -> None:
    op.execute("DROP FUNCTION bookings_defer_slot_refresh(bigint)")
    # Every function of procrastinate's schema, whatever the installed version defines;
    # CASCADE takes the triggers on its tables with them.
    op.execute(
        """
        DO $$
        DECLARE function regprocedure;
        BEGIN
            FOR function IN
                SELECT oid::regprocedure FROM pg_proc
                WHERE proname LIKE 'procrastinate\\_%' AND pronamespace = current_schema()::regnamespace
            LOOP
                EXECUTE 'DROP FUNCTION ' || function || ' CASCADE';
            END LOOP;
        END
        $$
        """
    )
    op.execute(
        "DROP TABLE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, "
        "procrastinate_workers"
    )
    op.execute(
        "DROP TYPE procrastinate_job_to_defer_v1, procrastinate_job_event_type, "
        "procrastinate_job_status"
    )
    op.execute("DROP TABLE notification_outbox")
