"""What a schedule write sets off, inside the writing transaction: slot change events
(pg_notify) for live subscribers, and a queued refresh of a professional's slots.

The repositories only read and write rows; each service that changes slots (generation,
status changes, blocking, deletion, booking) announces the rows the repository reports,
in the same transaction, so a rolled-back write never notifies and a committed one always
does, whichever process made it (a server replica, a worker, the CLI).
`app.scheduling.feed` listens and fans the events out to GraphQL subscribers.

The payload is `<organization id>:<professional id>:<slot id>`: ids only, so
no tenant data travels on the channel; listeners re-read the slot under the
organization's tenant context.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ARRAY, BigInteger, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.scheduling.models import TimeSlot
from app.tenancy import current_organization_id

CHANNEL = "time_slot_changed"
_DEFER_REFRESH = text("SELECT bookings_defer_slot_refresh(:professional_id)")

_NOTIFY = text(
    f"""
    SELECT pg_notify('{CHANNEL}', :organization_id || ':' || :professional_id || ':' || slot_id)
    FROM unnest(:slot_ids) AS slot_id
    """
).bindparams(bindparam("slot_ids", type_=ARRAY(BigInteger)))


@dataclass(frozen=True, slots=True)
class SlotChanged:
    organization_id: int
    professional_id: int
    slot_id: int

    @classmethod
    def parse(cls, payload: str) -> "SlotChanged | None":
        """The event of a payload, or None if it is not one of ours."""
        try:
            organization_id, professional_id, slot_id = (int(part) for part in payload.split(":"))
        except ValueError:
            return None
        return cls(organization_id, professional_id, slot_id)


# A changed slot, as the repositories report it: (slot id, professional id).
SlotChange = tuple[int, int]


async def announce(session: AsyncSession, changes: Sequence[SlotChange]) -> int:
    """Announces, on commit, that these slots changed; returns how many there were."""
    by_professional: dict[int, list[int]] = {}
    for slot_id, professional_id in changes:
        by_professional.setdefault(professional_id, []).append(slot_id)
    for professional_id, slot_ids in by_professional.items():
        await session.execute(_NOTIFY, {
            "organization_id": str(current_organization_id(session)),
            "professional_id": str(professional_id),
            "slot_ids": slot_ids,
        })
    return len(changes)


async def announce_slot(session: AsyncSession, slot: TimeSlot | None) -> TimeSlot | None:
    """Announces one changed slot, if there is one (a guarded update may change none)."""
    if slot is not None:
        await announce(session, [(slot.id, slot.professional_id)])
    return slot


async def defer_slot_refresh(session: AsyncSession, *, professional_id: int) -> None:
    """Queues slot generation for the professional, committed with the caller's transaction.

    Only inserts a job row (see migration 0005), so it works whether or not a
    worker runs; one pending refresh per professional is enough, so repeated
    calls before a worker gets to it add nothing.
    """
    await session.execute(_DEFER_REFRESH, {"professional_id": professional_id})

