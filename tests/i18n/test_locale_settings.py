"""Choosing a language over the API: the organization's (ADMIN), a user's own (themselves,
or whoever may edit their details), at sign-up and invitation; a bad tag is a clear
userError on its field and changes nothing."""

import pytest

from tests.accounts.support import STRONG_PASSWORD, send_queued
from tests.i18n.support import (
    CREATE_USER,
    SETTINGS,
    UPDATE_USER,
    set_organization_locale,
    set_user_locale,
)
from tests.support import error_codes

ORGANIZATION_LOCALE = "{ organization { settings { locale } } }"
SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) {
    user { locale } userErrors { code field message } } }"""
BAD_TAGS = ["xx-YY", "es_AR ", "", "fr", "en_US", " ", "es-AR-x-mine"]


async def test_an_organization_speaks_english_until_an_admin_chooses_another_language(api, org):
    assert (await api.data(ORGANIZATION_LOCALE, as_=org.client))["organization"] == {
        "settings": {"locale": "en"}}

    changed = await set_organization_locale(api, org, "ES-ar")

    assert changed == {"organization": {"settings": {"locale": "es-AR"}}, "userErrors": []}
    assert (await api.data(ORGANIZATION_LOCALE, as_=org.client))["organization"] == {
        "settings": {"locale": "es-AR"}}


@pytest.mark.parametrize("tag", BAD_TAGS)
async def test_a_bad_organization_tag_is_refused_and_changes_nothing(api, org, tag):
    await set_organization_locale(api, org, "es")

    refused = await set_organization_locale(api, org, tag)

    assert refused["organization"] is None
    [error] = refused["userErrors"]
    assert (error["code"], error["field"]) == ("VALIDATION_FAILED", ["input", "locale"])
    assert repr(tag) in error["message"]  # says which tag, and what a good one looks like
    assert (await api.data(ORGANIZATION_LOCALE, as_=org.admin))["organization"] == {
        "settings": {"locale": "es"}}


async def test_the_organizations_language_cannot_be_null_nor_set_by_staff(api, org):
    blank = (await api.data(SETTINGS, {"input": {"locale": None}}, as_=org.admin))[
        "updateOrganizationSettings"]
    by_staff = await api.post(SETTINGS, {"input": {"locale": "es"}}, as_=org.staff)

    assert [error["code"] for error in blank["userErrors"]] == ["VALIDATION_FAILED"]
    assert error_codes(by_staff) == ["FORBIDDEN"]
    assert (await api.data(ORGANIZATION_LOCALE, as_=org.admin))["organization"] == {
        "settings": {"locale": "en"}}


async def test_a_user_chooses_their_own_language_and_null_gives_back_the_organizations(api, org):
    assert (await api.data("{ me { locale } }", as_=org.client))["me"] == {"locale": None}

    chosen = await set_user_locale(api, org.client, org.client, "es-AR")
    assert chosen == {"user": {"locale": "es-AR"}, "userErrors": []}
    assert (await api.data("{ me { locale } }", as_=org.client))["me"] == {"locale": "es-AR"}

    cleared = await set_user_locale(api, org.client, org.client, None)
    assert cleared == {"user": {"locale": None}, "userErrors": []}


@pytest.mark.parametrize("tag", BAD_TAGS)
async def test_a_bad_user_tag_is_refused_and_changes_nothing(api, org, tag):
    await set_user_locale(api, org.client, org.client, "es")

    refused = await set_user_locale(api, org.client, org.client, tag)

    assert refused["user"] is None
    [error] = refused["userErrors"]
    assert (error["code"], error["field"]) == ("VALIDATION_FAILED", ["input", "locale"])
    assert (await api.data("{ me { locale } }", as_=org.client))["me"] == {"locale": "es"}


async def test_staff_may_set_a_clients_language_but_a_client_not_anothers(api, org):
    by_staff = await set_user_locale(api, org.staff, org.client, "es")
    by_other_client = await set_user_locale(api, org.other_client, org.client, "en")
    by_staff_on_admin = await api.post(UPDATE_USER, {"input": {"id": org.admin.id,
                                                               "locale": "es"}}, as_=org.staff)

    assert by_staff == {"user": {"locale": "es"}, "userErrors": []}
    # Another client is not even visible to a client; STAFF see an ADMIN, but may not edit.
    assert [error["code"] for error in by_other_client["userErrors"]] == ["NOT_FOUND"]
    assert error_codes(by_staff_on_admin) == ["FORBIDDEN"]
    assert (await api.data("{ me { locale } }", as_=org.client))["me"] == {"locale": "es"}


async def test_an_invited_person_gets_the_invitation_in_the_language_chosen_for_them(
        api, db, org):
    invited = (await api.data(CREATE_USER, {"input": {
        "email": "abuela@example.com", "firstName": "Rosa", "lastName": "Paz",
        "phone": "+54 11 5555 0101", "role": "CLIENT", "locale": "es-AR"}}, as_=org.staff))[
        "createUser"]
    refused = (await api.data(CREATE_USER, {"input": {
        "email": "nadie@example.com", "firstName": "Nadie", "lastName": "Paz",
        "phone": "+54 11 5555 0102", "role": "CLIENT", "locale": "xx-YY"}}, as_=org.staff))[
        "createUser"]

    assert invited == {"user": {"locale": "es-AR"}, "userErrors": []}
    assert [(error["code"], error["field"]) for error in refused["userErrors"]] == [
        ("VALIDATION_FAILED", ["input", "locale"])]
    [email] = (await send_queued(db, org)).sent  # the refused one wrote nothing
    assert email.to == "abuela@example.com"
    assert email.language == "es-AR"
    assert email.subject == f"Te invitaron a {await organization_name(api, org)}"
    assert email.body.startswith("Hola, Rosa:")
    assert "vence en 1 semana" in email.body
    assert '<html lang="es-AR">' in email.html and "Aceptar la invitación" in email.html


async def test_a_new_client_may_sign_up_in_their_language(api, org):
    await api.data(SETTINGS.replace("locale", "allowClientSignup"),
                   {"input": {"allowClientSignup": True}}, as_=org.admin)
    signed_up = (await api.data(SIGN_UP, {"input": {
        "organization": org.slug, "email": "familia@example.com", "password": STRONG_PASSWORD,
        "firstName": "Ana", "lastName": "Sol", "phone": "+54 11 5555 0103",
        "locale": "es"}}))["signUp"]

    assert signed_up == {"user": {"locale": "es"}, "userErrors": []}


async def organization_name(api, org) -> str:
    return (await api.data("{ organization { name } }", as_=org.admin))["organization"]["name"]
