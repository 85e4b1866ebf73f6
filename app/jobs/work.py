"""What the background jobs do, one organization at a time, each under its tenant context.

Every function takes `now`, so tests control the clock, and is safe to run
twice: slot generation skips existing slots, expiry finds nothing left to
expire, reminders have a unique key, purging finds nothing left to purge.

An organization that fails does not stop the others; the failures are raised
together at the end (`OrganizationsFailed`), so the job is marked failed.
`organization_ids` limits a run to some organizations (None: all of them).
"""

import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency
from app.appointments import cancellation, messages, series
from app.credits import ledger
from app.db import Database
from app.notifications import reminders
from app.organizations import repository as organizations
from app.people import repository as people
from app.people.models import Professional
from app.scheduling.service import fill_time_slots

logger = logging.getLogger(__name__)

T = TypeVar("T")


class OrganizationsFailed(Exception):
    """A job failed for some organizations (and did its work for the others)."""

    def __init__(self, job: str, failures: dict[int, BaseException]) -> None:
        detail = "; ".join(f"organization {org}: {error!r}" for org, error in failures.items())
        super().__init__(f"{job} failed for {len(failures)} organization(s): {detail}")
        self.failures = failures


async def organizations_to_visit(
    db: Database, organization_ids: Collection[int] | None = None
) -> list[int]:
    """The organizations a job visits: all of them, or those asked for that exist."""
    async with db.transaction(None, read_only=True) as session:
        existing = await organizations.get_all_ids(session)
    return existing if organization_ids is None else [o for o in existing if o in organization_ids]


async def for_each_organization(
    db: Database,
    job: str,
    work: Callable[[AsyncSession], Awaitable[T]],
    organization_ids: Collection[int] | None = None,
) -> dict[int, T]:
    """Runs `work` once per organization, each in its own tenant transaction."""
    results: dict[int, T] = {}
    failures: dict[int, BaseException] = {}
    for organization_id in await organizations_to_visit(db, organization_ids):
        try:
            async with db.transaction(organization_id) as session:
                results[organization_id] = await work(session)
        except Exception as error:  # one tenant's failure must not starve the others
            logger.exception("%s failed for organization %s", job, organization_id)
            failures[organization_id] = error
    if failures:
        raise OrganizationsFailed(job, failures)
    return results


# ---- slots ----------------------------------------------------------------------


async def fill_booking_windows(
    db: Database, *, now: datetime, organization_ids: Collection[int] | None = None
) -> int:
    """Generates every active professional's slots through the booking window; returns how many."""
    created = 0
    failures: dict[int, BaseException] = {}
    for organization_id in await organizations_to_visit(db, organization_ids):
        try:
            async with db.transaction(organization_id, read_only=True) as session:
                professionals = await people.get_active_professionals(session)
            # One transaction per professional: the schedule lock is held briefly.
            for professional in professionals:
                created += await refresh_professional_slots(
                    db, organization_id=organization_id, professional_id=professional.id, now=now
                )
        except Exception as error:
            logger.exception("slot generation failed for organization %s", organization_id)
            failures[organization_id] = error
    if failures:
        raise OrganizationsFailed("fill_booking_windows", failures)
    return created


async def refresh_professional_slots(
    db: Database, *, organization_id: int, professional_id: int, now: datetime
) -> int:
    """Generates one professional's slots from today through the booking window.

    A professional who is gone or inactive gets nothing (the job may run
    after a deactivation). Returns how many slots were created.
    """
    async with db.transaction(organization_id) as session:
        professional = await people.get_professional(session, professional_id)
        if professional is None or not professional.active:
            return 0
        organization = await organizations.get_current(session)
        first_day, last_day = booking_window_days(
            professional, now, organization.booking_window_days
        )
        return await fill_time_slots(session, professional, first_day, last_day, now=now)


def booking_window_days(professional: Professional, now: datetime, window_days: int):
    """The professional's local dates from today through the end of the booking window."""
    zone = ZoneInfo(professional.time_zone)
    return now.astimezone(zone).date(), (now + timedelta(days=window_days)).astimezone(zone).date()


# ---- credits, bookings, reminders, idempotency ----------------------------------------


async def expire_credit_lots(
    db: Database, *, now: datetime, organization_ids: Collection[int] | None = None
) -> int:
    """Removes the remainder of lots past their expiry; returns the credits expired."""
    results = await for_each_organization(
        db, "expire_credit_lots", lambda session: ledger.expire_lots(session, now=now),
        organization_ids,
    )
    return sum(results.values())


async def extend_series(
    db: Database, *, now: datetime, organization_ids: Collection[int] | None = None
) -> tuple[int, int]:
    """Books the occurrences of every active series that have entered the booking window;
    tells the client and the professional of each one that cannot be booked. Each series in
    its own transaction. Returns (booked, skipped)."""
    booked = skipped = 0
    failures: dict[int, BaseException] = {}
    for organization_id in await organizations_to_visit(db, organization_ids):
        try:
            async with db.transaction(organization_id, read_only=True) as session:
                series_ids = await series.active_series_ids(session)
            for series_id in series_ids:
                async with db.transaction(organization_id) as session:
                    booked_now, skipped_now = await series.extend_series(
                        session, series_id, now=now, report=messages.tell_series_skipped)
                booked, skipped = booked + booked_now, skipped + skipped_now
        except Exception as error:
            logger.exception("extending series failed for organization %s", organization_id)
            failures[organization_id] = error
    if failures:
        raise OrganizationsFailed("extend_series", failures)
    return booked, skipped


async def expire_unconfirmed_bookings(
    db: Database, *, now: datetime, organization_ids: Collection[int] | None = None
) -> list[int]:
    """Cancels, with a full refund, PRE_CONFIRMED bookings past their TTL or their start."""
    results = await for_each_organization(
        db, "expire_unconfirmed_bookings",
        lambda session: cancellation.expire_unconfirmed_bookings(session, now=now),
        organization_ids,
    )
    return [appointment_id for expired in results.values() for appointment_id in expired]


async def queue_reminders(
    db: Database, *, now: datetime, organization_ids: Collection[int] | None = None
) -> int:
    """Adds the due reminders of upcoming appointments to the outbox; returns how many."""
    results = await for_each_organization(
        db, "queue_reminders", lambda session: reminders.queue_reminders(session, now=now),
        organization_ids,
    )
    return sum(results.values())


async def purge_idempotency_keys(
    db: Database, *, now: datetime, organization_ids: Collection[int] | None = None
) -> int:
    """Deletes idempotency keys past their retention; returns how many."""
    results = await for_each_organization(
        db, "purge_idempotency_keys", lambda session: idempotency.purge_expired(session, now=now),
        organization_ids,
    )
    return sum(results.values())
