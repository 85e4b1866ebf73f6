"""Core statements run on the driver (app/driver_sql.py): the same answers as through
SQLAlchemy, in the session's transaction and tenant, counted for BOOKINGS_COUNT_SQL."""

from sqlalchemy import bindparam, event, func, select

from app import driver_sql
from app.db import statement_count
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
