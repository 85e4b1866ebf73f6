"""The client hears of each change through the outbox, written with the change itself."""

from sqlalchemy import select

from app.notifications.models import OutboxMessage
from tests.appointments.support import CANCEL, action, add_slot, book, give_credits, in_days


async def outbox(db, org) -> list[tuple[str, int]]:
    async with db.transaction(org.id, read_only=True) as session:
        rows = await session.execute(select(OutboxMessage.kind, OutboxMessage.recipient_user_id)
                                     .order_by(OutboxMessage.id))
        return [(kind.value, recipient) for kind, recipient in rows.all()]


async def test_booking_confirmation_cancellation_and_refund_are_announced(api, db, org):
    await give_credits(db, org, org.client, 1)
    slot = await add_slot(db, org, in_days(3))
    appointment_id = (await book(api, org.client, slot, idempotencyKey="k"))["appointment"]["id"]
    await book(api, org.client, slot, idempotencyKey="k")  # a replay announces nothing new
    await api.data(action("confirmAppointment"), {"input": {"appointmentId": appointment_id}},
                   as_=org.staff)
    await api.data(CANCEL, {"input": {"appointmentId": appointment_id}}, as_=org.staff)

    client = org.client.user.id
    assert await outbox(db, org) == [("BOOKING", client), ("CONFIRMATION", client),
                                     ("CANCELLATION", client), ("REFUND", client)]


async def test_a_refused_booking_announces_nothing(api, db, org):
    slot = await add_slot(db, org, in_days(3))
    payload = await book(api, org.client, slot)  # no credits
    assert payload["userErrors"][0]["code"] == "INSUFFICIENT_CREDITS"
    assert await outbox(db, org) == []
