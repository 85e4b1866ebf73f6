"""The root schema: each domain module contributes its Query and Mutation fields."""

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from app.api.context import Info
from app.api.errors import MaskUnexpectedErrors
from app.api.nodes import resolve_node
from app.api.types import appointments, credits, organizations, people, scheduling
from app.api.types.common import SCALARS, Node

MAX_QUERY_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID; NOT_FOUND if the caller cannot see it.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)


Query = merge_types(
    "Query",
    (NodeQuery, people.Query, organizations.Query, scheduling.Query, appointments.Query,
     credits.Query),
)
Mutation = merge_types(
    "Mutation",
    (people.Mutation, organizations.Mutation, scheduling.Mutation, appointments.Mutation,
     credits.Mutation),
)

# Types reached only through `node` must still be in the schema.
_NODE_TYPES = [
    appointments.AppointmentType,
    organizations.OrganizationType,
    people.UserType,
    people.ProfessionalType,
    people.StudentType,
    scheduling.AvailabilityRuleType,
    scheduling.TimeOffType,
    scheduling.TimeSlotType,
    credits.CreditTransactionType,
]

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=_NODE_TYPES,
    config=StrawberryConfig(scalar_map=SCALARS),
    extensions=[
        # Classes or factories, never shared instances: an instance would carry
        # state from one request into another.
        MaskUnexpectedErrors,
        ParserCache,
        ValidationCache,
        lambda: QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ],
)
