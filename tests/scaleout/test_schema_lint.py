"""The schema stays ready for Citus: every tenant table is sharded by `organization_id`.

Reads the live catalog after migrations (pg_class, pg_constraint, pg_index) and
fails when a tenant table (one with an `organization_id` column) lacks any of:
- `organization_id` in its primary key;
- `organization_id` in every unique constraint and unique index;
- `organization_id` compared with `=` in every exclusion constraint;
- `organization_id` on both sides of every foreign key to another tenant table;
- row-level security enabled and forced.

Citus can only enforce uniqueness, exclusion and foreign keys within one shard, so
each of them must include the distribution column (docs/deploy.md, "Moving to Citus").
A table without `organization_id` must be listed below with its reason, so a new
table breaks this test until it complies or is listed; a listed table is not checked
even if it has the column.
"""

import asyncpg
import pytest

from app.db import libpq_url

# Tables that are not tenant tables, each with the reason. They become Citus
# reference tables or stay on the coordinator (docs/deploy.md).
NOT_TENANT_TABLES = {
    "organizations": "the tenant table itself; its `id` is every tenant table's organization_id",
    "alembic_version": "migration bookkeeping, not application data",
    "login_attempts": "keyed by a hash before a tenant is known, on purpose "
    "(migrations/versions/0006_hardening.py); reached only through SECURITY DEFINER functions",
    "account_tokens": "looked up by a token's hash before its organization is known "
    "(migrations/versions/0008_accounts.py); reached only through SECURITY DEFINER functions, "
    "which write and delete rows of the transaction's own organization only",
}
# The job queue's own tables: procrastinate manages them and they are global (jobs of
# every organization carry the organization in their arguments).
NOT_TENANT_PREFIXES = {"procrastinate_": "the job queue's own tables (procrastinate)"}

TENANT_COLUMN = "organization_id"


async def _catalog(database_url: str) -> dict:
    connection = await asyncpg.connect(libpq_url(database_url))
    try:
        tables = await connection.fetch(
            """
            SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT a.attnum FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = $1 AND NOT a.attisdropped) AS org_attnum
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
              AND NOT c.relispartition
            ORDER BY c.relname
            """,
            TENANT_COLUMN,
        )
        constraints = await connection.fetch(
            """
            SELECT con.conrelid, con.conname, con.contype::text AS contype, con.conkey, con.confrelid, con.confkey,
                   ARRAY(SELECT o.oprname FROM unnest(con.conexclop) AS x(op)
                         JOIN pg_operator o ON o.oid = x.op) AS exclusion_operators
            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'x', 'f')
            """
        )
        indexes = await connection.fetch(
            """
            SELECT i.indrelid, ic.relname AS name, i.indkey::int2[] AS keys
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND i.indisunique
            """
        )
    finally:
        await connection.close()
    return {"tables": tables, "constraints": constraints, "indexes": indexes}


def _exception(name: str) -> str | None:
    if name in NOT_TENANT_TABLES:
        return NOT_TENANT_TABLES[name]
    return next((why for prefix, why in NOT_TENANT_PREFIXES.items() if name.startswith(prefix)), None)


