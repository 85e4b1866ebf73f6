"""Organizations never see each other's data, and the database enforces it too."""

import pytest
from sqlalchemy import text

from app import global_ids as ids
from app.people import repository as people
from app.tenancy import TenantRequired
from tests.support import error_codes

USERS = "{ users(first: 100) { totalCount edges { node { id email } } } }"
PROFESSIONALS = "{ professionals(first: 100) { totalCount edges { node { id } } } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on User { email } } }"


async def test_lists_show_only_the_callers_organization(api, org, other_org):
    users = await api.data(USERS, as_=org.admin)
    emails = {edge["node"]["email"] for edge in users["users"]["edges"]}

    assert users["users"]["totalCount"] == 6
    assert all(email.endswith(f"@{org.slug}.example") for email in emails)
    professionals = await api.data(PROFESSIONALS, as_=org.admin)
    assert professionals["professionals"]["totalCount"] == 2


@pytest.mark.parametrize("type_name", ["User", "Professional", "Student", "Organization"])
async def test_node_of_another_organization_is_not_found(api, org, other_org, type_name):
    foreign_pk = {
        "User": other_org.client.user.id,
        "Professional": other_org.professional_profile.id,
        "Student": other_org.student.id,
        "Organization": other_org.id,
    }[type_name]

    body = await api.post(NODE, {"id": ids.encode(type_name, foreign_pk)}, as_=org.admin)

    assert error_codes(body) == ["NOT_FOUND"]
    assert body["data"] == {"node": None}


async def test_mutation_on_another_organizations_user_is_not_found_and_changes_nothing(
    api, org, other_org, db
):
    body = await api.data(
        """mutation($id: ID!) { updateUser(input: {id: $id, firstName: "Hacked"}) {
             user { id } userErrors { code field } } }""",
        {"id": other_org.client.id}, as_=org.admin,
    )

    assert body["updateUser"] == {"user": None, "userErrors": [
        {"code": "NOT_FOUND", "field": ["input", "id"]}]}
    async with db.transaction(other_org.id) as session:
        assert (await people.get_user(session, other_org.client.user.id)).first_name == "Client"


async def test_row_level_security_filters_a_query_without_where(db, org, other_org):
    """Even a repository bug that forgets its WHERE cannot read another tenant's rows."""
    async with db.transaction(org.id, read_only=True) as session:
        organization_ids = (await session.scalars(
            text("SELECT DISTINCT organization_id FROM users"))).all()
        student_count = await session.scalar(text("SELECT count(*) FROM students"))

    assert organization_ids == [org.id]
    assert student_count == 1


async def test_row_level_security_refuses_writing_into_another_tenant(db, org, other_org):
    with pytest.raises(Exception, match="row-level security"):
        async with db.transaction(org.id) as session:
            await session.execute(text(
                "INSERT INTO students (organization_id, guardian_id, first_name, last_name) "
                "VALUES (:other, :guardian, 'Sneaky', 'Insert')"),
                {"other": other_org.id, "guardian": other_org.client.user.id})


async def test_a_transaction_without_tenant_sees_no_tenant_rows(db, org):
    async with db.transaction(None, read_only=True) as session:
        assert await session.scalar(text("SELECT count(*) FROM users")) == 0


async def test_the_connection_is_a_superuser_yet_rls_still_applies(db, org):
    """The test database URL is a superuser; the per-transaction role switch is what protects."""
    async with db.engine.connect() as connection:
        is_superuser = await connection.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        everyone = await connection.scalar(text("SELECT count(DISTINCT organization_id) FROM users"))
    if not is_superuser:
        pytest.skip("DATABASE_URL is not a superuser")
    assert everyone >= 1  # the raw connection bypasses RLS...
    async with db.transaction(org.id, read_only=True) as session:
        role = await session.scalar(text("SELECT current_user"))
        visible = await session.scalar(text("SELECT count(DISTINCT organization_id) FROM users"))
    assert (role, visible) == ("bookings_app", 1)  # ...the tenant transaction does not


async def test_repository_without_tenant_raises_tenant_required(db):
    async with db.transaction(None, read_only=True) as session:
        with pytest.raises(TenantRequired):
            await people.get_user(session, 1)


async def test_tenant_setting_does_not_leak_to_the_next_transaction(db, org):
    async with db.transaction(org.id, read_only=True):
        pass
    async with db.engine.connect() as connection:
        setting = await connection.scalar(
            text("SELECT current_setting('app.organization_id', true)"))
        role = await connection.scalar(text("SELECT current_user"))
    assert setting in (None, "")
    assert role != "bookings_app"


async def test_same_email_may_exist_in_two_organizations(api, org, other_org):
    create = """mutation($input: CreateUserInput!) { createUser(input: $input) {
        user { email } userErrors { code } } }"""
    user = {"email": "shared@example.com", "firstName": "Shared", "lastName": "Person",
            "phone": "+1 555 1234", "role": "CLIENT"}

    first = await api.data(create, {"input": user}, as_=org.staff)
    second = await api.data(create, {"input": user}, as_=other_org.staff)

    assert first["createUser"] == {"user": {"email": "shared@example.com"}, "userErrors": []}
    assert second["createUser"] == first["createUser"]
