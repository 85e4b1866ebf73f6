"""The root Subscription: live slot changes over graphql-transport-ws.

Events come from `app.scheduling.feed` (PostgreSQL LISTEN/NOTIFY, so a change
made by any replica or worker arrives). A websocket context lives as long as
the connection, so each event is resolved with fresh loaders and short read
transactions (see `Context.per_use_sessions`), never with stale caches.

Each event also looks up the subscriber again (with the tenant setup of its read, in the
same round trip): once their token stops working (sessions revoked, password reset, user
deactivated) the next event closes the socket with 4403, as a refused connection is.
"""

from collections.abc import AsyncGenerator

import strawberry

from app import global_ids as ids
from app.api.context import Info
from app.api.loaders import Loaders
from app.api.scheduling.types import TimeSlotType
from app.errors import NotFound, Unauthenticated, ValidationFailed
from app.people import repository as people

MAX_PROFESSIONALS = 50
# graphql-transport-ws closes a connection it refuses with 4403 (Strawberry does, at init).
FORBIDDEN_CLOSE_CODE = 4403


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Fires whenever a slot of one of these professionals changes status."
    )
    async def time_slot_changed(
        self, info: Info, professional_ids: list[strawberry.ID]
    ) -> AsyncGenerator[TimeSlotType, None]:
        context = info.context
        principal = await context.principal()  # every role may watch any professional's slots
        field = "professional_ids"
        if not 0 < len(professional_ids) <= MAX_PROFESSIONALS:
            raise ValidationFailed(f"Name 1 to {MAX_PROFESSIONALS} professionals.", field=field)
        wanted = {ids.decode(global_id, "Professional", field=field)
                  for global_id in professional_ids}
        async with context.reading() as session:
            found = await people.get_professionals(session, wanted)
        if len(found) != len(wanted):
            raise NotFound("No such professional.", field=field)
        if context.slot_feed is None:
            raise RuntimeError("this server has no slot feed")
        async with context.slot_feed.subscribe(principal.organization_id, wanted) as slots:
            async for slot in slots:
                context.loaders = Loaders(context)  # this event's caches, not the connection's
                try:
                    await context.principal_again()
                except Unauthenticated:
                    await context.request.close(code=FORBIDDEN_CLOSE_CODE, reason="Forbidden")
                    return
                yield TimeSlotType.from_model(slot)
