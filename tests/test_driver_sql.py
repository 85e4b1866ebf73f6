"""Core statements run on the driver (app/driver_sql.py): the same answers as through
SQLAlchemy, in the session's transaction and tenant, counted for BOOKINGS_COUNT_SQL."""

import pytest
from sqlalchemy import bindparam, event, func, select

from app import driver_sql
from app.db import ACTOR_ROW_KEY, APP_ROLE, statement_count
from app.driver_sql import DriverSession, NotOnTheDriver
from app.people.models import User

USERS_BY_ROLE = (select(func.count(), func.string_agg(User.email, ",").label("emails"))
                 .where(User.organization_id == bindparam("tenant"),
                        User.role == bindparam("role")))
USERS_IN = select(User.id).where(User.id.in_(bindparam("ids", expanding=True))).order_by(User.id)


async def test_a_statement_runs_on_the_driver_in_the_sessions_transaction(db, org, other_org):
    seen_by_sqlalchemy: list[str] = []
    counter = [0]
    token = statement_count.set(counter)
    try:
        async with db.transaction(org.id, read_only=True) as session:
            connection = (await session.connection()).sync_connection
            event.listen(connection, "before_cursor_execute",
                         lambda _c, _cur, statement, *_: seen_by_sqlalchemy.append(statement))
            through_driver = await driver_sql.rows(session, USERS_BY_ROLE,
                                                   {"tenant": org.id, "role": "CLIENT"})
            through_sqlalchemy = (await session.execute(
                USERS_BY_ROLE, {"tenant": org.id, "role": "CLIENT"})).all()
            # row-level security binds the driver's statements too: no other tenant's rows
            foreign = await driver_sql.scalar(session, USERS_BY_ROLE,
                                              {"tenant": other_org.id, "role": "CLIENT"})
    finally:
        statement_count.reset(token)

    assert [tuple(row) for row in through_driver] == [tuple(row) for row in through_sqlalchemy]
    assert through_driver[0][0] == 2  # the client and the other client
    assert foreign == 0
    assert len(seen_by_sqlalchemy) == 1  # only the statement run through SQLAlchemy
    # the two run on the driver (this db counts no others: `count_statements` is not on)
    assert counter[0] == 2


async def test_a_statement_rendered_per_call_runs_through_sqlalchemy(db, org):
    ids = sorted([org.client.user.id, org.staff.user.id])
    async with db.transaction(org.id, read_only=True) as session:
        found = await driver_sql.rows(session, USERS_IN, {"ids": ids})
    assert [row[0] for row in found] == ids


async def test_a_driver_session_is_a_read_only_tenant_transaction_that_leaves_no_trace(
        db, org, other_org):
    session = DriverSession(db.engine, org.id, org.client.user.id)
    try:
        clients = await driver_sql.scalar(session, USERS_BY_ROLE,
                                          {"tenant": org.id, "role": "CLIENT"})
        foreign = await driver_sql.scalar(session, USERS_BY_ROLE,
                                          {"tenant": other_org.id, "role": "CLIENT"})
        driver = await session.driver()
        role = await driver.fetchval("SELECT current_user")
        read_only = await driver.fetchval("SHOW transaction_read_only")
        _, actor = session.info[ACTOR_ROW_KEY]
    finally:
        await session.close()

    assert (clients, foreign) == (2, 0)  # row-level security binds it to its organization
    assert (role, read_only) == (APP_ROLE, "on")
    assert (actor.id, actor.role, actor.slug) == (org.client.user.id, "CLIENT", org.slug)
    # Every pooled connection is itself again: no transaction, no tenant, no role.
    async with db.engine.connect() as connection:
        for _ in range(db.engine.pool.size()):
            raw = (await connection.get_raw_connection()).driver_connection
            assert not raw.is_in_transaction()
            assert await raw.fetchval("SELECT current_setting('app.organization_id', true)") in (
                None, "")
            assert await raw.fetchval("SELECT current_user") != APP_ROLE


async def test_a_driver_session_refuses_what_needs_an_orm_session(db, org):
    session = DriverSession(db.engine, org.id, org.client.user.id)
    try:
        with pytest.raises(NotOnTheDriver):
            await driver_sql.rows(session, USERS_IN, {"ids": [org.client.user.id]})
    finally:
        await session.close()


async def test_a_driver_session_whose_connection_died_is_not_given_back(db, org):
    session = DriverSession(db.engine, org.id, org.client.user.id)
    driver = await session.driver()
    backend = driver.get_server_pid()
    async with db.engine.connect() as other:
        killer = (await other.get_raw_connection()).driver_connection
        await killer.fetchval("SELECT pg_terminate_backend($1)", backend)

    with pytest.raises(Exception):  # noqa: B017 - whatever the driver makes of a dead connection
        await session.close()

    assert driver.is_closed()  # invalidated: the pool opens a new connection instead
    async with db.transaction(org.id, read_only=True) as fresh:
        assert await driver_sql.scalar(fresh, USERS_BY_ROLE,
                                       {"tenant": org.id, "role": "CLIENT"}) == 2
