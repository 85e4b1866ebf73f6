"""`bookings check-ledger`, run as an operator would, against the test database."""

import os
import subprocess
import sys

from sqlalchemy import text

from tests.credits.support import grant


def bookings(*arguments: str, database_url: str, data_dir) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "BOOKINGS_DATA_DIR": str(data_dir),
                   "BOOKINGS_SECRET_KEY": "cli-test-secret-key-long-enough-for-hs256"}
    return subprocess.run([sys.executable, "-m", "app.cli", *arguments], env=environment,
                          check=False, capture_output=True, text=True, timeout=120)


def test_check_ledger_is_clean_on_the_demo_data(database_url, tmp_path):
    seeded = bookings("seed", "--demo", database_url=database_url, data_dir=tmp_path)
    assert seeded.returncode == 0, seeded.stderr

    checked = bookings("check-ledger", database_url=database_url, data_dir=tmp_path)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    [demo] = [line for line in checked.stdout.splitlines() if line.startswith("demo:")]
    assert demo.startswith("demo: 2 balances, ") and demo.endswith(" lots: ok")
    assert checked.stdout.rstrip().endswith("organizations; 0 with violations.")


async def test_check_ledger_exits_non_zero_and_names_a_violation(database_url, tmp_path, db,
                                                                 org):
    await grant(db, org.id, org.client.user.id, 3)
    corrupt = ("UPDATE credit_balances SET balance = balance + :delta "
               "WHERE organization_id = :org AND user_id = :user")
    parameters = {"org": org.id, "user": org.client.user.id}
    async with db.engine.begin() as connection:  # as the superuser: no RLS, no role switch
        await connection.execute(text(corrupt), {**parameters, "delta": 1})
    try:
        checked = bookings("check-ledger", database_url=database_url, data_dir=tmp_path)
    finally:
        async with db.engine.begin() as connection:
            await connection.execute(text(corrupt), {**parameters, "delta": -1})

    assert checked.returncode == 1
    assert f"{org.slug}: 1 balances, 1 entries, 1 lots: 2 VIOLATIONS" in checked.stdout
    assert (f"  balance = sum of COMPLETED amounts: user {org.client.user.id}: balance 4 != 3"
            in checked.stdout)
