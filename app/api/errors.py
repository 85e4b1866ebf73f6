"""How errors reach clients: userErrors on payloads, codes on top-level errors, masking."""

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions import MaskErrors

from app.api.context import Info
from app.auth import Principal
from app.db import is_unavailable
from app.errors import AppError, UserError, UserErrorCode

logger = logging.getLogger(__name__)

SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly."

Payload = TypeVar("Payload")

UserErrorCodeType = strawberry.enum(
    UserErrorCode, name="UserErrorCode",
    description="Stable codes of business-rule refusals, for clients to branch on.",
)


@strawberry.type(name="UserError", description="A business-rule refusal; nothing was written.")
class UserErrorType:
    code: UserErrorCodeType = strawberry.field(description="What kind of refusal, stably.")
    message: str = strawberry.field(description="Says why, in English, for a person.")
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "endTime"].'
    )

    @classmethod
    def from_error(cls, error: UserError) -> "UserErrorType":
        return cls(code=error.code, message=error.message, field=error.field)


async def run_mutation(
    info: Info,
    payload_type: Callable[..., Payload],
    action: Callable[[AsyncSession, Principal], Awaitable[Payload]],
) -> Payload:
    """Runs `action` in one transaction of the caller's organization.

    A business-rule refusal rolls the whole transaction back and comes back as
    the payload's `userErrors`; access errors propagate as top-level errors.
    """
    context = info.context
    context.require_authentication()
    context.wrote = True
    try:
        async with context.db.transaction(context.organization_id,
                                          actor_id=context.claims.user_id) as session:
            # In the mutation's own transaction: one connection and transaction, not two.
            return await action(session, await context.principal(session))
    except UserError as error:
        return payload_type(user_errors=[UserErrorType.from_error(error)])


def _is_unexpected(error: GraphQLError) -> bool:
    # Parse, validation and variable-coercion errors have no path: the client's
    # fault, with a useful message. Our AppErrors carry a code. Anything else
    # raised while resolving a field is a bug whose details must not leak.
    original = error.original_error
    return (
        error.path is not None
        and original is not None
        and not isinstance(original, (AppError, GraphQLError))
    )


class MaskUnexpectedErrors(MaskErrors):
    """Hide internal failures behind INTERNAL_SERVER_ERROR; keep the client's own errors."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if is_unavailable(error.original_error):
            # An outage, not a bug: one line per error, no traceback, and a code clients retry on.
            logger.warning("database unavailable in %s: %r", error.path, error.original_error)
            masked = super().anonymise_error(error)
            masked.message = DATABASE_UNAVAILABLE_MESSAGE
            masked.extensions = {"code": SERVICE_UNAVAILABLE}
            return masked
        logger.error("unexpected error in %s", error.path, exc_info=error.original_error)
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked
