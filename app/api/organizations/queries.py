"""Reading the organization: the `organization` query, and the organization by its global ID
(`node`)."""

import strawberry

from app.api.context import Info
from app.api.nodes import node_resolver
from app.api.organizations.types import OrganizationType
from app.errors import NotFound
from app.organizations import service


async def organization(info: Info) -> OrganizationType:
    await info.context.principal()
    async with info.context.reading() as session:
        return OrganizationType.from_model(await service.get_current(session))


@node_resolver("Organization")
async def resolve_organization(info: Info, pk: int) -> OrganizationType:
    await info.context.principal()
    if pk != info.context.organization_id:
        raise NotFound("No such organization.")
    return await organization(info)


@strawberry.type
class Query:
    organization: OrganizationType = strawberry.field(
        resolver=organization, description="The caller's organization."
    )
