"""Reading webhooks: ADMIN's endpoints, and any endpoint or delivery by its ID."""

import strawberry

from app.api.context import Info
from app.api.nodes import node_resolver
from app.api.webhooks.types import WebhookDeliveryType, WebhookEndpointType
from app.webhooks import endpoints


@node_resolver("WebhookEndpoint")
async def resolve_webhook_endpoint(info: Info, pk: int) -> WebhookEndpointType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        endpoint = await endpoints.get_endpoint(session, principal, pk)
    return WebhookEndpointType.from_model(endpoint)


@node_resolver("WebhookDelivery")
async def resolve_webhook_delivery(info: Info, pk: int) -> WebhookDeliveryType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        delivery = await endpoints.get_delivery(session, principal, pk)
    return WebhookDeliveryType.from_model(delivery)


@strawberry.type
class Query:
    @strawberry.field(description="ADMIN only: the organization's webhook endpoints, oldest "
                                  "first.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpointType]:
        principal = await info.context.principal()
        async with info.context.reading() as session:
            found = await endpoints.list_endpoints(session, principal)
        return [WebhookEndpointType.from_model(endpoint) for endpoint in found]
