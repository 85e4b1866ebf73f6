"""Credit packages over GraphQL (docs/rules.md: credit packages): ADMIN offers, renames,
reprices and retires them; everyone sees the active ones; the database keeps them whole."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app import global_ids as ids
from tests.support import error_codes

FIELDS = "id name credits priceCents currency validityDays active"
CREATE = f"""
mutation Create($input: CreateCreditPackageInput!) {{
  createCreditPackage(input: $input) {{ creditPackage {{ {FIELDS} }} userErrors {{ code field }} }}
}}"""
UPDATE = f"""
mutation Update($input: UpdateCreditPackageInput!) {{
  updateCreditPackage(input: $input) {{ creditPackage {{ {FIELDS} }} userErrors {{ code field }} }}
}}"""
LIST = f"query($all: Boolean) {{ creditPackages(includeInactive: $all) {{ {FIELDS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { ... on CreditPackage { name active } } }"


async def create(api, org, **values):
    fields = {"name": "10 sessions", "credits": 10, "priceCents": 45000, **values}
    return (await api.data(CREATE, {"input": fields}, as_=org.admin))["createCreditPackage"]


async def test_an_admin_offers_packages_that_everyone_sees_cheapest_first(api, org):
    ten = await create(api, org, validityDays=180)
    five = await create(api, org, name="  5 sessions ", credits=5, priceCents=25000)

    assert ten["userErrors"] == [] and five["userErrors"] == []
    assert ten["creditPackage"] == {
        "id": ten["creditPackage"]["id"], "name": "10 sessions", "credits": 10,
        "priceCents": 45000, "currency": "USD", "validityDays": 180, "active": True}
    assert five["creditPackage"]["name"] == "5 sessions"
    assert five["creditPackage"]["validityDays"] is None
    for member in (org.admin, org.staff, org.professional, org.client):
        listed = (await api.data(LIST, {}, as_=member))["creditPackages"]
        assert [package["name"] for package in listed] == ["5 sessions", "10 sessions"]


async def test_a_retired_package_is_hidden_from_clients_and_offered_again_when_restored(
        api, org):
    package = (await create(api, org))["creditPackage"]

    retired = (await api.data(UPDATE, {"input": {"id": package["id"], "active": False}},
                              as_=org.admin))["updateCreditPackage"]

    assert retired["creditPackage"]["active"] is False
    assert (await api.data(LIST, {}, as_=org.client))["creditPackages"] == []
    assert [p["active"] for p in (await api.data(LIST, {"all": True}, as_=org.staff))[
        "creditPackages"]] == [False]
    assert error_codes(await api.post(LIST, {"all": True}, as_=org.client)) == ["FORBIDDEN"]
    assert error_codes(await api.post(NODE, {"id": package["id"]}, as_=org.client)) == [
        "NOT_FOUND"]
    assert (await api.data(NODE, {"id": package["id"]}, as_=org.staff))["node"] == {
        "name": "10 sessions", "active": False}

    await api.data(UPDATE, {"input": {"id": package["id"], "active": True}}, as_=org.admin)
    assert len((await api.data(LIST, {}, as_=org.client))["creditPackages"]) == 1


async def test_an_update_changes_only_what_it_is_given(api, org):
    package = (await create(api, org, validityDays=90))["creditPackage"]

    renamed = (await api.data(UPDATE, {"input": {"id": package["id"], "name": "Ten"}},
                              as_=org.admin))["updateCreditPackage"]["creditPackage"]
    repriced = (await api.data(UPDATE, {"input": {"id": package["id"], "priceCents": 40000,
                                                  "validityDays": None}},
                               as_=org.admin))["updateCreditPackage"]["creditPackage"]

    assert renamed == {**package, "name": "Ten"}
    assert repriced == {**package, "name": "Ten", "priceCents": 40000, "validityDays": None}


@pytest.mark.parametrize(("values", "field"), [
    ({"name": " "}, ["input", "name"]),
    ({"name": "x" * 101}, ["input", "name"]),
    ({"credits": 0}, ["input", "credits"]),
    ({"credits": 100_001}, ["input", "credits"]),
    ({"priceCents": -1}, ["input", "priceCents"]),
    ({"validityDays": 0}, ["input", "validityDays"]),
    ({"validityDays": 3651}, ["input", "validityDays"]),
])
async def test_bad_values_are_refused_and_nothing_is_written(api, org, values, field):
    refused = await create(api, org, **values)

    assert refused["creditPackage"] is None
    assert refused["userErrors"] == [{"code": "VALIDATION_FAILED", "field": field}]
    assert (await api.data(LIST, {"all": True}, as_=org.admin))["creditPackages"] == []


@pytest.mark.parametrize("change", [{"name": None}, {"priceCents": -5}, {"active": None},
                                    {"name": "y" * 101}])
async def test_bad_changes_are_refused_and_change_nothing(api, org, change):
    package = (await create(api, org))["creditPackage"]

    refused = (await api.data(UPDATE, {"input": {"id": package["id"], **change}},
                              as_=org.admin))["updateCreditPackage"]

    assert refused["creditPackage"] is None
    assert [error["code"] for error in refused["userErrors"]] == ["VALIDATION_FAILED"]
    assert (await api.data(LIST, {}, as_=org.admin))["creditPackages"] == [package]


async def test_only_an_admin_makes_or_changes_packages(api, org):
    package = (await create(api, org))["creditPackage"]
    for member in (org.staff, org.professional, org.client):
        made = await api.post(CREATE, {"input": {"name": "Free", "credits": 1, "priceCents": 0}},
                              as_=member)
        changed = await api.post(UPDATE, {"input": {"id": package["id"], "priceCents": 1}},
                                 as_=member)
        assert error_codes(made) == ["FORBIDDEN"] and error_codes(changed) == ["FORBIDDEN"]
    assert (await api.data(LIST, {}, as_=org.client))["creditPackages"] == [package]


async def test_another_organizations_package_is_not_found(api, org, other_org):
    theirs = (await create(api, other_org))["creditPackage"]

    changed = (await api.data(UPDATE, {"input": {"id": theirs["id"], "priceCents": 1}},
                              as_=org.admin))["updateCreditPackage"]
    seen = await api.post(NODE, {"id": theirs["id"]}, as_=org.admin)

    assert changed["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "id"]}]
    assert error_codes(seen) == ["NOT_FOUND"]
    assert (await api.data(LIST, {}, as_=org.admin))["creditPackages"] == []
    assert (await api.data(LIST, {}, as_=other_org.admin))["creditPackages"] == [theirs]


async def test_the_database_keeps_packages_whole_and_never_deletes_one(api, db, org):
    package = (await create(api, org))["creditPackage"]
    package_pk = ids.decode(package["id"], "CreditPackage")
    bad_rows = ["credits = 0", "price_cents = -1", "validity_days = 0", "name = ' '",
                "currency = 'usd'"]
    for change in bad_rows:
        with pytest.raises(DBAPIError, match="violates check constraint"):
            async with db.transaction(org.id) as session:
                await session.execute(text(f"UPDATE credit_packages SET {change} WHERE id = :id"),
                                      {"id": package_pk})
    with pytest.raises(DBAPIError, match="permission denied"):
        async with db.transaction(org.id) as session:
            await session.execute(text("DELETE FROM credit_packages WHERE id = :id"),
                                  {"id": package_pk})
    assert (await api.data(LIST, {}, as_=org.admin))["creditPackages"] == [package]
