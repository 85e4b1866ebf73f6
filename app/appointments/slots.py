"""An appointment's hold on its time slot: taking an AVAILABLE slot, and freeing it again.

Booking and rescheduling take a slot, cancelling and rescheduling free one. Both
announce the slot's new status to subscribers, in the caller's transaction.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import SlotUnavailable
from app.scheduling import events as slot_events
from app.scheduling import repository as scheduling
from app.scheduling.models import BlockReason, TimeSlot, TimeSlotStatus


async def take_slot(session: AsyncSession, slot_id: int, *, field: str) -> TimeSlot:
    """AVAILABLE -> BOOKED, by the guarded update; a slot taken meanwhile is SLOT_UNAVAILABLE
    (naming `field`, the caller's argument that named the slot)."""
    taken = await slot_events.announce_slot(session, await scheduling.set_slot_status(
        session, slot_id, status=TimeSlotStatus.BOOKED, block_reason=None,
        when_status_in=[TimeSlotStatus.AVAILABLE],
    ))
    if taken is None:
        raise slot_taken(field=field)
    return taken


def slot_taken(*, field: str) -> SlotUnavailable:
    """The refusal of a slot some other booking (or a block) took first."""
    return SlotUnavailable("This slot is no longer available.", field=field)


async def free_slot(session: AsyncSession, slot_id: int, now: datetime) -> None:
    """Back on offer if it has not started yet (docs/rules.md: appointments), unless a time off covers it:
    then it is blocked, as time off does. A slot that has started stays as it was."""
    slot = await scheduling.get_slot(session, slot_id)
    if slot.starts_at <= now:
        return
    covered = await scheduling.overlaps_time_off(session, slot)
    await slot_events.announce_slot(session, await scheduling.set_slot_status(
        session, slot_id,
        status=TimeSlotStatus.BLOCKED if covered else TimeSlotStatus.AVAILABLE,
        block_reason=BlockReason.TIME_OFF if covered else None,
        when_status_in=[TimeSlotStatus.BOOKED],
    ))
