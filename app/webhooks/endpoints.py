"""Webhook endpoints and their deliveries, as ADMIN manages them (docs/webhooks.md).

An endpoint is a URL, the event types it wants (or "*"), whether it is active, and its
secret. The secret is returned by `create_endpoint` and `rotate_secret` only; nothing
reads it back out but the delivery worker, to sign (with the rotated-out secret too, for a
while after a rotation). Every function here is ADMIN's alone:
anyone else is FORBIDDEN, before anything is read.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app import pagination, validation
from app.auth import Principal
from app.clock import utc_now
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.tenancy import current_organization_id
from app.webhooks import addresses, signing
from app.webhooks.events import ALL_EVENTS, EVENT_TYPES
from app.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

MAX_ENDPOINTS = 20
# How long, by default and at most, a rotated-out secret goes on signing beside the new one.
DEFAULT_ROLLOVER_HOURS = 24
MAX_ROLLOVER_HOURS = 7 * 24
DELIVERY_SORT_KEY = (WebhookDelivery.id,)
_DEFER = text("SELECT bookings_defer_webhook_event(:event_id)")


def check_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only an ADMIN may see or change webhooks.")


async def list_endpoints(session: AsyncSession, principal: Principal) -> Sequence[WebhookEndpoint]:
    """The organization's endpoints, oldest first."""
    check_admin(principal)
    statement = (select(WebhookEndpoint)
                 .where(WebhookEndpoint.organization_id == current_organization_id(session))
                 .order_by(WebhookEndpoint.id))
    return list(await session.scalars(statement))


async def get_endpoint(session: AsyncSession, principal: Principal, endpoint_id: int, *,
                       lock: bool = False) -> WebhookEndpoint:
    check_admin(principal)
    endpoint = await session.get(WebhookEndpoint, (current_organization_id(session), endpoint_id),
                                 with_for_update=lock)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.", field="endpoint_id")
    return endpoint


