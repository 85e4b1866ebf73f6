"""A Spanish-speaking organization's messages, as they arrive over SMTP (docs/rules.md:
languages): the booking, the reminder and the invitation in Spanish with Argentine dates,
while an English-speaking client of the same organization gets English; and a message
keeps the language it was written in."""

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest

from app.config import SmtpSecurity
from app.jobs import work
from app.notifications import delivery
from app.notifications.senders import SmtpSender
from app.people.emails import mint_token_for_message
from tests.appointments.support import add_slots, book, give_credits, in_days
from tests.i18n.support import CREATE_USER, set_organization_locale, set_user_locale
from tests.notifications.support import smtp_server

BUENOS_AIRES = "America/Argentina/Buenos_Aires"
SPANISH_MOMENT = re.compile(
    r"(lunes|martes|miércoles|jueves|viernes|sábado|domingo), \d{1,2} de "
    r"(enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|"
    r"diciembre) de 20\d\d, 16:00 \(hora de Argentina\)")
ENGLISH_MOMENT = re.compile(
    r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    r"(January|February|March|April|May|June|July|August|September|October|November|"
    r"December) \d{1,2}, 20\d\d, 4:00\sPM \(Argentina Time\)")


@pytest.fixture
def inbox():
    with smtp_server() as server:
        yield server


@pytest.fixture
async def spanish_org(tenants, api):
    org = await tenants.create(time_zone=BUENOS_AIRES)
    assert (await set_organization_locale(api, org, "es-AR"))["userErrors"] == []
    return org


async def deliver_over_smtp(db, org, controller, inbox, *, now) -> dict[str, list]:
    """Sends what the outbox holds through a real SMTP server; the emails by recipient,
    parsed back as a mail client would."""
    sender = SmtpSender(host=controller.hostname, port=controller.port,
                        mail_from="turnos@centro.example", security=SmtpSecurity.NONE)
    await delivery.deliver_due(db, sender, now=now, organization_ids=[org.id],
                               mint_token=mint_token_for_message)
    by_recipient: dict[str, list[EmailMessage]] = {}
    for email in inbox.received:
        by_recipient.setdefault(email["To"], []).append(email)
    inbox.received.clear()
    return by_recipient


def text_of(email) -> str:
    return email.get_body(preferencelist=("plain",)).get_content()


async def test_booking_reminder_and_invitation_arrive_in_spanish_and_an_english_user_gets_english(
        api, db, spanish_org, inbox):
    org, (controller, handler) = spanish_org, inbox
    english_speaker = org.other_client
    assert (await set_user_locale(api, english_speaker, english_speaker, "en"))[
        "userErrors"] == []
    # 19:00 UTC is 16:00 in Buenos Aires.
    for_spanish, for_english = await add_slots(db, org, [in_days(3, hour=19),
                                                         in_days(4, hour=19)])
    for member in (org.client, english_speaker):
        await give_credits(db, org, member, 2)
    assert (await book(api, org.client, for_spanish))["userErrors"] == []
    assert (await book(api, english_speaker, for_english))["userErrors"] == []
    invited = (await api.data(CREATE_USER, {"input": {
        "email": "nuevo@example.com", "firstName": "Mateo", "lastName": "Gil",
        "phone": "+54 11 5555 0110", "role": "CLIENT"}}, as_=org.admin))["createUser"]
    assert invited["userErrors"] == []
    for slot in (for_spanish, for_english):  # each a day ahead of its appointment
        await work.queue_reminders(db, now=slot.starts_at - timedelta(hours=23),
                                   organization_ids=[org.id])

    emails = await deliver_over_smtp(db, org, controller, handler,
                                     now=for_english.starts_at - timedelta(hours=23))

    booked, reminded = sorted(emails[org.client.user.email],
                              key=lambda email: email["Subject"].startswith("Recordatorio"))
    assert booked["Subject"].startswith("Tu turno está reservado - ")
    assert booked["Content-Language"] == "es-AR"
    assert SPANISH_MOMENT.search(text_of(booked)), text_of(booked)
    assert "Por favor, confírmalo." in text_of(booked)
    assert SPANISH_MOMENT.search(reminded["Subject"]), reminded["Subject"]
    assert text_of(reminded).startswith("Te recordamos tu turno con ")

    [welcome] = emails["nuevo@example.com"]
    assert welcome["Subject"].startswith("Te invitaron a ")
    assert text_of(welcome).startswith("Hola, Mateo:")
    assert "accept-invitation?token=" in text_of(welcome)
    html = welcome.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="es-AR">' in html and "Aceptar la invitación" in html

    english = emails[english_speaker.user.email]
    assert sorted(email["Subject"].split(" - ")[0].split(":")[0] for email in english) == [
        "Reminder", "Your appointment is booked"]
    assert {email["Content-Language"] for email in english} == {"en"}
    assert all(ENGLISH_MOMENT.search(text_of(email)) for email in english)


async def test_a_queued_message_keeps_the_language_it_was_written_in(api, db, spanish_org,
                                                                     inbox):
    org, (controller, handler) = spanish_org, inbox
    [slot] = await add_slots(db, org, [in_days(3, hour=19)])
    await give_credits(db, org, org.client, 1)
    assert (await book(api, org.client, slot))["userErrors"] == []

    # The client switches to English after the booking, before its email goes out.
    await set_user_locale(api, org.client, org.client, "en")
    emails = await deliver_over_smtp(db, org, controller, handler, now=in_days(0))

    [booked] = emails[org.client.user.email]
    assert booked["Subject"].startswith("Tu turno está reservado")
    assert booked["Content-Language"] == "es-AR"
