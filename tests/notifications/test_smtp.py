"""The SMTP sender, against a real SMTP server started by the test."""

import pytest

from app.config import Settings, SmtpSecurity
from app.notifications import delivery
from app.notifications.models import NotificationStatus
from app.notifications.senders import LogSender, SmtpSender, sender_from_settings
from tests.jobs.support import NOW
from tests.jobs.support import outbox as messages_of
from tests.live_server import free_port
from tests.notifications.support import enqueue, smtp_server


@pytest.fixture
def smtp():
    with smtp_server() as server:
        yield server


async def test_a_message_reaches_the_smtp_server(db, org, smtp):
    controller, inbox = smtp
    await enqueue(db, org, org.client, "Your booking")
    sender = SmtpSender(host=controller.hostname, port=controller.port,
                        mail_from="desk@centre.example", security=SmtpSecurity.NONE)

    report = await delivery.deliver_due(db, sender, now=NOW, organization_ids=[org.id])

    assert report.sent == 1
    [received] = inbox.received
    assert received["From"] == "desk@centre.example"
    assert received["To"] == org.client.user.email
    assert received["Subject"] == "Your booking"
    assert received["Message-ID"].endswith("@centre.example>")
    assert "Your booking: the details." in received.get_payload()
    [message] = await messages_of(db, org)
    assert message.status is NotificationStatus.SENT


async def test_an_unreachable_smtp_server_is_retried_then_the_message_failed(db, org):
    await enqueue(db, org, org.client, "Your booking")
    sender = SmtpSender(host="127.0.0.1", port=free_port(), mail_from="desk@centre.example",
                        security=SmtpSecurity.NONE, timeout=2)

    first = await delivery.deliver_due(db, sender, now=NOW, max_attempts=2,
                                       organization_ids=[org.id])
    [retrying] = await messages_of(db, org)
    second = await delivery.deliver_due(db, sender, now=retrying.next_attempt_at,
                                        max_attempts=2, organization_ids=[org.id])

    assert (first.retrying, second.failed) == (1, 1)
    [failed] = await messages_of(db, org)
    assert (failed.status, failed.attempts) == (NotificationStatus.FAILED, 2)
    assert failed.last_error.startswith("ConnectionRefusedError")


def test_smtp_is_used_only_when_configured():
    assert isinstance(sender_from_settings(Settings()), LogSender)
    configured = sender_from_settings(Settings(smtp_host="mail.example", smtp_port=2525))
    assert isinstance(configured, SmtpSender)
    assert (configured.host, configured.port, configured.security) == (
        "mail.example", 2525, SmtpSecurity.STARTTLS)


def test_the_log_sender_shows_bodies_in_development_only_and_production_is_warned(caplog):
    development = sender_from_settings(Settings())
    with caplog.at_level("WARNING", logger="app.notifications.senders"):
        production = sender_from_settings(Settings(env="production"))

    assert development.with_body is True
    assert production.with_body is False
    assert "invitation and password-reset links reach nobody" in caplog.text
