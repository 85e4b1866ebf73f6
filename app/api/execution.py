"""Query execution without graphql-core's per-field cost, for the answers that go well.

graphql-core completes every field of every object through its general machinery: a
resolve info, a path, middleware, an awaitable check and a dispatch on the field's type,
about 3 µs a field. A calendar's week of slots has a thousand fields, so that machinery,
not the database, set the pace of our read paths.

`FastQueryExecution` keeps graphql-core's meaning and does less work for it:

- fields are collected by graphql-core's own `collect_fields`/`collect_subfields` (so
  fragments, aliases, `@skip` and `@include` mean exactly what they mean there), once per
  selection and type in a request, not once per object;
- the completer of each field (non-null, list, object, leaf) is chosen once, so each value
  costs one call, not a dispatch on its type;
- a plain field (no resolver of its own) is read straight off the object; a field with a
  resolver gets the same resolve info graphql-core would give it;
- awaitables are gathered level by level, so sibling resolvers still run together and
  DataLoaders still batch.

It takes only the road without incidents. A resolver error, a null in a non-null field,
an abstract type, `@defer`/`@stream`, introspection, resolver middleware, a mutation or a
subscription: the operation is left to graphql-core's executor, which runs it (again) from
the start and reports any error with its path and location, as always. Only queries take
the fast road, and running a query a second time changes nothing; the request's context
is first asked to forget the failed attempt's work (`start_over`), so that a read session
a failed statement left unusable does not change what graphql-core reports.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    OperationType,
)
from graphql.execution.collect_fields import FieldDetails, collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined
from graphql.type.definition import get_named_type, get_nullable_type, is_leaf_type, is_object_type
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

Completer = Callable[[Any, Path], Any]

# The road a query took when the fast road opened: "fast", or "handed-over" (it gave the
# query to graphql-core). app/api/observability.py counts them in /metrics, and a query that
# ran with neither as "graphql-core", so a library upgrade that closes the fast road shows
# there, not only in latency.
roads_taken: ContextVar[list[str] | None] = ContextVar("roads_taken", default=None)


def _took(road: str) -> None:
    taken = roads_taken.get()
    if taken is not None:
        taken.append(road)


class _OffTheFastRoad(Exception):
    """Something graphql-core must handle (and report): the operation goes to it."""


@dataclass(slots=True)
class _Field:
    """One response key of a selection, for one parent type, ready to resolve."""

    key: str
    read: Callable[[Any], Any] | None  # a plain field's value off its object
    resolve: Callable[..., Any] | None  # or the field's own resolver
    arguments: dict[str, Any]
    definition: GraphQLField | None
    nodes: list[FieldNode]
    complete: Completer
    has_path: bool  # objects and lists pass their path on; leaves need none


@dataclass(slots=True)
class _Pending:
    """An awaitable a resolver returned, and where its completed value goes."""

    awaitable: Awaitable[Any]
    field: _Field
    target: dict[str, Any]
    path: Path  # the field's


class FastQueryExecution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with a fast road for queries that resolve without incident."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        if not self._fast_road_open():
            return super().execute_operation(serially)
        self._pending: list[_Pending] = []
        try:
            data = self._complete_root()
        except Exception:  # noqa: BLE001 - graphql-core runs it again and reports what happened
            return self._hand_over()
        if not self._pending:  # nothing to await: stay synchronous, as graphql-core would
            _took("fast")
            return ExecutionResult(data, None)
        return self._settle(data)

    def _fast_road_open(self) -> bool:
        return (
            self.operation.operation is OperationType.QUERY
            # Strawberry passes a manager even when no extension has a `resolve` hook.
            and not (self.middleware_manager and self.middleware_manager.middlewares)
            and self.abort_signal is None
            and self.schema.query_type is not None
        )

    def _hand_over(self) -> Any:
        """The operation on graphql-core's own executor, from the start."""
        _took("handed-over")
        for pending in self._pending:  # started, never awaited: close them quietly
            close = getattr(pending.awaitable, "close", None)
            if close is not None:
                close()
        self._pending = []
        return super().execute_operation()

    def _complete_root(self) -> dict[str, Any]:
        root_type = self.schema.query_type
        collected = self._collect(lambda: collect_fields(
            self.schema, self.fragments, self.variable_values, root_type, self.operation,
            self.hide_suggestions))
        fields = [self._plan_field(root_type, key, details)
                  for key, details in collected.items()]  # planned once per request
        return self._complete_fields(fields, root_type, self.root_value, None)

    async def _settle(self, data: dict[str, Any]) -> ExecutionResult:
        """Awaits what resolvers returned, a level at a time, completing each value."""
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                if len(batch) == 1:  # one root field, say: no need for gather's tasks
                    values = [await batch[0].awaitable]
                else:
                    values = await asyncio.gather(*(p.awaitable for p in batch),
                                                  return_exceptions=True)
                for pending, value in zip(batch, values, strict=True):
                    if isinstance(value, BaseException):
                        if not isinstance(value, Exception):
                            raise value  # a cancellation goes on up, as it would have
                        raise _OffTheFastRoad from value
                    pending.target[pending.field.key] = pending.field.complete(value,
                                                                               pending.path)
        except Exception:  # noqa: BLE001 - graphql-core runs it again and reports what happened
            await self._start_over()
            result = self._hand_over()
            return await result if self.is_awaitable(result) else result
        _took("fast")
        return ExecutionResult(data, None)

    async def _start_over(self) -> None:
        """Resolvers ran and one failed: the request's context forgets their work, if it
        can, so that graphql-core starts as clean as we did. (Our Context drops its read
        session: after a failed statement, or a lost connection, it is unusable, and
        graphql-core's attempt would report that instead of the real failure.)"""
        start_over = getattr(self.context_value, "start_over", None)
        if start_over is not None:
            await start_over()

    # ---- planning -----------------------------------------------------------------

    def _collect(self, collect: Callable[[], Any]) -> dict[str, list[FieldDetails]]:
        grouped_field_set, new_defer_usages, forbidden = collect()
        if new_defer_usages or forbidden:
            raise _OffTheFastRoad  # @defer / @stream
        return grouped_field_set

    def _selection(self, parent_type: GraphQLObjectType,
                   details: list[FieldDetails]) -> list[_Field]:
        """The planned fields of `parent_type` under the nodes of `details`."""
        collected = self._collect(lambda: collect_subfields(
            self.schema, self.fragments, self.variable_values, self.operation,
            parent_type, details, self.hide_suggestions))
        return [self._plan_field(parent_type, key, field_details)
                for key, field_details in collected.items()]

    def _plan_field(self, parent_type: GraphQLObjectType, key: str,
                    details: list[FieldDetails]) -> _Field:
        first = details[0]
        name = first.node.name.value
        if name.startswith("__"):
            if name != "__typename":
                raise _OffTheFastRoad  # introspection
            typename = parent_type.name
            return _Field(key, lambda _source: typename, None, {}, None, [],
                          _leaf_completer(GraphQLString), has_path=False)
        definition = self.schema.get_field(parent_type, name)
        if definition is None:
            raise _OffTheFastRoad
        arguments = (get_argument_values(definition, first.node, self.variable_values,
                                         first.fragment_variable_values, self.hide_suggestions)
                     if definition.args or first.node.arguments else {})
        read = _plain_reader(definition)
        return _Field(key, read, None if read else definition.resolve, arguments, definition,
                      [detail.node for detail in details],
                      self._completer(definition.type, details),
                      has_path=not is_leaf_type(get_nullable_type(definition.type)))

    def _completer(self, return_type: GraphQLOutputType,
                   details: list[FieldDetails]) -> Completer:
        if isinstance(return_type, GraphQLNonNull):
            inner = self._completer(return_type.of_type, details)

            def complete_non_null(value: Any, path: Path) -> Any:
                completed = inner(value, path)
                if completed is None:
                    raise _OffTheFastRoad  # graphql-core reports the null and where
                return completed

            return complete_non_null

        if isinstance(return_type, GraphQLList):
            complete_item = self._completer(return_type.of_type, details)
            items_have_paths = not is_leaf_type(get_named_type(return_type))

            def complete_list(value: Any, path: Path) -> Any:
                if value is None:
                    return None
                if not isinstance(value, list | tuple):
                    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
                        raise _OffTheFastRoad  # not a list: graphql-core reports it
                    value = list(value)
                if not items_have_paths:
                    return [complete_item(item, None) for item in value]
                return [complete_item(item, Path(path, index, None))
                        for index, item in enumerate(value)]

            return complete_list

        if is_leaf_type(return_type):
            return _leaf_completer(return_type)

        if is_object_type(return_type):
            return self._object_completer(return_type, details)

        raise _OffTheFastRoad  # interfaces and unions: graphql-core resolves the type

    def _object_completer(self, object_type: GraphQLObjectType,
                          details: list[FieldDetails]) -> Completer:
        is_type_of = object_type.is_type_of
        # Planned on the first object, then shared by every object of a list; an empty
        # list needs no plan (and graphql-core would not look at its arguments either).
        fields: list[_Field] | None = None

        def complete_object(value: Any, path: Path) -> Any:
            nonlocal fields
            if value is None:
                return None
            if is_type_of is not None and not is_type_of(value, None):
                raise _OffTheFastRoad  # graphql-core reports the wrong type
            if fields is None:
                fields = self._selection(object_type, details)
            return self._complete_fields(fields, object_type, value, path)

        return complete_object

    # ---- completing ---------------------------------------------------------------

    def _complete_fields(self, fields: list[_Field], parent_type: GraphQLObjectType,
                         source: Any, path: Path | None) -> dict[str, Any]:
        completed: dict[str, Any] = {}
        for field in fields:
            if field.read is not None:
                completed[field.key] = field.complete(
                    field.read(source),
                    Path(path, field.key, parent_type.name) if field.has_path else None)
                continue
            field_path = Path(path, field.key, parent_type.name)
            info = self.build_resolve_info(field.definition, field.nodes, parent_type, field_path)
            value = field.resolve(source, info, **field.arguments)
            if self.is_awaitable(value):
                completed[field.key] = None  # keeps the key's place in the answer
                self._pending.append(_Pending(value, field, completed, field_path))
            else:
                completed[field.key] = field.complete(value, field_path)
        return completed


def _plain_reader(definition: GraphQLField) -> Callable[[Any], Any] | None:
    """How to read a plain field (no resolver of its own) straight off its object.

    Strawberry gives such a field a resolver that reads the attribute through the
    config's default resolver; with the default one (getattr) we read it ourselves.
    """
    strawberry_field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (strawberry_field is not None and getattr(definition.resolve, "_is_default", False)
            and strawberry_field.default_resolver is getattr):
        return attrgetter(strawberry_field.python_name)
    if definition.resolve is None:
        raise _OffTheFastRoad  # graphql-core's default resolver also reads dicts
    return None


def _leaf_completer(leaf_type: GraphQLLeafType) -> Completer:
    coerce = leaf_type.coerce_output_value

    def complete_leaf(value: Any, _path: Path) -> Any:
        if value is None:
            return None
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _OffTheFastRoad
        return coerced

    return complete_leaf

