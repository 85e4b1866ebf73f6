"""Recording webhook events, in the caller's transaction (docs/webhooks.md).

An event is written with the change it tells of: one delivery row per active endpoint of
the organization that subscribes to its type, and a job that sends them, both committed
with the change or not at all. A rolled-back change sends nothing; a committed one is
never lost, whatever happens to the process afterwards.

The payload is `{"type", "timestamp", "data"}`, `data` holding the changed objects as the
API shows them to an ADMIN, named by their global IDs; related objects are `{"id": ...}`.
The domain packages build `data` (app/appointments/events.py, app/credits/events.py); this
module knows nothing of appointments or credits.
"""

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.global_ids import encode
from app.tenancy import current_organization_id

APPOINTMENT_EVENTS = (
    "appointment.booked",
    "appointment.confirmed",
    "appointment.rescheduled",
    "appointment.cancelled",
    "appointment.executed",
    "appointment.no_show",
    "appointment.expired",
)
CREDIT_EVENTS = (
    "credits.purchased",
    "credits.purchase_completed",
    "credits.purchase_failed",
    "credits.refunded",
    "credits.adjusted",
    "credits.expired",
)
EVENT_TYPES = APPOINTMENT_EVENTS + CREDIT_EVENTS
# An endpoint subscribed to this gets every event, including types added later.
ALL_EVENTS = "*"

_RECORD = text(
    """
    WITH recorded AS (
        INSERT INTO webhook_deliveries (organization_id, endpoint_id, event_id, event_type,
                                        payload)
        SELECT endpoint.organization_id, endpoint.id, :event_id, :event_type, :payload
        FROM webhook_endpoints AS endpoint
        WHERE endpoint.organization_id = :organization_id
          AND endpoint.active
          AND endpoint.events && ARRAY[CAST(:event_type AS text), '*']
        RETURNING 1
    )
    SELECT bookings_defer_webhook_event(:event_id)
    WHERE EXISTS (SELECT FROM recorded)
    """
)


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def reference(type_name: str, pk: int | None) -> dict[str, str] | None:
    """A related object in a payload: `{"id": <global ID>}`, as `{ professional { id } }`
    shows it."""
    return None if pk is None else {"id": encode(type_name, pk)}


def payload(event_type: str, at: datetime, data: dict[str, Any]) -> str:
    """The text signed and sent. Times are ISO 8601 in UTC, as the API's DateTime."""
    return orjson.dumps({"type": event_type, "timestamp": at, "data": data}).decode()


async def record(session: AsyncSession, event_type: str, data: dict[str, Any], *,
                 at: datetime) -> bool:
    """Queues the event for every subscribed endpoint, in the session's transaction; whether
    any endpoint wanted it. One statement, which writes nothing when no endpoint does."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    deferred = await session.execute(_RECORD, {
        "organization_id": current_organization_id(session), "event_id": new_event_id(),
        "event_type": event_type, "payload": payload(event_type, at, data),
    })
    return deferred.first() is not None
