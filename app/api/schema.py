"""The root schema: each domain package contributes its Query and Mutation fields.

Importing a domain's queries.py also registers its node resolvers (app/api/nodes.py) and the
resolvers it supplies to the domains below it (app/api/supplied.py): every module that does
must be imported here.
"""

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

# The compiled roots and shapes of the hot queries (app/api/compiled.py): registered on import.
from app.api.appointments import compiled as _appointments_compiled  # noqa: F401
from app.api.appointments import mutations as appointments_mutations
from app.api.appointments import queries as appointments_queries
from app.api.appointments.types import AppointmentType
from app.api.common import SCALARS, Node
from app.api.context import Info
from app.api.credits import compiled as _credits_compiled  # noqa: F401
from app.api.credits import mutations as credits_mutations
from app.api.credits import queries as credits_queries
from app.api.credits.types import CreditTransactionType
from app.api.errors import CodeRequestErrors, MaskUnexpectedErrors
from app.api.execution import FastQueryExecution
from app.api.nodes import resolve_node
from app.api.organizations import mutations as organizations_mutations
from app.api.organizations import queries as organizations_queries
from app.api.organizations.types import OrganizationType
from app.api.people import compiled as _people_compiled  # noqa: F401
from app.api.people import mutations as people_mutations
from app.api.people import queries as people_queries
from app.api.people.types import ProfessionalType, StudentType, UserType
from app.api.reports import queries as reports_queries
from app.api.scheduling import compiled as _scheduling_compiled  # noqa: F401
from app.api.scheduling import mutations as scheduling_mutations
from app.api.scheduling import queries as scheduling_queries
from app.api.scheduling.types import AvailabilityRuleType, TimeOffType, TimeSlotType
from app.api.subscriptions import Subscription
from app.api.supplied import check_all_supplied
from app.api.webhooks import mutations as webhooks_mutations
from app.api.webhooks import queries as webhooks_queries
from app.api.webhooks.types import WebhookDeliveryType, WebhookEndpointType

MAX_QUERY_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID; NOT_FOUND if the caller cannot see it.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)


# The order of the domains is the order of the fields in the schema.
Query = merge_types(
    "Query",
    (NodeQuery, people_queries.Query, organizations_queries.Query, scheduling_queries.Query,
     appointments_queries.Query, credits_queries.Query, reports_queries.Query,
     webhooks_queries.Query),
)
Mutation = merge_types(
    "Mutation",
    (people_mutations.Mutation, organizations_mutations.Mutation, scheduling_mutations.Mutation,
     appointments_mutations.Mutation, credits_mutations.Mutation, webhooks_mutations.Mutation),
)

# Every domain is imported by now, so every resolver a lower domain declared is supplied.
check_all_supplied()

# Types reached only through `node` must still be in the schema.
_NODE_TYPES = [
    AppointmentType,
    OrganizationType,
    UserType,
    ProfessionalType,
    StudentType,
    AvailabilityRuleType,
    TimeOffType,
    TimeSlotType,
    CreditTransactionType,
    WebhookEndpointType,
    WebhookDeliveryType,
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
