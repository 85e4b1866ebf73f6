"""Helpers the revisions share to make a table a tenant table.

A tenant table has row-level security enabled and forced (so even the table
owner is filtered) with one policy: rows of the transaction's tenant only.
`NULLIF(..., '')` makes the policy fail closed on a reused connection, where an
unset setting reads as '' rather than NULL.
"""

from alembic import op

APP_ROLE = "bookings_app"
TENANT_PREDICATE = "organization_id = NULLIF(current_setting('app.organization_id', true), '')::bigint"


def isolate_tenant_table(table: str, privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})"
    )
    op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
