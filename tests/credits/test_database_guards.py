"""The database itself keeps the ledger append-only and balances non-negative, even for a superuser.

These statements run on a plain engine connection: as the connecting superuser,
with no role switch and row-level security bypassed. Only the trigger and the
constraints stand in the way.
"""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.credits import ledger
from tests.credits.support import NOW, debit, grant


async def run_as_superuser(db, statement: str, *, commit: bool = False, **parameters) -> None:
    """Runs one statement as the connecting superuser; rolled back unless `commit`.

    Rolling back keeps a broken guard from wiping the shared test database.
    """
    async with db.engine.connect() as connection:
        transaction = await connection.begin()
        try:
            assert await connection.scalar(text("SELECT rolsuper FROM pg_roles "
                                                "WHERE rolname = current_user"))
            await connection.execute(text(statement), parameters)
        finally:
            if commit:
                await transaction.commit()
            else:
                await transaction.rollback()


async def test_a_raw_update_of_an_amount_is_refused_even_for_a_superuser(db, org):
    posting = await grant(db, org.id, org.client.user.id, 5)

    with pytest.raises(DBAPIError, match="status COMPLETED -> COMPLETED refused"):
        await run_as_superuser(db, "UPDATE credit_transactions SET amount = 500 "
                                   "WHERE organization_id = :org AND id = :id",
                               org=org.id, id=posting.transaction.id)


async def test_a_raw_delete_of_a_ledger_entry_is_refused_even_for_a_superuser(db, org):
    posting = await grant(db, org.id, org.client.user.id, 5)

    with pytest.raises(DBAPIError, match="append-only: DELETE refused"):
        await run_as_superuser(db, "DELETE FROM credit_transactions "
                                   "WHERE organization_id = :org AND id = :id",
                               org=org.id, id=posting.transaction.id)


async def test_truncating_the_ledger_is_refused(db):
    with pytest.raises(DBAPIError, match="append-only: TRUNCATE refused"):
        await run_as_superuser(db, "TRUNCATE credit_transactions CASCADE")


async def test_a_pending_entry_may_be_settled_once_and_nothing_else_changes(db, org):
    pending = await grant(db, org.id, org.client.user.id, 5, pending=True)
    where = "WHERE organization_id = :org AND id = :id"
    ids = {"org": org.id, "id": pending.transaction.id}

    with pytest.raises(DBAPIError, match="only its settlement may change"):
        await run_as_superuser(db, "UPDATE credit_transactions SET status = 'FAILED', "
                                   f"processed_at = now(), amount = 1 {where}", **ids)
    await run_as_superuser(db, "UPDATE credit_transactions SET status = 'FAILED', "
                               f"processed_at = now(), failure_reason = 'declined' {where}",
                           commit=True, **ids)
    with pytest.raises(DBAPIError, match="status FAILED -> COMPLETED refused"):
        await run_as_superuser(db, "UPDATE credit_transactions SET status = 'COMPLETED', "
                                   f"balance_after = 5, failure_reason = NULL {where}", **ids)


async def test_the_application_role_may_update_no_ledger_column_but_the_settlement_ones(db, org):
    posting = await grant(db, org.id, org.client.user.id, 5)

    with pytest.raises(DBAPIError, match="permission denied"):
        async with db.transaction(org.id) as session:
            await session.execute(text("UPDATE credit_transactions SET amount = 7 WHERE id = :id"),
                                  {"id": posting.transaction.id})


async def test_a_balance_cannot_be_negative_even_for_a_superuser(db, org):
    await grant(db, org.id, org.client.user.id, 1)

    with pytest.raises(IntegrityError, match="credit_balances_balance_check"):
        await run_as_superuser(db, "UPDATE credit_balances SET balance = -1 "
                                   "WHERE organization_id = :org AND user_id = :user",
                               org=org.id, user=org.client.user.id)


async def test_a_second_refund_of_one_debit_is_refused_by_the_unique_index(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 2)
    spent = await debit(db, org.id, client.id, 1)
    async with db.transaction(org.id) as session:
        await ledger.refund_debit(session, debit_id=spent.transaction.id, now=NOW)

    with pytest.raises(IntegrityError, match="credit_transactions_reverses_key"):
        await run_as_superuser(
            db,
            "INSERT INTO credit_transactions (organization_id, user_id, type, status, amount, "
            "balance_after, reverses_id, processed_at) "
            "VALUES (:org, :user, 'CANCELLATION_REFUND', 'COMPLETED', 1, 3, :debit, now())",
            org=org.id, user=client.id, debit=spent.transaction.id,
        )


CREDIT_TABLES = ["credit_balances", "credit_transactions", "credit_lots", "credit_lot_draws",
                 "idempotency_keys"]


async def test_every_credit_table_has_forced_row_level_security(db):
    async with db.engine.connect() as connection:
        rows = (await connection.execute(text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = ANY(:tables) ORDER BY relname"), {"tables": CREDIT_TABLES})).all()
    assert rows == [(table, True, True) for table in sorted(CREDIT_TABLES)]


async def test_a_query_without_where_sees_only_its_own_organizations_credit_rows(db, org,
                                                                                 other_org):
    for tenant in (org, other_org):
        await grant(db, tenant.id, tenant.client.user.id, 2)
        await debit(db, tenant.id, tenant.client.user.id, 1)

    async with db.transaction(org.id, read_only=True) as session:
        seen = {table: set(await session.scalars(text(
                    f"SELECT DISTINCT organization_id FROM {table}")))
                for table in CREDIT_TABLES if table != "idempotency_keys"}

    assert seen == {table: {org.id} for table in CREDIT_TABLES if table != "idempotency_keys"}
