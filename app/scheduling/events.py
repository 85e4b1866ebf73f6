"""Slot change events: published with pg_notify inside the writing transaction.

Every write that changes a slot (generation, status changes, blocking,
deletion, booking) calls `notify_slots_changed` in its own transaction, so a
rolled-back write never notifies and a committed one always does, whichever
process made it (a server replica, a worker, the CLI). `app.scheduling.feed`
listens and fans the events out to GraphQL subscribers.

The payload is `<organization id>:<professional id>:<slot id>`: ids only, so
no tenant data travels on the channel; listeners re-read the slot under the
organization's tenant context.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ARRAY, BigInteger, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.tenancy import current_organization_id

CHANNEL = "time_slot_changed"

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


async def notify_slots_changed(
    session: AsyncSession, *, professional_id: int, slot_ids: Sequence[int]
) -> None:
    """Announces, on commit, that these slots of one professional changed."""
    if not slot_ids:
        return
    await session.execute(_NOTIFY, {
        "organization_id": str(current_organization_id(session)),
        "professional_id": str(professional_id),
        "slot_ids": list(slot_ids),
    })

