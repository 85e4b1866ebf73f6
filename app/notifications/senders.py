"""How a message leaves the building: a log line by default, SMTP when configured.

A sender raises on failure; delivery records the error and retries later.
"""

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from app.config import Settings, SmtpSecurity

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    to: str
    subject: str
    body: str
    # Stable per outbox row, so a resend after a crash is recognisably the same message.
    reference: str
    # An HTML alternative to `body`, when the message has one.
    html: str | None = None
    # The BCP 47 tag it is written in (RFC 3282's Content-Language), when known.
    language: str | None = None


class Sender(Protocol):
    async def send(self, message: OutgoingMessage) -> None:
        """Hands the message over for delivery, or raises."""
        ...


class LogSender:
    """Writes each message to the log: the default without SMTP, which never fails.

    With `with_body` (development) the text body is logged too, so a developer can follow
    an invitation or password-reset link; never in production, where it would put live
    links into the logs.
    """

    def __init__(self, *, with_body: bool = False) -> None:
        self.with_body = with_body

    async def send(self, message: OutgoingMessage) -> None:
        language = message.language or "-"
        if self.with_body:
            logger.info("notification %s to %s [%s]: %s\n%s", message.reference, message.to,
                        language, message.subject, message.body)
        else:
            logger.info("notification %s to %s [%s]: %s", message.reference, message.to,
                        language, message.subject)


class SmtpSender:
    """Sends through an SMTP server (smtplib in a thread, so the event loop never blocks)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        mail_from: str,
        security: SmtpSecurity = SmtpSecurity.STARTTLS,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.mail_from = mail_from
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout

    async def send(self, message: OutgoingMessage) -> None:
        await asyncio.to_thread(self._send, self._email(message))

    def _email(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = message.to
        email["Subject"] = message.subject
        domain = self.mail_from.rpartition("@")[2].strip("> ") or "localhost"
        email["Message-ID"] = f"<{message.reference}@{domain}>"
        email.set_content(message.body)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
        if message.language:  # after the content: setting it clears every Content-* header
            email["Content-Language"] = message.language
        return email

    def _send(self, email: EmailMessage) -> None:
        if self.security is SmtpSecurity.SSL:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security is SmtpSecurity.STARTTLS:
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(email)


def sender_from_settings(settings: Settings) -> Sender:
    """SMTP when `BOOKINGS_SMTP_HOST` is set, the log otherwise."""
    if not settings.smtp_host:
        if settings.is_production:
            logger.warning("BOOKINGS_SMTP_HOST is not set: emails are only logged, without "
                           "their text, so invitation and password-reset links reach nobody")
        return LogSender(with_body=not settings.is_production)
    return SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        mail_from=settings.mail_from,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        timeout=settings.smtp_timeout_seconds,
    )
