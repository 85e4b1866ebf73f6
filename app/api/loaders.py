"""Per-request DataLoaders: every relation a list can ask for is fetched in one batch."""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from app.people import repository as people

if TYPE_CHECKING:
    from app.api.context import Context

Fetch = Callable[[AsyncSession, list[Any]], Awaitable[Iterable[Any]]]


def _one_each(context: "Context", fetch: Fetch, key: Callable[[Any], Hashable]) -> DataLoader:
    """Loads objects by key; a missing key loads None."""

    async def load(keys: list[Any]) -> list[Any]:
        async with context.reading() as session:
            found = {key(item): item for item in await fetch(session, keys)}
        return [found.get(wanted) for wanted in keys]

    return DataLoader(load_fn=load)


def _many_each(context: "Context", fetch: Fetch, key: Callable[[Any], Hashable]) -> DataLoader:
    """Loads the list of objects that belong to each key (in fetch order)."""

    async def load(keys: list[Any]) -> list[list[Any]]:
        grouped: dict[Hashable, list[Any]] = defaultdict(list)
        async with context.reading() as session:
            for item in await fetch(session, keys):
                grouped[key(item)].append(item)
        return [grouped.get(wanted, []) for wanted in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """The loaders of one request; none outlives it, so none can serve stale or foreign rows."""

    def __init__(self, context: "Context") -> None:
        by_id = lambda item: item.id  # noqa: E731
        self.user = _one_each(context, people.get_users, by_id)
        self.professional = _one_each(context, people.get_professionals, by_id)
        self.student = _one_each(context, people.get_students, by_id)
        self.students_of_guardian = _many_each(
            context, people.get_students_of_guardians, lambda student: student.guardian_id
        )
