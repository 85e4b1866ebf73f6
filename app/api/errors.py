"""How errors reach clients: userErrors on payloads, codes on top-level errors, masking."""

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

import strawberry
from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions import MaskErrors, SchemaExtension

from app.api.context import Info
from app.api.http import ProtocolErrorCode
from app.auth import Principal
from app.db import Prefetch, is_unavailable
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
    def from_error(
        cls, error: UserError, info: Info, fields: Mapping[str, Sequence[str]] | None = None
    ) -> "UserErrorType":
        """The refusal as the mutation resolved by `info` reports it; see `input_path`."""
        return cls(code=error.code, message=error.message,
                   field=input_path(info, error.field, fields))


def input_path(
    info: Info, argument: str | None, fields: Mapping[str, Sequence[str]] | None = None
) -> list[str] | None:
    """The path of the mutation's input that a refusal's `argument` came from.

    Domain errors name the service's own argument (e.g. "slot_id"), not the API's shape;
    this is the one place that turns them into input paths. By convention the service's
    argument is the mutation's, in snake case: under a mutation's one `input` object,
    "start_time" is ["input", "startTime"]; among direct arguments (`deleteTimeOff(id:)`),
    "id" would be ["id"]. `fields` holds the mutation's exceptions, argument -> path, e.g.
    {"slot_id": ["input", "timeSlotId"]} or, for `deleteTimeOff`, {"time_off_id": ["id"]}.
    """
    if argument is None:
        return None
    if fields and argument in fields:
        return list(fields[argument])
    name = info.schema.config.name_converter.apply_naming_config(argument)  # camelCase
    return ["input", name] if info.get_argument_definition("input") is not None else [name]


async def run_mutation(
    info: Info,
    payload_type: Callable[..., Payload],
    action: Callable[[AsyncSession, Principal], Awaitable[Payload]],
    *,
    fields: Mapping[str, Sequence[str]] | None = None,
    prefetch: Prefetch | None = None,
) -> Payload:
    """Runs `action` in one transaction of the caller's organization.

    A business-rule refusal rolls the whole transaction back and comes back as
    the payload's `userErrors`; access errors propagate as top-level errors.
    `fields` maps the service arguments whose input path breaks the convention
    of `input_path`, for the refusals' `field`. `prefetch`: what the action reads first,
    which the transaction's setup then reads in the same round trip (`app.db.Prefetch`).
    """
    context = info.context
    context.require_authentication()
    context.wrote = True
    try:
        async with context.db.transaction(context.organization_id, prefetch=prefetch,
                                          actor_id=context.claims.user_id) as session:
            # In the mutation's own transaction: one connection and transaction, not two.
            return await action(session, await context.principal(session))
    except UserError as error:
        return payload_type(user_errors=[UserErrorType.from_error(error, info, fields)])


async def run_public_mutation(
    info: Info,
    payload_type: Callable[..., Payload],
    action: Callable[[], Awaitable[Payload]],
    *,
    fields: Mapping[str, Sequence[str]] | None = None,
) -> Payload:
    """Runs a mutation that needs no login (logging in, signing up, following an emailed
    link), whose `action` opens its own transactions. Refusals become `userErrors`, as in
    `run_mutation`; access errors (RATE_LIMITED) propagate as top-level errors."""
    info.context.wrote = True
    try:
        return await action()
    except UserError as error:
        return payload_type(user_errors=[UserErrorType.from_error(error, info, fields)])


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


class CodeRequestErrors(SchemaExtension):
    """Gives a code to the errors graphql-core reports without one, so every error has one:
    a document that does not parse (GRAPHQL_PARSE_FAILED) or validate
    (GRAPHQL_VALIDATION_FAILED), and variables that do not fit their types (BAD_USER_INPUT).
    app/api/http.py reads these codes to tell a request that ran nothing."""

    def on_operation(self) -> Iterator[None]:
        # A syntax error leaves ParserCache's parse as an exception that skips the on_parse
        # hooks and passes through here; without the cache it is a pre-execution error.
        try:
            yield
        except GraphQLError as error:
            if self.execution_context.graphql_document is None:
                _code([error], ProtocolErrorCode.GRAPHQL_PARSE_FAILED)
            raise
        context = self.execution_context
        if context.graphql_document is None and context.result is not None:
            _code(context.result.errors, ProtocolErrorCode.GRAPHQL_PARSE_FAILED)

    def on_validate(self) -> Iterator[None]:
        yield
        _code(self.execution_context.pre_execution_errors,
              ProtocolErrorCode.GRAPHQL_VALIDATION_FAILED)

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        # The spec's rule that Strawberry bends (it runs the first operation): without an
        # operation name, a document must hold exactly one. A result set here is not executed.
        operations = [definition for definition in context.graphql_document.definitions
                      if isinstance(definition, OperationDefinitionNode)]
        if len(operations) > 1 and context._provided_operation_name is None:
            context.result = ExecutionResult(data=None, errors=[GraphQLError(
                "This document holds several operations: say which to run in `operationName`.",
                extensions={"code": ProtocolErrorCode.GRAPHQL_VALIDATION_FAILED})])
        yield
        result = self.execution_context.result
        # Errors of a result without data and without a path come from coercing the
        # variables, before any field ran; a field's error always has its path.
        if result is not None and getattr(result, "data", None) is None:
            _code((error for error in result.errors or () if error.path is None),
                  ProtocolErrorCode.BAD_USER_INPUT)


def _code(errors: Iterable[GraphQLError] | None, code: ProtocolErrorCode) -> None:
    for error in errors or ():
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": code}
