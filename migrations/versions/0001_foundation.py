"""Foundation: application role, organizations, users, professionals, students.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-26
"""

from alembic import op
from tenant_tables import APP_ROLE, isolate_tenant_table

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

ROLES = "('ADMIN', 'STAFF', 'PROFESSIONAL', 'CLIENT')"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    # The unprivileged role every transaction drops to (app.db). Roles are
    # cluster-wide, so another database of the same cluster may have made it.
    op.execute(
        f"""
        DO $$ BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object THEN NULL;
        END $$
        """
    )
    # The connecting user must be a member to SET ROLE (a no-op for superusers).
    op.execute(
        f"""
        DO $$ BEGIN
            EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
        EXCEPTION WHEN OTHERS THEN NULL;
        END $$
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")

    op.execute(
        """
        CREATE TABLE organizations (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
            name text NOT NULL CHECK (btrim(name) <> ''),
            time_zone text NOT NULL,
            currency char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
            booking_window_days integer NOT NULL DEFAULT 30
                CHECK (booking_window_days BETWEEN 1 AND 365),
            minimum_notice_minutes integer NOT NULL DEFAULT 120
                CHECK (minimum_notice_minutes BETWEEN 0 AND 43200),
            cancellation_policy_hours integer NOT NULL DEFAULT 24
                CHECK (cancellation_policy_hours BETWEEN 0 AND 720),
            pre_confirmation_ttl_hours integer NOT NULL DEFAULT 24
                CHECK (pre_confirmation_ttl_hours BETWEEN 1 AND 720),
            default_session_minutes integer NOT NULL DEFAULT 60
                CHECK (default_session_minutes BETWEEN 5 AND 720),
            credit_expiry_days integer CHECK (credit_expiry_days BETWEEN 1 AND 3650),
            reminder_lead_hours integer[] NOT NULL DEFAULT '{24,2}'
                CHECK (0 < ALL (reminder_lead_hours) AND 721 > ALL (reminder_lead_hours)),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # Organizations are looked up by slug before a tenant is known (login), so
    # anyone may read them; only the organization itself may change its row.
    op.execute("ALTER TABLE organizations ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE organizations FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY organizations_readable ON organizations FOR SELECT USING (true)")
    op.execute("CREATE POLICY organizations_creatable ON organizations FOR INSERT WITH CHECK (true)")
    op.execute(
        "CREATE POLICY organizations_own_update ON organizations FOR UPDATE "
        "USING (id = NULLIF(current_setting('app.organization_id', true), '')::bigint)"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON organizations TO {APP_ROLE}")

    op.execute(
        f"""
        CREATE TABLE users (
            organization_id bigint NOT NULL REFERENCES organizations (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            email text NOT NULL CHECK (email ~ '^[^@\\s]+@[^@\\s]+$'),
            first_name text NOT NULL CHECK (btrim(first_name) <> ''),
            last_name text NOT NULL CHECK (btrim(last_name) <> ''),
            phone text NOT NULL CHECK (btrim(phone) <> ''),
            role text NOT NULL CHECK (role IN {ROLES}),
            password_hash text,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id)
        )
        """
    )
    # Unique per organization, case-insensitively; the same address may
    # belong to two users of two organizations.
    op.execute("CREATE UNIQUE INDEX users_email_key ON users (organization_id, lower(email))")
    op.execute("CREATE INDEX users_role_idx ON users (organization_id, role, id)")
    isolate_tenant_table("users", "SELECT, INSERT, UPDATE")

    op.execute(
        """
        CREATE TABLE professionals (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            user_id bigint NOT NULL,
            title text,
            specialization text,
            bio text,
            license_number text,
            time_zone text NOT NULL,
            session_minutes integer NOT NULL CHECK (session_minutes BETWEEN 5 AND 720),
            buffer_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 240),
            credit_cost integer NOT NULL DEFAULT 1 CHECK (credit_cost BETWEEN 1 AND 1000),
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id),
            UNIQUE (organization_id, user_id),
            FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id)
        )
        """
    )
    isolate_tenant_table("professionals", "SELECT, INSERT, UPDATE")

    op.execute(
        """
        CREATE TABLE students (
            organization_id bigint NOT NULL,
            id bigint GENERATED ALWAYS AS IDENTITY,
            guardian_id bigint NOT NULL,
            first_name text NOT NULL CHECK (btrim(first_name) <> ''),
            last_name text NOT NULL CHECK (btrim(last_name) <> ''),
            date_of_birth date,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, id),
            FOREIGN KEY (organization_id, guardian_id) REFERENCES users (organization_id, id)
        )
        """
    )
    op.execute("CREATE INDEX students_guardian_idx ON students (organization_id, guardian_id)")
    isolate_tenant_table("students", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    op.execute("DROP TABLE students")
    op.execute("DROP TABLE professionals")
    op.execute("DROP TABLE users")
    op.execute("DROP TABLE organizations")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    # The role may still hold privileges in another database of the cluster.
    op.execute(
        f"""
        DO $$ BEGIN
            DROP ROLE {APP_ROLE};
        EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege THEN NULL;
        END $$
        """
    )
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
