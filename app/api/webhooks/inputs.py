"""The inputs and payloads of the webhook mutations."""

import strawberry

from app.api.common import USER_ERRORS
from app.api.errors import UserErrorType
from app.api.webhooks.types import WebhookDeliveryType, WebhookEndpointType


@strawberry.input(description="A new webhook endpoint, active at once.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description=(
        "http(s), without credentials; in production https, on a public address."))
    events: list[str] = strawberry.field(description=(
        "Event types to send, e.g. [\"appointment.booked\"]; [\"*\"]: all, later ones too."))


@strawberry.input(description="Changes to a webhook endpoint; what is left out stays as it is.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description="The endpoint.")
    url: str | None = strawberry.field(default=strawberry.UNSET, description="A new URL.")
    events: list[str] | None = strawberry.field(default=strawberry.UNSET,
                                                description="The event types, all of them.")
    active: bool | None = strawberry.field(default=strawberry.UNSET, description=(
        "false: no new events; its waiting deliveries wait until it is active again."))


@strawberry.type(description="`secret` is shown only when created or rotated.")
class WebhookEndpointPayload:
    webhook_endpoint: WebhookEndpointType | None = strawberry.field(
        default=None, description="The endpoint as saved; null when refused.")
    secret: str | None = strawberry.field(default=None, description=(
        "The signing secret (whsec_...), this once: keep it to verify the deliveries."))
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list,
                                                        description=USER_ERRORS)


@strawberry.type(description="The new delivery, or why not.")
class WebhookDeliveryPayload:
    delivery: WebhookDeliveryType | None = strawberry.field(
        default=None, description="The delivery queued; null when refused.")
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list,
                                                        description=USER_ERRORS)
