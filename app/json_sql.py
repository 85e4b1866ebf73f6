"""JSON answers built by PostgreSQL, byte for byte what the API's serializers make of the same
rows, so that the server can splice them into an answer without decoding them.

A hot read (docs/architecture.md, hot paths) asks the database for the JSON of its objects
instead of rows to turn into objects and then into JSON. What each object holds is a
`Projection`: the keys the client selected, each read off a column, made a global ID, a
constant, or the projection of a related row. The repositories own their statements (which
rows, in which order, under which rule) and render their rows with `row_json`.

The JSON is compact text, not PostgreSQL's `json` type, whose output puts spaces around
colons: the bytes must equal orjson's, so that both of the server's roads answer the same.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Enum,
    FromClause,
    Integer,
    Table,
    Text,
    case,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by


@dataclass(frozen=True, slots=True)
class Column:
    """A column's value, encoded by its type."""

    key: str
    column: str


@dataclass(frozen=True, slots=True)
class GlobalId:
    """The row's global ID, as app/global_ids.py encodes it."""

    key: str
    type_name: str
    column: str = "id"


@dataclass(frozen=True, slots=True)
class Constant:
    """A fixed string, e.g. a `__typename`."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Related:
    """The row of `table` whose `id` the foreign key `column` holds (null if it holds none)."""

    key: str
    column: str
    table: Table
    projection: "Projection"


Field = Column | GlobalId | Constant | Related
Projection = tuple[Field, ...]


def constant(text: str) -> ColumnElement[str]:
    """A string constant written into the statement (keys are GraphQL names, so they never
    need escaping; quotes are doubled all the same)."""
    return literal_column("'" + text.replace("'", "''") + "'", Text)


def json_string(text: str) -> str:
    """A JSON string literal of a name or a constant made of plain characters."""
    if any(char in text for char in '"\\') or any(ord(char) < 0x20 for char in text):
        raise ValueError(f"not a plain name: {text!r}")
    return f'"{text}"'


_NULL = constant("null")


def value_json(expression: ColumnElement) -> ColumnElement[str]:
    """The JSON text of a column value, as the API's scalar would serialize it."""
    type_ = expression.type
    if isinstance(type_, DateTime):
        # datetime.isoformat() of a UTC value shows microseconds only when there are some.
        # (to_char's escape for a quote: \")
        text = func.to_char(func.timezone(constant("UTC"), expression),
                            constant('\\"YYYY-MM-DD"T"HH24:MI:SS.US+00:00\\"'))
        return func.coalesce(func.replace(text, constant(".000000+"), constant("+")), _NULL)
    if isinstance(type_, Date):
        return case((expression.is_(None), _NULL),
                    else_=func.concat(constant('"'), func.to_char(expression,
                                                                   constant("YYYY-MM-DD")),
                                      constant('"')))
    if isinstance(type_, Boolean):
        return case((expression.is_(True), constant("true")),
                    (expression.is_(False), constant("false")), else_=_NULL)
    if isinstance(type_, Integer):
        return func.coalesce(cast(expression, Text), _NULL)
    if isinstance(type_, Enum):
        expression = cast(expression, Text)
    return func.coalesce(cast(func.to_json(expression), Text), _NULL)


def global_id_json(type_name: str, pk: ColumnElement) -> ColumnElement[str]:
    """'"<base64url of Type:pk, unpadded>"', as app/global_ids.encode makes it."""
    base64 = func.encode(func.convert_to(func.concat(constant(f"{type_name}:"), pk),
                                         constant("UTF8")), constant("base64"))
    return func.concat(constant('"'), func.rtrim(func.translate(base64, constant("+/"),
                                                                constant("-_")),
                                                 constant("=")), constant('"'))


def object_json(members: Sequence[tuple[str, ColumnElement[str]]]) -> ColumnElement[str]:
    """'{"key":value,...}' of (key, JSON text) pairs, in order."""
    parts: list[ColumnElement[str]] = []
    for index, (key, value) in enumerate(members):
        parts.append(constant(("{" if index == 0 else ",") + json_string(key) + ":"))
        parts.append(value)
    parts.append(constant("}" if members else "{}"))
    return _joined(parts)


def _joined(parts: Sequence[ColumnElement[str]]) -> ColumnElement[str]:
    """a || b || ...: cheaper than concat() by a third per row (every part is non-null)."""
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||")(part)
    return joined


def array_json(element: ColumnElement[str], *order_by: ColumnElement) -> ColumnElement[str]:
    """An aggregate: '[element,...]' over the group's rows, in `order_by` order ('[]' if none)."""
    return func.concat(constant("["), func.array_to_string(
        func.array_agg(aggregate_order_by(element, *order_by)), constant(",")), constant("]"))


def row_json(projection: Projection, row: FromClause) -> ColumnElement[str]:
    """The JSON object of one row of `row` (a table or an alias of it), as `projection` says."""
    return object_json([(field.key, _field_json(field, row)) for field in projection])


def _field_json(field: Field, row: FromClause) -> ColumnElement[str]:
    match field:
        case Column(column=column):
            return value_json(row.c[column])
        case GlobalId(type_name=type_name, column=column):
            return global_id_json(type_name, row.c[column])
        case Constant(value=value):
            return constant(json_string(value))
        case Related(column=column, table=table, projection=projection):
            related = table.alias()
            found = (select(row_json(projection, related))
                     .where(related.c.id == row.c[column])
                     .scalar_subquery())
            return func.coalesce(found, _NULL)
    raise TypeError(f"not a projection field: {field!r}")
