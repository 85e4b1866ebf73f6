"""Live slot changes for subscribers: one LISTEN connection per process, fanned out in memory.

The feed listens on `events.CHANNEL` over a dedicated asyncpg connection,
opened when the first subscriber arrives and reopened if it drops (events
sent while it was down are missed; a client that must not miss any re-reads
after reconnecting). Each event is re-read under its organization's tenant
context, in a short read-only transaction, once per process whatever the
number of subscribers, and only if someone subscribes to its professional.
A subscriber is registered under its own organization, so it can only ever
receive that organization's slots.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress

import asyncpg

from app.db import Database, libpq_url
from app.errors import AppError
from app.scheduling import repository
from app.scheduling.events import CHANNEL, SlotChanged
from app.scheduling.models import TimeSlot

logger = logging.getLogger(__name__)

Key = tuple[int, int]  # (organization id, professional id)


class FeedUnavailable(AppError):
    """The feed could not start listening (the database is unreachable)."""

    code = "SERVICE_UNAVAILABLE"


class _Subscriber:
    def __init__(self, queue_size: int) -> None:
        self.queue: asyncio.Queue[TimeSlot] = asyncio.Queue(maxsize=queue_size)

    def offer(self, slot: TimeSlot) -> None:
        # A subscriber that falls behind loses its oldest events, never the newest state.
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(slot)

    async def slots(self) -> AsyncIterator[TimeSlot]:
        while True:
            yield await self.queue.get()


class SlotFeed:
    """Slot changes of any process, delivered to this process's subscribers."""

    def __init__(
        self,
        db: Database,
        *,
        queue_size: int = 1000,
        start_timeout: float = 10.0,
        reconnect_delay: float = 1.0,
        health_check_interval: float = 30.0,
    ) -> None:
        self._db = db
        self._queue_size = queue_size
        self._start_timeout = start_timeout
        self._reconnect_delay = reconnect_delay
        self._health_check_interval = health_check_interval
        self._subscribers: dict[Key, set[_Subscriber]] = defaultdict(set)
        self._events: asyncio.Queue[SlotChanged] = asyncio.Queue()
        self._listening = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    @asynccontextmanager
    async def subscribe(
        self, organization_id: int, professional_ids: Iterable[int]
    ) -> AsyncIterator[AsyncIterator[TimeSlot]]:
        """The changed slots of these professionals of one organization, as they come."""
        subscriber = _Subscriber(self._queue_size)
        keys = {(organization_id, professional_id) for professional_id in professional_ids}
        for key in keys:
            self._subscribers[key].add(subscriber)
        try:
            await self._ensure_listening()
            yield subscriber.slots()
        finally:
            for key in keys:
                self._subscribers[key].discard(subscriber)
                if not self._subscribers[key]:
                    del self._subscribers[key]

    def watching(self, organization_id: int, professional_id: int) -> bool:
        """Whether changes of this professional reach a subscriber now."""
        return self._listening.is_set() and (organization_id, professional_id) in self._subscribers

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._listening.clear()

    async def _ensure_listening(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._listen(), name="slot-feed-listener"),
                           asyncio.create_task(self._dispatch(), name="slot-feed-dispatcher")]
        try:
            await asyncio.wait_for(self._listening.wait(), self._start_timeout)
        except TimeoutError:
            raise FeedUnavailable("Live slot updates are unavailable right now.") from None

    # ---- listening ------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            connection = None
            try:
                # Directly, not through PgBouncer (DATABASE_LISTEN_URL; docs/deploy.md).
                connection = await asyncpg.connect(libpq_url(self._db.listen_url))
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, self._on_notification)
                self._listening.set()
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), self._health_check_interval)
                    except TimeoutError:
                        await connection.execute("SELECT 1")  # raises on a dead connection
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("slot feed: listening connection failed; reconnecting",
                               exc_info=True)
            finally:
                self._listening.clear()
                if connection is not None:
                    with suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(self._reconnect_delay)

    def _on_notification(self, _connection, _pid, _channel, payload: str) -> None:
        event = SlotChanged.parse(payload)
        if event is not None and (event.organization_id, event.professional_id) in self._subscribers:
            self._events.put_nowait(event)

    # ---- fanning out ------------------------------------------------------------

    async def _dispatch(self) -> None:
        while True:
            batch = [await self._events.get()]
            while not self._events.empty() and len(batch) < 500:
                batch.append(self._events.get_nowait())
            wanted: dict[int, set[int]] = defaultdict(set)
            for event in batch:
                wanted[event.organization_id].add(event.slot_id)
            for organization_id, slot_ids in wanted.items():
                try:
                    await self._deliver(organization_id, slot_ids)
                except Exception:
                    logger.exception("slot feed: could not deliver changes of organization %s",
                                     organization_id)

    async def _deliver(self, organization_id: int, slot_ids: set[int]) -> None:
        # A deleted slot is not found, and TimeSlot! cannot say "gone": it is skipped.
        # On the primary: a replica may not have the change yet.
        async with self._db.transaction(organization_id, read_only=True, primary=True) as session:
            slots = await repository.get_slots(session, slot_ids)
        for slot in sorted(slots, key=lambda slot: slot.id):
            for subscriber in self._subscribers.get((organization_id, slot.professional_id), ()):
                subscriber.offer(slot)
