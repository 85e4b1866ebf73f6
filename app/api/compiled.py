"""Compiled queries: the hot read operations answered with JSON that PostgreSQL builds.

A query document that has run once without an error on the general road (Strawberry and
graphql-core: parse, validate, limits, execution) is compiled, if every root field it asks
for has a compiler (`root_compiler`), into a `Plan`, kept per (document, operation name) in
a bounded LRU. The next time the document comes, the plan runs instead:

- the variables are coerced by graphql-core (a variable that does not fit its type sends the
  request back to the general road, which reports it);
- each root field's compiler built, once, the statement that selects exactly the fields the
  client asked for as JSON text (app/json_sql.py); per request it checks the arguments with
  the domain's own functions and runs its statements in the request's read session;
- the JSON comes back as `orjson.Fragment`s, spliced into the answer without decoding.

The plan covers only answers without an error. When anything raises (a refusal, an unknown
ID, a lost connection), the request's context forgets the attempt (`start_over`) and the
operation runs again on the general road, which reports the error with its path, as it
always has. Reads only, so running them twice changes nothing.

What the database shapes must equal what the general road answers, byte for byte:
tests/api/test_compiled_queries.py sends each document to both roads and compares.
"""

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)
from graphql.execution.values import get_argument_values, get_variable_values
from sqlalchemy import Table

from app import json_sql
from app.api.context import Context

PLAN_CACHE_SIZE = 512


class NotCompilable(Exception):
    """The selection asks for something only the general road answers."""


# ---- selections --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selected:
    """One response key of a selection: the field it reads and the selection under it."""

    key: str
    name: str
    node: FieldNode
    selection_set: SelectionSetNode | None


