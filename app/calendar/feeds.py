"""Each user's secret calendar feed (docs/rules.md: calendar feeds).

A feed's token is derived from the server's signing key, the user and the feed's version
(an HMAC), so the server can show the user their URL at any time while storing only the
token's SHA-256 hash. Rotating the feed moves the version on: a new token, and the old URL
answers 404 from then on, exactly as a token that never existed. A feed is made the first
time its owner asks for its URL.

A professional's feed holds their appointments; a client's holds their own (naming the
student); anyone else's is empty. It spans from 30 days back to the organization's
booking window ahead.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.appointments.models import Appointment, AppointmentState
from app.auth import Role
from app.calendar.models import CalendarFeed
from app.db import Database
from app.i18n.languages import Language, for_recipient
from app.organizations import repository as organizations
from app.people.models import Professional, Student, User
from app.tenancy import current_organization_id

PAST = timedelta(days=30)
FEED_PATH = "/calendar/{token}.ics"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One appointment as a feed shows it."""

    appointment_id: int
    starts_at: datetime
    ends_at: datetime
    state: AppointmentState
    sequence: int
    updated_at: datetime
    notes: str | None
    professional_name: str
    client_name: str
    student_name: str | None


@dataclass(frozen=True, slots=True)
class Feed:
    organization_name: str
    owner_name: str
    as_professional: bool
    entries: list[FeedEntry]
    # The owner's, else the organization's: the words of the events' texts.
    language: Language


def feed_token(secret: str, organization_id: int, user_id: int, version: int) -> str:
    digest = hmac.new(secret.encode(), f"calendar-feed:{organization_id}:{user_id}:{version}"
                      .encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def feed_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + FEED_PATH.format(token=token)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def current_token(session: AsyncSession, user_id: int, *, secret: str) -> str:
    """The user's feed token, making their feed if it does not exist yet (in a read-write
    session)."""
    organization_id = current_organization_id(session)
    await session.execute(
        insert(CalendarFeed)
        .values(organization_id=organization_id, user_id=user_id, version=0,
                token_hash=token_hash(feed_token(secret, organization_id, user_id, 0)))
        .on_conflict_do_nothing())
    version = await session.scalar(select(CalendarFeed.version).where(
        CalendarFeed.organization_id == organization_id, CalendarFeed.user_id == user_id))
    return feed_token(secret, organization_id, user_id, version)


async def rotate(session: AsyncSession, user_id: int, *, secret: str) -> str:
    """A new token for the user's feed; the old one ends now."""
    organization_id = current_organization_id(session)
    await current_token(session, user_id, secret=secret)
    mine = (CalendarFeed.organization_id == organization_id, CalendarFeed.user_id == user_id)
    # Locked: two rotations at once take turns, and each makes a version of its own.
    version = await session.scalar(select(CalendarFeed.version).where(*mine)
                                   .with_for_update()) + 1
    token = feed_token(secret, organization_id, user_id, version)
    await session.execute(update(CalendarFeed).where(*mine)
                          .values(version=version, token_hash=token_hash(token)))
    return token


_FIND = text("SELECT organization_id, user_id FROM bookings_find_calendar_feed(:token_hash)")


async def find_owner(db: Database, token: str) -> tuple[int, int] | None:
    """The (organization, user) whose current feed this token is; None for any other token."""
    async with db.transaction(None, read_only=True) as session:
        row = (await session.execute(_FIND, {"token_hash": token_hash(token)})).first()
    return None if row is None else (row.organization_id, row.user_id)


_PROVIDER, _CLIENT = aliased(User), aliased(User)
_ENTRIES = (
    select(Appointment.id, Appointment.starts_at, Appointment.ends_at, Appointment.state,
           Appointment.sequence, Appointment.updated_at, Appointment.notes,
           _PROVIDER.first_name.label("provider_first"),
           _PROVIDER.last_name.label("provider_last"),
           _CLIENT.first_name.label("client_first"), _CLIENT.last_name.label("client_last"),
           Student.first_name.label("student_first"), Student.last_name.label("student_last"))
    .join(Professional, (Professional.organization_id == Appointment.organization_id)
          & (Professional.id == Appointment.professional_id))
    .join(_PROVIDER, (_PROVIDER.organization_id == Professional.organization_id)
          & (_PROVIDER.id == Professional.user_id))
    .join(_CLIENT, (_CLIENT.organization_id == Appointment.organization_id)
          & (_CLIENT.id == Appointment.client_id))
    .outerjoin(Student, (Student.organization_id == Appointment.organization_id)
               & (Student.id == Appointment.student_id))
    .where(Appointment.organization_id == bindparam("organization_id"),
           Appointment.starts_at >= bindparam("since"),
           Appointment.starts_at < bindparam("until"))
    .order_by(Appointment.starts_at, Appointment.id)
)


async def read_feed(session: AsyncSession, user_id: int, *, now: datetime) -> Feed:
    """The feed of `user_id` in the session's organization, as of `now`."""
    organization = await organizations.get_current(session)
    owner = await session.get(User, (organization.id, user_id))
    profile = await session.scalar(select(Professional.id).where(
        Professional.organization_id == organization.id, Professional.user_id == user_id))
    if profile is not None:
        whose = Appointment.professional_id == profile
    elif owner is not None and owner.role is Role.CLIENT:
        whose = Appointment.client_id == user_id
    else:
        whose = None
    entries: list[FeedEntry] = []
    if whose is not None:
        rows = await session.execute(_ENTRIES.where(whose), {
            "organization_id": organization.id, "since": now - PAST,
            "until": now + timedelta(days=organization.booking_window_days)})
        entries = [FeedEntry(
            appointment_id=row.id, starts_at=row.starts_at, ends_at=row.ends_at,
            state=AppointmentState(row.state), sequence=row.sequence,
            updated_at=row.updated_at, notes=row.notes,
            professional_name=f"{row.provider_first} {row.provider_last}",
            client_name=f"{row.client_first} {row.client_last}",
            student_name=None if row.student_first is None
            else f"{row.student_first} {row.student_last}") for row in rows]
    return Feed(organization_name=organization.name,
                owner_name="" if owner is None else f"{owner.first_name} {owner.last_name}",
                as_professional=profile is not None, entries=entries,
                language=for_recipient(None if owner is None else owner.locale,
                                       organization.locale))