def schema_violations(catalog: dict) -> list[str]:
    tables = {row["oid"]: row for row in catalog["tables"]}
    # A listed table is no tenant table even if it names an organization (account_tokens).
    tenant = {oid: row for oid, row in tables.items()
              if row["org_attnum"] is not None and _exception(row["relname"]) is None}
    problems: list[str] = []

    for oid, row in tables.items():
        if oid not in tenant and _exception(row["relname"]) is None:
            problems.append(
                f"{row['relname']}: no {TENANT_COLUMN} column and not listed as an exception"
            )

    for oid, row in tenant.items():
        name, org = row["relname"], row["org_attnum"]
        if not (row["relrowsecurity"] and row["relforcerowsecurity"]):
            problems.append(f"{name}: row-level security not enabled and forced")
        own = [c for c in catalog["constraints"] if c["conrelid"] == oid]
        if not any(c["contype"] == "p" for c in own):
            problems.append(f"{name}: no primary key")
        for con in own:
            keys = list(con["conkey"] or [])
            kind = con["contype"]
            if kind in ("p", "u") and org not in keys:
                what = "primary key" if kind == "p" else "unique constraint"
                problems.append(f"{name}: {what} {con['conname']} lacks {TENANT_COLUMN}")
            elif kind == "x":
                operators = list(con["exclusion_operators"])
                if org not in keys or operators[keys.index(org)] != "=":
                    problems.append(
                        f"{name}: exclusion constraint {con['conname']} lacks {TENANT_COLUMN} WITH ="
                    )
            elif kind == "f" and con["confrelid"] in tenant:
                target = tenant[con["confrelid"]]
                referenced = list(con["confkey"] or [])
                if org not in keys or referenced[keys.index(org)] != target["org_attnum"]:
                    problems.append(
                        f"{name}: foreign key {con['conname']} to {target['relname']} does not"
                        f" match {TENANT_COLUMN} with {TENANT_COLUMN}"
                    )
        for index in catalog["indexes"]:
            if index["indrelid"] == oid and org not in list(index["keys"]):
                problems.append(f"{name}: unique index {index['name']} lacks {TENANT_COLUMN}")
    return problems


@pytest.fixture(scope="module")
async def catalog(database_url: str) -> dict:
    return await _catalog(database_url)


async def test_every_tenant_table_is_ready_for_citus(catalog: dict) -> None:
    problems = schema_violations(catalog)
    assert not problems, "\n".join(problems)


async def test_the_lint_sees_the_tenant_tables(catalog: dict) -> None:
    tenant = {row["relname"] for row in catalog["tables"] if row["org_attnum"] is not None}
    assert {"users", "appointments"} <= tenant
    assert "organizations" not in tenant


async def test_listed_exceptions_exist(catalog: dict) -> None:
    """A stale exception (a table renamed or dropped) would hide a future table of that name."""
    names = {row["relname"] for row in catalog["tables"]}
    assert set(NOT_TENANT_TABLES) <= names


def test_the_lint_catches_violations() -> None:
    """A synthetic catalog with one of every mistake: the lint names each."""
    catalog = {
        "tables": [
            {"oid": 1, "relname": "things", "relrowsecurity": True,
             "relforcerowsecurity": False, "org_attnum": 2},
            {"oid": 2, "relname": "parts", "relrowsecurity": True,
             "relforcerowsecurity": True, "org_attnum": 3},
            {"oid": 3, "relname": "newcomer", "relrowsecurity": False,
             "relforcerowsecurity": False, "org_attnum": None},
        ],
        "constraints": [
            {"conrelid": 1, "conname": "things_pkey", "contype": "p", "conkey": [1],
             "confrelid": 0, "confkey": None, "exclusion_operators": []},
            {"conrelid": 1, "conname": "things_no_overlap", "contype": "x", "conkey": [2, 4],
             "confrelid": 0, "confkey": None, "exclusion_operators": ["<>", "&&"]},
            {"conrelid": 2, "conname": "parts_pkey", "contype": "p", "conkey": [3, 1],
             "confrelid": 0, "confkey": None, "exclusion_operators": []},
            {"conrelid": 2, "conname": "parts_thing_fkey", "contype": "f", "conkey": [2],
             "confrelid": 1, "confkey": [1], "exclusion_operators": []},
        ],
        "indexes": [{"indrelid": 2, "name": "parts_code_key", "keys": [5]}],
    }
    problems = "\n".join(schema_violations(catalog))
    for expected in ("newcomer: no organization_id", "things: row-level security",
                     "things: primary key things_pkey", "things_no_overlap",
                     "parts_thing_fkey", "parts_code_key"):
        assert expected in problems