async def create_endpoint(session: AsyncSession, principal: Principal, *, url: str,
                          events: Sequence[str], production: bool) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint and its secret, which is shown this once."""
    check_admin(principal)
    endpoint = WebhookEndpoint(
        organization_id=current_organization_id(session),
        url=await checked_url(url, production=production),
        events=checked_events(events),
        active=True,
        secret=signing.new_secret(),
    )
    # Two ADMINs adding their twentieth endpoint at once take turns here, so the count
    # below sees the other's.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                          {"key": f"webhook-endpoints:{endpoint.organization_id}"})
    existing = await session.scalar(select(func.count()).select_from(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == endpoint.organization_id))
    if existing >= MAX_ENDPOINTS:
        raise Conflict(f"An organization has at most {MAX_ENDPOINTS} webhook endpoints; "
                       "delete one first.")
    session.add(endpoint)
    await session.flush()
    return endpoint, endpoint.secret


async def update_endpoint(session: AsyncSession, principal: Principal, endpoint_id: int,
                          changes: Mapping[str, Any], *, production: bool) -> WebhookEndpoint:
    """Changes the endpoint's `url`, `events` or `active`, whichever `changes` holds. Turned
    inactive, it gets no new events, and its waiting deliveries wait until it is active."""
    endpoint = await get_endpoint(session, principal, endpoint_id, lock=True)
    for attribute, value in changes.items():
        if value is None:
            raise ValidationFailed("Cannot be null.", field=attribute)
        match attribute:
            case "url":
                endpoint.url = await checked_url(value, production=production)
            case "events":
                endpoint.events = checked_events(value)
            case "active":
                endpoint.active = bool(value)
            case _:
                raise ValueError(f"a webhook endpoint has no changeable {attribute!r}")
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, principal: Principal, endpoint_id: int) -> int:
    """Deletes the endpoint with its deliveries: nothing more is sent to it."""
    endpoint = await get_endpoint(session, principal, endpoint_id, lock=True)
    await session.execute(delete(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == endpoint.organization_id,
        WebhookEndpoint.id == endpoint.id))
    return endpoint_id


async def rotate_secret(session: AsyncSession, principal: Principal, endpoint_id: int, *,
                        keep_old_secret_hours: int = DEFAULT_ROLLOVER_HOURS,
                        now: datetime | None = None) -> tuple[WebhookEndpoint, str]:
    """A new secret, shown this once; every attempt from now on is signed with it, and with
    the old one too for `keep_old_secret_hours` (0: not at all, as after a leak), so the
    receiver can switch without refusing a delivery. A rotation during a rollover ends the
    earlier old secret: only the latest two ever sign."""
    check_admin(principal)
    hours = validation.int_between(keep_old_secret_hours, 0, MAX_ROLLOVER_HOURS,
                                   "keep_old_secret_hours")
    endpoint = await get_endpoint(session, principal, endpoint_id, lock=True)
    if hours:
        endpoint.old_secret = endpoint.secret
        endpoint.old_secret_expires_at = utc_now(now) + timedelta(hours=hours)
    else:
        endpoint.old_secret = endpoint.old_secret_expires_at = None
    endpoint.secret = signing.new_secret()
    await session.flush()
    return endpoint, endpoint.secret


async def redeliver(session: AsyncSession, principal: Principal, delivery_id: int, *,
                    now: datetime | None = None) -> WebhookDelivery:
    """Sends a delivery's event again, now: a new PENDING delivery with the same event id and
    payload (the receiver can tell it has seen it), whatever became of the first."""
    original = await get_delivery(session, principal, delivery_id)
    again = WebhookDelivery(
        organization_id=original.organization_id, endpoint_id=original.endpoint_id,
        event_id=original.event_id, event_type=original.event_type, payload=original.payload,
        next_attempt_at=utc_now(now),
    )
    session.add(again)
    await session.flush()
    await session.execute(_DEFER, {"event_id": again.event_id})
    return again


async def get_delivery(session: AsyncSession, principal: Principal,
                       delivery_id: int) -> WebhookDelivery:
    check_admin(principal)
    delivery = await session.get(WebhookDelivery, (current_organization_id(session), delivery_id))
    if delivery is None:
        raise NotFound("No such webhook delivery.", field="delivery_id")
    return delivery


def deliveries_query(session: AsyncSession, endpoint_id: int,
                     status: DeliveryStatus | None = None) -> Select:
    statement = select(WebhookDelivery).where(
        WebhookDelivery.organization_id == current_organization_id(session),
        WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    return statement


async def list_deliveries(session: AsyncSession, principal: Principal, endpoint_id: int, *,
                          first: int | None, after: str | None,
                          status: DeliveryStatus | None = None) -> pagination.Page[WebhookDelivery]:
    """One page of the endpoint's deliveries, newest first."""
    check_admin(principal)
    request = pagination.page_request(first, after, DELIVERY_SORT_KEY)
    return await pagination.fetch_page(session, deliveries_query(session, endpoint_id, status),
                                       request, DELIVERY_SORT_KEY, descending=True)


async def attempts_of(session: AsyncSession, delivery_ids: Sequence[int]) -> list[WebhookAttempt]:
    """The attempts of the deliveries (which the caller could see), in order; for the API's
    loader, below every permission check."""
    statement = (select(WebhookAttempt)
                 .where(WebhookAttempt.organization_id == current_organization_id(session),
                        WebhookAttempt.delivery_id.in_(delivery_ids))
                 .order_by(WebhookAttempt.id))
    return list(await session.scalars(statement))


async def checked_url(value: str, *, production: bool) -> str:
    """The URL, if the SSRF guard lets it be registered (app/webhooks/addresses.py)."""
    url = addresses.checked_url(value, production=production)
    if production:
        try:
            await addresses.check_addresses(url, production=production)
        except addresses.UnsafeAddress as error:
            raise ValidationFailed(str(error), field="url") from error
    return url


def checked_events(values: Sequence[str]) -> list[str]:
    """The event types, each once, in the order given; unknown ones are refused by name."""
    wanted = list(dict.fromkeys(value.strip() for value in values))
    if not wanted:
        raise ValidationFailed("Name at least one event type, or \"*\" for all.", field="events")
    unknown = [value for value in wanted if value not in EVENT_TYPES and value != ALL_EVENTS]
    if unknown:
        raise ValidationFailed(
            f"Unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}, or \"*\".",
            field="events")
    return wanted
