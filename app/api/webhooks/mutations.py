"""Changing webhooks (ADMIN): endpoints, their secrets, and sending a delivery again."""

from typing import Annotated

import strawberry

from app import global_ids as ids
from app.api.context import Info
from app.api.errors import run_mutation
from app.api.inputs import given_changes
from app.api.scheduling.inputs import DeletePayload
from app.api.webhooks.inputs import (
    CreateWebhookEndpointInput,
    UpdateWebhookEndpointInput,
    WebhookDeliveryPayload,
    WebhookEndpointPayload,
)
from app.api.webhooks.types import WebhookDeliveryType, WebhookEndpointType
from app.webhooks import endpoints

_ENDPOINT_ID = {"endpoint_id": ["id"]}


def _decoded(global_id: str) -> int:
    return ids.decode(global_id, "WebhookEndpoint", field="endpoint_id")


def _shown(endpoint, secret: str | None = None) -> WebhookEndpointPayload:
    return WebhookEndpointPayload(webhook_endpoint=WebhookEndpointType.from_model(endpoint),
                                  secret=secret)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="ADMIN registers an endpoint; its secret is in the answer, "
                                     "this once.")
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        async def action(session, principal):
            return _shown(*await endpoints.create_endpoint(
                session, principal, url=input.url, events=input.events,
                production=info.context.settings.is_production))

        return await run_mutation(info, WebhookEndpointPayload, action)

    @strawberry.mutation(description="ADMIN changes an endpoint's URL, events, or whether it is "
                                     "active.")
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        async def action(session, principal):
            return _shown(await endpoints.update_endpoint(
                session, principal, _decoded(input.id), given_changes(input),
                production=info.context.settings.is_production))

        return await run_mutation(info, WebhookEndpointPayload, action,
                                  fields={"endpoint_id": ["input", "id"]})

    @strawberry.mutation(description="ADMIN deletes an endpoint, with its deliveries.")
    async def delete_webhook_endpoint(self, info: Info, id: strawberry.ID) -> DeletePayload:
        async def action(session, principal):
            await endpoints.delete_endpoint(session, principal, _decoded(id))
            return DeletePayload(deleted_id=id)

        return await run_mutation(info, DeletePayload, action, fields=_ENDPOINT_ID)

    @strawberry.mutation(description=(
        "ADMIN gets a new secret for an endpoint, shown this once. Deliveries are signed with "
        "it from now on, and with the old one too for `keepOldSecretHours`, so the receiver "
        "can switch without refusing one."))
    async def rotate_webhook_secret(
        self, info: Info, id: strawberry.ID,
        keep_old_secret_hours: Annotated[int, strawberry.argument(description=(
            "0 to 168: how long the old secret still signs too. 0 ends it now, as after a "
            "leak."))] = endpoints.DEFAULT_ROLLOVER_HOURS,
    ) -> WebhookEndpointPayload:
        async def action(session, principal):
            return _shown(*await endpoints.rotate_secret(
                session, principal, _decoded(id), keep_old_secret_hours=keep_old_secret_hours))

        return await run_mutation(info, WebhookEndpointPayload, action, fields={
            **_ENDPOINT_ID, "keep_old_secret_hours": ["keepOldSecretHours"]})

    @strawberry.mutation(description="Sends the delivery's event again, with the same event id.")
    async def redeliver_webhook(self, info: Info, delivery_id: strawberry.ID
                                ) -> WebhookDeliveryPayload:
        async def action(session, principal):
            delivery = await endpoints.redeliver(
                session, principal,
                ids.decode(delivery_id, "WebhookDelivery", field="delivery_id"))
            return WebhookDeliveryPayload(delivery=WebhookDeliveryType.from_model(delivery))

        return await run_mutation(info, WebhookDeliveryPayload, action,
                                  fields={"delivery_id": ["deliveryId"]})
