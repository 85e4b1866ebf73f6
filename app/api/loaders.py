"""Per-request DataLoaders: every relation a list can ask for is fetched in one batch."""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from app.appointments import repository as appointments
from app.credits import repository as credits
from app.people import repository as people
from app.scheduling import repository as scheduling
from app.scheduling import service as scheduling_service
from app.webhooks import endpoints as webhooks

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


def _credits_expiring(context: "Context") -> DataLoader:
    """Credits expiring before a time, by (client, time or None for 30 days from now)."""

    async def load(keys: list[tuple[int, datetime | None]]) -> list[int]:
        default = datetime.now(UTC) + timedelta(days=30)
        found: dict[tuple[int, datetime | None], int] = {}
        async with context.reading() as session:
            for before in {at for _, at in keys}:  # one query per distinct time asked for
                users = [user_id for user_id, at in keys if at == before]
                totals = await credits.expiring_before(session, users, before or default)
                found.update({(user_id, before): total for user_id, total in totals.items()})
        return [found.get(key, 0) for key in keys]

    return DataLoader(load_fn=load)


def _by_id(item: Any) -> Hashable:
    return item.id


class Loaders:
    """The loaders of one request; none outlives it, so none can serve stale or foreign rows.

    Each is made when first asked for: a request uses two or three of them, and making
    all of them cost more than some requests' own work.
    """

    def __init__(self, context: "Context") -> None:
        self._context = context

    @cached_property
    def user(self) -> DataLoader:
        return _one_each(self._context, people.get_users, _by_id)

    @cached_property
    def professional(self) -> DataLoader:
        return _one_each(self._context, people.get_professionals, _by_id)

    @cached_property
    def student(self) -> DataLoader:
        return _one_each(self._context, people.get_students, _by_id)

    @cached_property
    def students_of_guardian(self) -> DataLoader:
        return _many_each(self._context, people.get_students_of_guardians,
                          lambda student: student.guardian_id)

    @cached_property
    def availability_rules_of_professional(self) -> DataLoader:
        return _many_each(self._context, scheduling.get_rules_of_professionals,
                          lambda rule: rule.professional_id)

    @cached_property
    def time_off_of_professional(self) -> DataLoader:
        return _time_off_in_range(self._context)

    @cached_property
    def credit_balance(self) -> DataLoader:
        return _one_each(self._context, credits.get_balances, lambda row: row.user_id)

    @cached_property
    def credit_transaction(self) -> DataLoader:
        return _one_each(self._context, credits.get_transactions, _by_id)

    @cached_property
    def credits_expiring(self) -> DataLoader:
        return _credits_expiring(self._context)

    @cached_property
    def appointment(self) -> DataLoader:
        return _one_each(self._context, appointments.get_many, _by_id)

    @cached_property
    def series(self) -> DataLoader:
        return _one_each(self._context, appointments.get_series_many, _by_id)

    @cached_property
    def time_slot(self) -> DataLoader:
        return _one_each(self._context, scheduling.get_slots, _by_id)

    @cached_property
    def live_appointment_of_slot(self) -> DataLoader:
        return _one_each(self._context, appointments.live_of_slots,
                         lambda appointment: appointment.time_slot_id)

    @cached_property
    def credit_transactions_of_appointment(self) -> DataLoader:
        return _many_each(self._context, credits.get_transactions_of_appointments,
                          lambda entry: entry.appointment_id)

    @cached_property
    def webhook_attempts(self) -> DataLoader:
        """A delivery's attempts, by delivery id."""
        return _many_each(self._context, webhooks.attempts_of, lambda item: item.delivery_id)


def _time_off_in_range(context: "Context") -> DataLoader:
    """Time off by (professional id, from, to): one query per distinct range asked for."""

    async def load(keys: list[tuple[int, Any, Any]]) -> list[list[Any]]:
        grouped: dict[Hashable, list[Any]] = defaultdict(list)
        async with context.reading() as session:
            for starts, ends in dict.fromkeys((starts, ends) for _, starts, ends in keys):
                wanted = [professional_id for professional_id, s, e in keys
                          if (s, e) == (starts, ends)]
                for time_off in await scheduling_service.list_time_off(
                    session, wanted, starts, ends
                ):
                    grouped[(time_off.professional_id, starts, ends)].append(time_off)
        return [grouped.get(key, []) for key in keys]

    return DataLoader(load_fn=load)
