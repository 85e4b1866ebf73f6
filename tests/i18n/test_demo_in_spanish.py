"""The demo's Spanish-speaking client: her messages are written in Spanish, and the
development log shows them so."""

import logging

from sqlalchemy import select

from app.demo import seed_demo
from app.notifications.models import OutboxMessage
from app.notifications.senders import LogSender, OutgoingMessage
from app.organizations import repository as organizations
from app.people import repository as people


async def test_the_demo_client_carla_gets_her_messages_in_spanish_and_david_in_english(
        db, settings, caplog):
    demo = await seed_demo(db, settings)
    carla = next(login for login in demo.logins if login.email == "carla@demo.example")
    assert carla.locale == "es-AR" and str(carla).endswith("(messages in es-AR)")
    async with db.transaction(None, read_only=True) as session:
        organization = await organizations.find_by_slug(session, demo.slug)
    async with db.transaction(organization.id, read_only=True) as session:
        carla_user = await people.find_user_by_email(session, "carla@demo.example")
        david_user = await people.find_user_by_email(session, "david@demo.example")
        messages = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    hers = [message for message in messages if message.recipient_user_id == carla_user.id]
    his = [message for message in messages if message.recipient_user_id == david_user.id]

    assert hers and {message.locale for message in hers} == {"es-AR"}
    subjects = {message.subject.removesuffix(" - Demo Therapy Centre") for message in hers}
    # The seed's messages; the jobs may have added reminders and expiries since.
    assert {"Tu turno está reservado", "Tu turno está confirmado", "Tu turno fue cancelado",
            "Créditos devueltos: 1 crédito"} <= subjects
    assert his and {message.locale for message in his} == {"en"}

    with caplog.at_level(logging.INFO, logger="app.notifications.senders"):
        await LogSender(with_body=True).send(OutgoingMessage(
            to=carla.email, subject=hers[0].subject, body=hers[0].body,
            reference=f"notification-{organization.id}-{hers[0].id}",
            language=hers[0].locale))
    assert f"to carla@demo.example [es-AR]: {hers[0].subject}" in caplog.text
    assert "Tu turno con María López el " in caplog.text
