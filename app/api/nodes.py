"""`node(id)`: which function resolves each type of global ID."""

from collections.abc import Awaitable, Callable
from typing import Any

from app import global_ids as ids
from app.api.context import Info
from app.errors import NotFound

NodeResolver = Callable[[Info, int], Awaitable[Any]]

_resolvers: dict[str, NodeResolver] = {}


def node_resolver(type_name: str) -> Callable[[NodeResolver], NodeResolver]:
    """Registers the function that fetches a `type_name` the caller may see, by primary key."""

    def register(resolver: NodeResolver) -> NodeResolver:
        _resolvers[type_name] = resolver
        return resolver

    return register


async def resolve_node(info: Info, global_id: str) -> Any:
    parsed = ids.parse(global_id)
    resolver = _resolvers.get(parsed[0]) if parsed else None
    if parsed is None or resolver is None:
        raise NotFound(f"No object with ID {global_id!r}.")
    return await resolver(info, parsed[1])
