"""The root schema: each domain module contributes its Query and Mutation fields."""

from collections.abc import Callable, Sequence

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from app.api.context import Info
from app.api.errors import CodeRequestErrors, MaskUnexpectedErrors
from app.api.execution import FastQueryExecution
from app.api.nodes import resolve_node
from app.api.types import appointments, credits, organizations, people, scheduling
from app.api.types.common import SCALARS, Node
from app.api.types.subscriptions import Subscription

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

class _Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Strawberry's default logs every error, a client's typo included, at ERROR with a
        # traceback: a flood any caller can cause. Each operation's error codes are logged by
        # app/api/observability.py, and unexpected errors with their traceback by
        # MaskUnexpectedErrors.
        return None

# The limiters' validation rules, made once. ValidationCache keys its cache on the rule
# classes, and every QueryDepthLimiter or MaxAliasesLimiter makes classes of its own: a
# fresh limiter per request made every request miss the cache and validate its document
# again (a third of a small query's time).
_LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


def build_schema(
    *,
    introspection: bool = True,
    fast_queries: bool = True,
    extensions: Sequence[Callable[[], SchemaExtension] | type[SchemaExtension]] = (),
) -> strawberry.Schema:
    """The schema, with the server's limits; `create_app` builds one from the settings.

    `fast_queries=False` runs every operation on graphql-core's executor alone (see
    app/api/execution.py).
    """
    return _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=_NODE_TYPES,
        execution_context_class=FastQueryExecution if fast_queries else None,
        config=StrawberryConfig(scalar_map=SCALARS),
        extensions=[
            # Classes or factories, never shared instances: an instance would carry
            # state from one request into another.
            MaskUnexpectedErrors,
            CodeRequestErrors,
            ParserCache,
            ValidationCache,
            lambda: AddValidationRules(_LIMIT_RULES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            *([] if introspection else [DisableIntrospection]),
            *extensions,
        ],
    )


# The schema with default limits: what `bookings export-schema` writes and tests introspect.
schema = build_schema()
