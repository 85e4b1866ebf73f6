"""The tenant setup reads the request's user in the same statement (one round trip fewer per
request), and that never weakens row-level security."""

from sqlalchemy import event, text

from app.appointments.booking_statement import parties_prefetch
from app.auth import TokenClaims
from app.db import APP_ROLE, Database, tenant_setup_as_actor
from app.people.authentication import resolve_principal
from tests.appointments.support import add_slot, in_days


async def test_the_setup_finds_the_user_where_row_level_security_applies(database_url, org,
                                                                         other_org):
    # Given a connection that is the application role from the start, so row-level security
    # filters every scan of the statement (a superuser's would bypass it and prove nothing)
    db = Database(database_url, pool_size=1)
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text(f"SET ROLE {APP_ROLE}"))
            await connection.commit()

            # when the setup enters the organization and looks its client up in one statement
            own = (await connection.execute(tenant_setup_as_actor(True, None), {
                "role": APP_ROLE, "tenant": str(org.id), "actor": org.client.user.id})).one()
            tenant = await connection.scalar(
                text("SELECT current_setting('app.organization_id', true)"))
            read_only = await connection.scalar(text("SHOW transaction_read_only"))
            await connection.rollback()
            # and another organization's user the same way
            foreign = (await connection.execute(tenant_setup_as_actor(False, None), {
                "role": APP_ROLE, "tenant": str(org.id), "actor": other_org.client.user.id})).one()
            await connection.rollback()
            await connection.invalidate()  # never reuse a connection left with SET ROLE
    finally:
        await db.dispose()

    # then the lookup ran after the settings took effect: it found the client
    assert (own.id, own.role, own.active, own.slug) == (org.client.user.id, "CLIENT", True,
                                                       org.slug)
    assert (tenant, read_only) == (str(org.id), "on")
    # and a user of another organization is not found
    assert foreign.id is None


async def test_a_prefetch_reads_after_the_setup_where_row_level_security_applies(
        database_url, db, org, other_org):
    # Given a slot in each organization, and a connection that is the application role
    own_slot = await add_slot(db, org, in_days(2))
    foreign_slot = await add_slot(db, other_org, in_days(2))
    app_role = Database(database_url, pool_size=1)
    found = {}
    try:
        async with app_role.engine.connect() as connection:
            await connection.execute(text(f"SET ROLE {APP_ROLE}"))
            await connection.commit()
            # when the setup enters the organization and reads a booking's parties with it
            for name, slot in (("own", own_slot), ("foreign", foreign_slot)):
                prefetch = parties_prefetch(slot.id, org.client.user.id, None)
                found[name] = (await connection.execute(
                    tenant_setup_as_actor(False, prefetch.sql),
                    {"role": APP_ROLE, "tenant": str(org.id), "actor": org.client.user.id,
                     **dict(prefetch.parameters)})).one()
                await connection.rollback()
            await connection.invalidate()  # never reuse a connection left with SET ROLE
    finally:
        await app_role.dispose()

    # then its own slot is found with the actor, and the other organization's is not
    assert (found["own"].id, found["own"].slot_id, found["own"].client_role) == (
        org.client.user.id, own_slot.id, "CLIENT")
    assert found["foreign"].id == org.client.user.id
    assert found["foreign"].slot_id is None


async def test_a_request_session_resolves_its_principal_without_a_second_statement(db, org):
    statements: list[str] = []
    claims = TokenClaims(user_id=org.staff.user.id, organization_id=org.id, session_version=0)

    def record(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement)

    async with db.transaction(org.id, read_only=True, actor_id=claims.user_id) as session:
        connection = (await session.connection()).sync_connection
        event.listen(connection, "before_cursor_execute", record)
        principal = await resolve_principal(session, claims, organization_header=org.slug)
        event.remove(connection, "before_cursor_execute", record)

    assert (principal.user_id, principal.role.value) == (org.staff.user.id, "STAFF")
    assert statements == []  # the tenant setup found the user when the transaction began
