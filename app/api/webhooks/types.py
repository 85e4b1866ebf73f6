"""WebhookEndpoint, WebhookDelivery and WebhookAttempt as the API shows them (ADMIN only)."""

from datetime import datetime

import strawberry
from strawberry import Private

from app import global_ids as ids
from app.api.common import Connection, Node
from app.api.context import Info
from app.clock import utc_now
from app.pagination import count
from app.webhooks import endpoints
from app.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

WebhookDeliveryStatusEnum = strawberry.enum(
    DeliveryStatus, name="WebhookDeliveryStatus",
    description="PENDING: waiting for its first attempt or a retry; DELIVERED: a 2xx answer; "
                "FAILED: retried for 24 hours without one.")


@strawberry.type(name="WebhookAttempt", description="One attempt to deliver a webhook.")
class WebhookAttemptType:
    attempted_at: datetime = strawberry.field(description="When it was made.")
    status_code: int | None = strawberry.field(
        description="The receiver's HTTP status; null if it did not answer.")
    error: str | None = strawberry.field(description="Why it failed, shortly; null if it did not.")
    duration_ms: int = strawberry.field(description="How long it took, in milliseconds.")

    @classmethod
    def from_model(cls, attempt: WebhookAttempt) -> "WebhookAttemptType":
        return cls(attempted_at=attempt.attempted_at, status_code=attempt.status_code,
                   error=attempt.error, duration_ms=attempt.duration_ms)


@strawberry.type(name="WebhookDelivery", description="An event on its way to one endpoint.")
class WebhookDeliveryType(Node):
    event_id: str = strawberry.field(description=(
        "The event's id, the same on every attempt and redelivery (the webhook-id header)."))
    event_type: str = strawberry.field(description="e.g. appointment.booked.")
    status: WebhookDeliveryStatusEnum = strawberry.field(description="Where it is.")
    attempts: int = strawberry.field(description="Attempts made so far.")
    last_status_code: int | None = strawberry.field(
        description="The receiver's HTTP status at the last attempt; null if it did not answer.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed, shortly.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next; null once DELIVERED or FAILED.")
    delivered_at: datetime | None = strawberry.field(description="When a receiver took it.")
    created_at: datetime = strawberry.field(description="When the event happened.")
    payload: str = strawberry.field(description="The JSON body sent, exactly as signed.")
    pk: Private[int]

    @classmethod
    def from_model(cls, delivery: WebhookDelivery) -> "WebhookDeliveryType":
        pending = delivery.status is DeliveryStatus.PENDING
        return cls(id=ids.encode("WebhookDelivery", delivery.id), event_id=delivery.event_id,
                   event_type=delivery.event_type, status=delivery.status,
                   attempts=delivery.attempts, last_status_code=delivery.last_status_code,
                   last_error=delivery.last_error,
                   next_attempt_at=delivery.next_attempt_at if pending else None,
                   delivered_at=delivery.delivered_at, created_at=delivery.created_at,
                   payload=delivery.payload, pk=delivery.id)

    @strawberry.field(description="Every attempt so far, in order.")
    async def attempt_log(self, info: Info) -> list[WebhookAttemptType]:
        found = await info.context.loaders.webhook_attempts.load(self.pk)
        return [WebhookAttemptType.from_model(attempt) for attempt in found]


@strawberry.type(name="WebhookEndpoint", description=(
    "Where the organization's events are sent, signed per Standard Webhooks."))
class WebhookEndpointType(Node):
    url: str = strawberry.field(description="Where deliveries are POSTed.")
    events: list[str] = strawberry.field(description=(
        "Event types sent to this endpoint, e.g. appointment.booked; [\"*\"]: all."))
    active: bool = strawberry.field(description="false: no new events are sent to it.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    old_secret_signs_until: datetime | None = strawberry.field(description=(
        "After `rotateWebhookSecret`: until when the replaced secret signs too. null: only "
        "the current secret signs."))
    pk: Private[int]

    @classmethod
    def from_model(cls, endpoint: WebhookEndpoint) -> "WebhookEndpointType":
        rollover = endpoint.old_secret_expires_at
        return cls(id=ids.encode("WebhookEndpoint", endpoint.id), url=endpoint.url,
                   events=list(endpoint.events), active=endpoint.active,
                   created_at=endpoint.created_at,
                   old_secret_signs_until=None if rollover is None or rollover <= utc_now()
                   else rollover,
                   pk=endpoint.id)

    @strawberry.field(description="Its deliveries, newest first (`first` <= 100).")
    async def deliveries(self, info: Info, first: int | None = 20, after: str | None = None,
                         status: WebhookDeliveryStatusEnum | None = None,
                         ) -> Connection[WebhookDeliveryType]:
        principal = await info.context.principal()
        wanted = None if status is None else DeliveryStatus(status)
        async with info.context.reading() as session:
            page = await endpoints.list_deliveries(session, principal, self.pk, first=first,
                                                   after=after, status=wanted)

        async def total() -> int:
            async with info.context.reading() as session:
                return await count(session, endpoints.deliveries_query(session, self.pk, wanted))

        return Connection.from_page(page, WebhookDeliveryType.from_model, total)
