"""Helpers of the language tests: choosing an organization's or a user's language."""

SETTINGS = """mutation($input: UpdateOrganizationSettingsInput!) {
    updateOrganizationSettings(input: $input) {
      organization { settings { locale } } userErrors { code field message } } }"""
UPDATE_USER = """mutation($input: UpdateUserInput!) { updateUser(input: $input) {
    user { locale } userErrors { code field message } } }"""
CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) {
    user { locale } userErrors { code field message } } }"""


async def set_organization_locale(api, org, tag) -> dict:
    return (await api.data(SETTINGS, {"input": {"locale": tag}}, as_=org.admin))[
        "updateOrganizationSettings"]


async def set_user_locale(api, member, user, tag) -> dict:
    return (await api.data(UPDATE_USER, {"input": {"id": user.id, "locale": tag}},
                           as_=member))["updateUser"]
