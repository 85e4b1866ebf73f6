"""Changing the organization: its name, zone and booking rules (ADMIN)."""

import strawberry

from app.api.context import Info
from app.api.errors import run_mutation
from app.api.inputs import given_changes
from app.api.organizations.inputs import OrganizationPayload, UpdateOrganizationSettingsInput
from app.api.organizations.types import OrganizationType
from app.organizations import service


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Change the organization's name, zone or booking rules (ADMIN).")
    async def update_organization_settings(
        self, info: Info, input: UpdateOrganizationSettingsInput
    ) -> OrganizationPayload:
        async def action(session, principal):
            updated = await service.update_settings(session, principal, given_changes(input))
            return OrganizationPayload(organization=OrganizationType.from_model(updated))

        return await run_mutation(info, OrganizationPayload, action)