class Selection:
    """The fields of a selection set, with fragments spread in; only what can be compiled
    without variables deciding it (no @skip/@include, no fragment on another type)."""

    def __init__(self, selection_set: SelectionSetNode, type_name: str,
                 fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.type_name = type_name
        self.fields: dict[str, Selected] = {}
        self._collect(selection_set, fragments)

    def _collect(self, selection_set: SelectionSetNode,
                 fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        for node in selection_set.selections:
            if node.directives:
                raise NotCompilable("directives")
            if isinstance(node, FieldNode):
                self._add(node)
                continue
            if isinstance(node, FragmentSpreadNode):
                fragment = fragments.get(node.name.value)
                if fragment is None or fragment.type_condition.name.value != self.type_name:
                    raise NotCompilable("fragment on another type")
                if fragment.directives:
                    raise NotCompilable("directives")
                self._collect(fragment.selection_set, fragments)
                continue
            if isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                if condition is not None and condition.name.value != self.type_name:
                    raise NotCompilable("fragment on another type")
                self._collect(node.selection_set, fragments)
                continue
            raise NotCompilable("unknown selection")

    def _add(self, node: FieldNode) -> None:
        key = node.alias.value if node.alias else node.name.value
        earlier = self.fields.get(key)
        if earlier is not None:
            # The same leaf asked twice is one value; merging two sub-selections is the
            # general road's business.
            if earlier.name != node.name.value or node.selection_set or node.arguments:
                raise NotCompilable("merged fields")
            return
        self.fields[key] = Selected(key, node.name.value, node, node.selection_set)

    def __iter__(self):
        return iter(self.fields.values())

    def only(self, *names: str) -> None:
        """NotCompilable unless every field is one of `names` (or __typename)."""
        for selected in self:
            if selected.name not in names and selected.name != "__typename":
                raise NotCompilable(f"{self.type_name}.{selected.name}")
            if selected.node.arguments:
                raise NotCompilable("field arguments")


class Compiler:
    """What a root field's compiler may ask: the selection of a field, and projections of
    the object types that have a `Shape`."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments

    def selection(self, selected: Selected, type_name: str) -> Selection:
        if selected.selection_set is None:
            raise NotCompilable("no selection")
        return Selection(selected.selection_set, type_name, self.fragments)

    def projection(self, selected: Selected, type_name: str) -> json_sql.Projection:
        """The projection of a field of object type `type_name` (which must have a Shape)."""
        shape = SHAPES.get(type_name)
        if shape is None:
            raise NotCompilable(type_name)
        fields: list[json_sql.Field] = []
        for field in self.selection(selected, type_name):
            if field.node.arguments:
                raise NotCompilable("field arguments")
            if field.name == "__typename":
                fields.append(json_sql.Constant(field.key, type_name))
            elif field.name == "id" and shape.global_id is not None:
                fields.append(json_sql.GlobalId(field.key, shape.global_id,
                                                shape.global_id_column))
            elif field.name in shape.columns:
                fields.append(json_sql.Column(field.key, shape.columns[field.name]))
            elif field.name in shape.relations:
                column, target = shape.relations[field.name]
                fields.append(json_sql.Related(field.key, column, SHAPES[target].table,
                                               self.projection(field, target)))
            else:
                raise NotCompilable(f"{type_name}.{field.name}")
        return tuple(fields)


@dataclass(frozen=True)
class Shape:
    """How the plain fields of a GraphQL object type read off its table: the fields whose
    value is a column as it is (no rule decides who sees it), and the relations that are
    a foreign key to another shaped type. Anything else is for the general road."""

    table: Table
    global_id: str | None  # the type name its `id` encodes, if it has one
    columns: Mapping[str, str]  # GraphQL field -> column
    relations: Mapping[str, tuple[str, str]] = ()  # GraphQL field -> (foreign key, type)
    global_id_column: str = "id"  # the column its `id` encodes


SHAPES: dict[str, Shape] = {}


def shape(type_name: str, shape_: Shape) -> None:
    """Declares how a GraphQL object type reads off its table (app/api/<domain>/compiled.py)."""
    SHAPES[type_name] = shape_


# ---- root fields -------------------------------------------------------------------------

# Runs a compiled root field for one request, given its arguments by their GraphQL names
# (coerced by graphql-core): its value, with Fragments inside.
RootRun = Callable[[Context, dict[str, Any]], Awaitable[Any]]
# Compiles a root field's selection once: the run, or NotCompilable.
RootCompiler = Callable[[Compiler, Selected], RootRun]

_ROOT_COMPILERS: dict[str, RootCompiler] = {}


def root_compiler(field_name: str) -> Callable[[RootCompiler], RootCompiler]:
    """Registers the compiler of a Query field (app/api/<domain>/compiled.py)."""

    def register(compile_root: RootCompiler) -> RootCompiler:
        _ROOT_COMPILERS[field_name] = compile_root
        return compile_root

    return register


# ---- plans -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Root:
    key: str
    definition: GraphQLField
    node: FieldNode
    run: RootRun


@dataclass(frozen=True, slots=True)
class Plan:
    operation: OperationDefinitionNode
    roots: tuple[_Root, ...]

    @property
    def name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None

    @property
    def root_fields(self) -> list[str]:
        return [root.node.name.value for root in self.roots]


_NO_PLAN = object()  # cached for a document the plans do not cover


class CompiledQueries:
    """The plans of the documents this process has seen, and running them."""

    def __init__(self, schema: GraphQLSchema, *, size: int = PLAN_CACHE_SIZE,
                 on_answer: Callable[[Plan, float], None] | None = None) -> None:
        self.schema = schema
        self.size = size
        self.on_answer = on_answer
        self._plans: OrderedDict[tuple[str, str | None], Any] = OrderedDict()

    def plan(self, document: str, operation_name: str | None) -> Plan | None:
        """The document's plan, if it has been compiled."""
        key = (document, operation_name)
        plan = self._plans.get(key)
        if plan is None:
            return None
        self._plans.move_to_end(key)
        return None if plan is _NO_PLAN else plan

    def seen(self, document: str, operation_name: str | None) -> bool:
        return (document, operation_name) in self._plans

    def learn(self, document: str, operation_name: str | None) -> None:
        """Compiles a document that has just run well on the general road (so it parses,
        validates and keeps the limits), or remembers that it cannot be compiled."""
        try:
            plan: Any = self._compile(document, operation_name)
        except NotCompilable:
            plan = _NO_PLAN
        self._plans[(document, operation_name)] = plan
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)

    def _compile(self, document: str, operation_name: str | None) -> Plan:
        parsed = parse(document)
        operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
        fragments = {d.name.value: d for d in parsed.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        operation = next((o for o in operations if operation_name is None
                          or (o.name is not None and o.name.value == operation_name)), None)
        if operation is None or operation.operation is not OperationType.QUERY:
            raise NotCompilable("not a query")
        if operation.directives:
            raise NotCompilable("directives")
        compiler = Compiler(fragments)
        query_type = self.schema.query_type
        roots = []
        for selected in Selection(operation.selection_set, query_type.name, fragments):
            compile_root = _ROOT_COMPILERS.get(selected.name)
            if compile_root is None:
                raise NotCompilable(f"Query.{selected.name}")
            roots.append(_Root(selected.key, query_type.fields[selected.name], selected.node,
                               compile_root(compiler, selected)))
        return Plan(operation, tuple(roots))

    async def run(self, plan: Plan, variables: dict[str, Any] | None,
                  context: Context) -> dict[str, Any] | None:
        """The answer, or None: the general road must run the operation (and say why)."""
        started = time.perf_counter()
        coerced = get_variable_values(self.schema, plan.operation.variable_definitions or (),
                                      variables or {})
        if isinstance(coerced, list):  # variables that do not fit: the general road says so
            return None
        data: dict[str, Any] = {}
        context.on_driver = True  # reads without an ORM session (app/driver_sql.py)
        try:
            for root in plan.roots:
                arguments = get_argument_values(root.definition, root.node, coerced)
                data[root.key] = await root.run(context, arguments)
        except Exception:  # noqa: BLE001 - the general road runs it again and reports it
            await context.start_over()
            return None
        finally:
            context.on_driver = False
        if self.on_answer is not None:
            self.on_answer(plan, time.perf_counter() - started)
        return {"data": data}


class HandBack(Exception):
    """Raised by a plan's run: this request is the general road's (e.g. a value that is
    made, not stored); it runs the operation as if there were no plan."""


def compile_connection(compiler: Compiler, selected: Selected, node_type: str,
                       ) -> tuple[json_sql.Projection, Callable[[Any], dict[str, Any]]]:
    """A connection field (app/api/common.py: Connection): the projection of its nodes, and
    how to make the connection's JSON of a page of node JSON texts (`pagination.Page`)."""
    connection_type = f"{node_type}Connection"
    edge_type = f"{node_type}Edge"
    selection = compiler.selection(selected, connection_type)
    selection.only("edges", "pageInfo")  # totalCount is a second query: the general road's
    node: json_sql.Projection | None = None
    edge_keys: list[tuple[str, str]] = []
    info_keys: list[tuple[str, str]] = []
    for field in selection:
        if field.name == "edges":
            edges = compiler.selection(field, edge_type)
            edges.only("node", "cursor")
            for part in edges:
                if part.name == "node":
                    if node is not None:
                        raise NotCompilable("node twice")
                    node = compiler.projection(part, node_type)
                edge_keys.append((part.key, part.name))
        elif field.name == "pageInfo":
            info = compiler.selection(field, "PageInfo")
            info.only("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")
            info_keys.extend((part.key, part.name) for part in info)
    projection = node if node is not None else (json_sql.GlobalId("id", node_type),)
    edge_cursors = any(name == "cursor" for _, name in edge_keys)

    def connection(page: Any) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for field in selection:
            if field.name == "__typename":
                answer[field.key] = connection_type
            elif field.name == "edges":
                # A page's cursors are encoded when read (pagination.JsonPages): only if asked.
                cursors = page.cursors if edge_cursors else repeat(None, len(page.items))
                answer[field.key] = [_edge(edge_keys, edge_type, item, cursor)
                                     for item, cursor in zip(page.items, cursors, strict=True)]
            else:
                answer[field.key] = _page_info(info_keys, page)
        return answer

    return projection, connection


def _edge(keys: list[tuple[str, str]], edge_type: str, item: str, cursor: str) -> dict:
    return {key: (orjson.Fragment(item) if name == "node" else cursor if name == "cursor"
                  else edge_type) for key, name in keys}


_PAGE_INFO: dict[str, Callable[[Any], Any]] = {
    "hasNextPage": lambda page: page.has_next_page,
    "hasPreviousPage": lambda page: page.has_previous_page,
    "startCursor": lambda page: page.cursors[0] if page.cursors else None,
    "endCursor": lambda page: page.cursors[-1] if page.cursors else None,
    "__typename": lambda _page: "PageInfo",
}


def _page_info(keys: list[tuple[str, str]], page: Any) -> dict[str, Any]:
    return {key: _PAGE_INFO[name](page) for key, name in keys}


def fragment(json_text: str | None) -> orjson.Fragment | None:
    """JSON text from the database, spliced into the answer as it is."""
    return None if json_text is None else orjson.Fragment(json_text)
