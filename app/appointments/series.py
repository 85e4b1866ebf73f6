"""Recurring series (docs/rules.md: recurring series): a standing appointment whose
occurrences are ordinary appointments, booked as they enter the booking window.

An occurrence is the professional's AVAILABLE slot that starts at the series' local time
on its date, in the professional's zone, so the wall-clock time holds across DST: a local
time that does not exist that day (spring forward) is skipped with SLOT_UNAVAILABLE, and an
ambiguous one (fall back) is its first occurrence. Each occurrence is booked by
`booking.book_slot`, with the single-booking rules, its own debit and its own policy
snapshot.

`next_occurrence` counts the occurrences handled, booked or skipped. `bookSeries` handles
those inside the window; the extension job (`extend_series`) goes on from there as the
window moves, under the series' row lock, so no occurrence is handled twice.
"""

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency, pagination, validation
from app.appointments import booking, cancellation, repository
from app.appointments.models import OPEN_STATES, Appointment, AppointmentSeries, SeriesSkip
from app.appointments.policy import Action, check_may
from app.auth import Principal, Role
from app.clock import utc_now
from app.credits import repository as credits
from app.credits.models import CreditBalance
from app.errors import (
    InsufficientCredits,
    InvalidStateTransition,
    NotFound,
    OutsideBookingWindow,
    SlotUnavailable,
    ValidationFailed,
)
from app.organizations import repository as organizations
from app.organizations.models import Organization
from app.people import repository as people
from app.people.models import Professional
from app.scheduling.models import TimeSlot, TimeSlotStatus
from app.tenancy import current_organization_id

MAX_COUNT = 104
MAX_YEARS = 2
# The refusals that skip an occurrence; anything else refuses the whole request.
SKIPPABLE = (SlotUnavailable, InsufficientCredits, OutsideBookingWindow)
SERIES_SORT_KEY = (AppointmentSeries.id,)


@dataclass(frozen=True, slots=True)
class SeriesBooking:
    """What booking a series made: the series, the occurrences booked and those skipped."""

    series: AppointmentSeries
    appointments: list[Appointment]
    skipped: list[SeriesSkip]
    balance: CreditBalance | None


@dataclass(frozen=True, slots=True)
class SeriesCancellation:
    series: AppointmentSeries
    appointments: list[Appointment]
    refunded: int
    balance: CreditBalance | None


# Called with each skip the extension job makes, to tell the people concerned.
SkipReporter = Callable[[AsyncSession, AppointmentSeries, SeriesSkip], Awaitable[None]]


# ---- occurrences --------------------------------------------------------------------


def occurrence_date(series: AppointmentSeries, index: int) -> date:
    return series.first_date + timedelta(weeks=series.interval_weeks * index)


def local_start(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """The instant `at` o'clock on `day` in `zone`: the first one when the clock falls back
    (fold 0), None when the clock springs forward over it."""
    local = datetime.combine(day, at, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def is_over(series: AppointmentSeries, index: int) -> bool:
    """Whether occurrence `index` lies past the series' count or `until`."""
    if series.count is not None and index >= series.count:
        return True
    return series.until is not None and occurrence_date(series, index) > series.until


@dataclass(frozen=True, slots=True)
class _Occurrence:
    index: int
    day: date
    starts_at: datetime | None  # None: the clock time does not exist that day
    shown: datetime  # when it is reported to start: a missing time maps to the next instant


def _due_occurrences(series: AppointmentSeries, first: int,
                     horizon: datetime) -> Iterator[_Occurrence]:
    """The occurrences from index `first` on that start by `horizon` and within the
    series' bounds, in order."""
    zone = ZoneInfo(series.time_zone)
    index = first
    while not is_over(series, index):
        day = occurrence_date(series, index)
        starts_at = local_start(day, series.start_time, zone)
        shown = starts_at or datetime.combine(day, series.start_time, tzinfo=zone).astimezone(UTC)
        if shown > horizon:
            return  # not in the window yet: the extension job books it when it is
        yield _Occurrence(index, day, starts_at, shown)
        index += 1


@dataclass
class _Handled:
    appointments: list[Appointment] = field(default_factory=list)
    skipped: list[SeriesSkip] = field(default_factory=list)
    balance: CreditBalance | None = None


async def _handle_due_occurrences(
    session: AsyncSession,
    series: AppointmentSeries,
    organization: Organization,
    professional: Professional,
    principal: Principal | None,
    *,
    now: datetime,
    skip_unavailable: bool,
    report: SkipReporter | None = None,
) -> _Handled:
    """Books (or skips) each occurrence from `next_occurrence` on that has entered the
    booking window; ends the series once it is over."""
    handled = _Handled()
    horizon = now + timedelta(days=organization.booking_window_days)
    # Counted here and stored once at the end: set on the row each time, it would be
    # written by every occurrence's flush.
    index = series.next_occurrence
    for occurrence in _due_occurrences(series, index, horizon):
        index, day, starts_at = occurrence.index, occurrence.day, occurrence.starts_at
        try:
            if skip_unavailable:
                async with session.begin_nested():  # a refusal undoes this occurrence only
                    handled.balance = await _book_occurrence(
                        session, series, organization, professional, principal, starts_at,
                        day, now, handled.appointments) or handled.balance
            else:
                handled.balance = await _book_occurrence(
                    session, series, organization, professional, principal, starts_at, day,
                    now, handled.appointments) or handled.balance
        except SKIPPABLE as refusal:
            if not skip_unavailable:
                raise type(refusal)(f"The occurrence on {day.isoformat()} cannot be booked: "
                                    f"{refusal.message}") from refusal
            skip = SeriesSkip(organization_id=series.organization_id, series_id=series.id,
                              occurrence=index, starts_at=occurrence.shown,
                              code=str(refusal.code),
                              message=refusal.message)
            session.add(skip)
            handled.skipped.append(skip)
            if report is not None:
                await report(session, series, skip)
        index += 1
    series.next_occurrence = index
    if is_over(series, index):
        series.active = False
    await session.flush()
    return handled


async def _book_occurrence(
    session: AsyncSession,
    series: AppointmentSeries,
    organization: Organization,
    professional: Professional,
    principal: Principal | None,
    starts_at: datetime | None,
    day: date,
    now: datetime,
    booked: list[Appointment],
) -> CreditBalance | None:
    if starts_at is None:
        raise SlotUnavailable(f"{series.start_time:%H:%M} does not exist on {day.isoformat()} "
                              f"in {series.time_zone} (the clocks go forward).")
    if not professional.active:
        raise SlotUnavailable("This professional is not taking bookings.")
    slot = await session.scalar(_AVAILABLE_SLOT_AT, {
        "organization_id": series.organization_id, "professional_id": professional.id,
        "starts_at": starts_at})
    if slot is None:
        raise SlotUnavailable("The professional has no free slot at this time.")
    change = await booking.book_slot(
        session, principal, organization, professional, slot, client_id=series.client_id,
        student_id=series.student_id, notes=series.notes, now=now, series_id=series.id)
    booked.append(change.appointment)
    return change.balance


async def _lock_due_slots(session: AsyncSession, series: AppointmentSeries,
                          organization: Organization, professional: Professional,
                          first: int, now: datetime) -> None:
    """Row-locks, earliest first, the AVAILABLE slots of the occurrences from `first` on
    that are inside the window, before any of them is debited: the lock order of
    app/appointments (slots, then the client's balance). Taken one by one between debits, a
    later week's slot could be held by a booking of the same client waiting for the balance
    this series holds: a deadlock."""
    horizon = now + timedelta(days=organization.booking_window_days)
    starts = [occurrence.starts_at for occurrence in _due_occurrences(series, first, horizon)
              if occurrence.starts_at is not None]
    if starts:
        await session.execute(select(TimeSlot.id).where(
            TimeSlot.organization_id == current_organization_id(session),
            TimeSlot.professional_id == professional.id,
            TimeSlot.starts_at.in_(starts),
            TimeSlot.status == TimeSlotStatus.AVAILABLE,
        ).order_by(TimeSlot.starts_at).with_for_update())


# Built once (the availability index serves it): the AVAILABLE slot starting at an instant.
_AVAILABLE_SLOT_AT = select(TimeSlot).where(
    TimeSlot.organization_id == bindparam("organization_id"),
    TimeSlot.professional_id == bindparam("professional_id"),
    TimeSlot.starts_at == bindparam("starts_at"),
    TimeSlot.status == TimeSlotStatus.AVAILABLE,
)


# ---- booking a series ---------------------------------------------------------------


async def book_series(
    session: AsyncSession,
    principal: Principal,
    *,
    slot_id: int,
    interval_weeks: int,
    until: date | None = None,
    count: int | None = None,
    client_id: int | None = None,
    student_id: int | None = None,
    notes: str | None = None,
    skip_unavailable: bool = True,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> SeriesBooking:
    """Books a standing appointment from its first slot: that occurrence and every later one
    already inside the booking window, now; the rest as the window reaches them.

    Who may book follows single booking. The first occurrence must be bookable; a later one
    that is not is skipped and listed (`skip_unavailable`), or refuses the whole series.
    """
    now = utc_now(now)
    client_id = principal.user_id if client_id is None else client_id
    if interval_weeks not in (1, 2):
        raise ValidationFailed("A series repeats every week or every other week.",
                               field="interval_weeks")
    if count is not None and until is not None:
        raise ValidationFailed("Bound a series by `count` or by `until`, not both.",
                               field="count")
    if count is not None and not 1 <= count <= MAX_COUNT:
        raise ValidationFailed(f"A series has 1 to {MAX_COUNT} occurrences.", field="count")

    async def perform() -> SeriesBooking:
        parties = await repository.load_booking_parties(session, slot_id, client_id)
        if parties is None:
            raise NotFound("No such time slot.", field="slot_id")
        slot, professional, *_ = parties  # `parties` keeps the rest in the session
        booking.check_may_book(principal, professional, client_id,
                               await people.get_user(session, client_id))
        if student_id is not None:
            booking.check_student(await people.get_student(session, student_id), client_id)
        organization = await organizations.get_current(session)
        zone = ZoneInfo(professional.time_zone)
        first = slot.starts_at.astimezone(zone)
        _check_until(until, first.date())
        series = AppointmentSeries(
            client_id=client_id, student_id=student_id, professional_id=professional.id,
            interval_weeks=interval_weeks, start_time=first.time().replace(tzinfo=None),
            time_zone=professional.time_zone, first_date=first.date(), until=until,
            count=count, notes=validation.optional_text(notes, "notes"),
            next_occurrence=1, created_by_id=principal.user_id,
        )
        session.add(series)
        await session.flush()
        await _lock_due_slots(session, series, organization, professional, 0, now)
        # The first occurrence is the slot asked for: its refusal refuses the series.
        first_booked = await booking.book_slot(
            session, principal, organization, professional, slot, client_id=client_id,
            student_id=student_id, notes=notes, now=now, series_id=series.id)
        handled = await _handle_due_occurrences(
            session, series, organization, professional, principal, now=now,
            skip_unavailable=skip_unavailable)
        return SeriesBooking(series=series,
                             appointments=[first_booked.appointment, *handled.appointments],
                             skipped=handled.skipped,
                             balance=handled.balance or first_booked.balance)

    request = {"slot_id": slot_id, "interval_weeks": interval_weeks, "until": until,
               "count": count, "client_id": client_id, "student_id": student_id,
               "notes": notes, "skip_unavailable": skip_unavailable}
    return await idempotency.run_once(
        session, caller_id=principal.user_id, key=idempotency_key, operation="bookSeries",
        request=request, perform=perform, made=SeriesBooking)


def _check_until(until: date | None, first_date: date) -> None:
    if until is None:
        return
    if until < first_date:
        raise ValidationFailed("`until` comes before the first occurrence.", field="until")
    if until > _years_after(first_date, MAX_YEARS):
        raise ValidationFailed("A series spans at most two years.", field="until")


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, into a year without one
        return day.replace(year=day.year + years, day=28)


# ---- the extension job --------------------------------------------------------------


async def active_series_ids(session: AsyncSession) -> list[int]:
    statement = select(AppointmentSeries.id).where(
        AppointmentSeries.organization_id == current_organization_id(session),
        AppointmentSeries.active,
    ).order_by(AppointmentSeries.id)
    return list(await session.scalars(statement))


async def extend_series(
    session: AsyncSession, series_id: int, *, now: datetime, report: SkipReporter
) -> tuple[int, int]:
    """Books the occurrences of one series that have entered the window since; an occurrence
    that cannot be booked is skipped and `report`ed, and the series stays active. Returns
    (booked, skipped). Safe to run again: the series row is locked, and `next_occurrence`
    moves past every occurrence handled."""
    series = await _lock(session, series_id)
    if series is None or not series.active:
        return 0, 0
    if not await _parties_remain(session, series):
        series.active = False  # nobody left to book for: the series ends, quietly
        return 0, 0
    organization = await organizations.get_current(session)
    professional = await people.get_professional(session, series.professional_id)
    await _lock_due_slots(session, series, organization, professional, series.next_occurrence,
                          now)
    handled = await _handle_due_occurrences(
        session, series, organization, professional, None, now=now, skip_unavailable=True,
        report=report)
    return len(handled.appointments), len(handled.skipped)


async def _parties_remain(session: AsyncSession, series: AppointmentSeries) -> bool:
    """Whether the client (and the student) of a series may still be booked for. A
    professional who stopped taking bookings only skips occurrences: they may come back."""
    client = await people.get_user(session, series.client_id)
    if client is None or not client.active:
        return False
    if series.student_id is None:
        return True
    student = await people.get_student(session, series.student_id)
    return student is not None and student.active


async def _lock(session: AsyncSession, series_id: int) -> AppointmentSeries | None:
    return await session.scalar(
        select(AppointmentSeries)
        .where(AppointmentSeries.organization_id == current_organization_id(session),
               AppointmentSeries.id == series_id)
        .with_for_update())


# ---- cancelling ---------------------------------------------------------------------


async def cancel_series(
    session: AsyncSession,
    principal: Principal,
    series_id: int,
    *,
    from_appointment_id: int | None = None,
    reason: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> SeriesCancellation:
    """Cancels the chosen occurrence (default: the next one) and every later one that has
    not started, each under the cancellation policy, and ends the series."""
    now = utc_now(now)

    async def perform() -> SeriesCancellation:
        series = await _lock(session, series_id)
        if series is None or not await can_see(session, principal, series):
            raise NotFound("No such series.", field="series_id")
        check_may(principal, Action.CANCEL)
        if series.cancelled_at is not None:
            raise InvalidStateTransition("This series is already cancelled.", field="series_id")
        starting = now
        if from_appointment_id is not None:
            chosen = await repository.get(session, from_appointment_id)
            if chosen is None or chosen.series_id != series.id:
                raise NotFound("No such occurrence of this series.",
                               field="from_appointment_id")
            starting = max(now, chosen.starts_at - timedelta(microseconds=1))
        cancelled, refunded, balance = [], 0, None
        # Every occurrence locked before the first refund locks the balance (the lock order
        # of app/appointments): a cancel of a later one waiting for that balance would else
        # hold the appointment this loop goes on to lock, a deadlock.
        locked = [await repository.lock(session, appointment_id)
                  for appointment_id in await repository.open_of_series(
                      session, series.id, starting_after=starting)]
        for appointment in locked:
            if appointment is None or appointment.state not in OPEN_STATES:
                continue
            posting = await cancellation.cancel_open(
                session, principal, appointment, now=now,
                reason=validation.optional_text(reason, "reason", max_length=500))
            cancelled.append(appointment)
            if posting is not None:
                refunded += posting.transaction.amount
                balance = posting.balance
        series.active = False
        series.cancelled_at = now
        await session.flush()
        balance = balance or await credits.get_balance(session, series.client_id)
        return SeriesCancellation(series, cancelled, refunded, balance)

    request = {"series_id": series_id, "from_appointment_id": from_appointment_id,
               "reason": reason}
    return await idempotency.run_once(
        session, caller_id=principal.user_id, key=idempotency_key, operation="cancelSeries",
        request=request, perform=perform, made=SeriesCancellation)


# ---- reading ------------------------------------------------------------------------


async def can_see(session: AsyncSession, principal: Principal,
                  series: AppointmentSeries) -> bool:
    """As for appointments: STAFF and ADMIN all, a client their own, a professional theirs."""
    if principal.is_staff_or_admin:
        return True
    if principal.role is Role.CLIENT:
        return series.client_id == principal.user_id
    if principal.role is Role.PROFESSIONAL:
        professional = await people.find_professional_by_user(session, principal.user_id)
        return professional is not None and professional.id == series.professional_id
    return False


async def get_series(session: AsyncSession, principal: Principal, series_id: int,
                     *, field: str | None = None) -> AppointmentSeries:
    series = await session.get(AppointmentSeries, (current_organization_id(session), series_id))
    if series is None or not await can_see(session, principal, series):
        raise NotFound("No such series.", field=field)
    return series


def series_query(session: AsyncSession, principal: Principal, *, client_id: int | None = None,
                 professional_id: int | None = None, active: bool | None = None) -> Select:
    statement = select(AppointmentSeries).where(
        AppointmentSeries.organization_id == current_organization_id(session))
    if not principal.is_staff_or_admin:
        if principal.role is Role.CLIENT:
            statement = statement.where(AppointmentSeries.client_id == principal.user_id)
        else:
            statement = statement.where(AppointmentSeries.professional_id
                                        == people.professional_of_user(session, principal.user_id))
    if client_id is not None:
        statement = statement.where(AppointmentSeries.client_id == client_id)
    if professional_id is not None:
        statement = statement.where(AppointmentSeries.professional_id == professional_id)
    if active is not None:
        statement = statement.where(AppointmentSeries.active == active)
    return statement


async def list_series(session: AsyncSession, principal: Principal, *, first: int | None = None,
                      after: str | None = None, **filters) -> pagination.Page[AppointmentSeries]:
    """One page of the series the principal may see, oldest first."""
    request = pagination.page_request(first, after, SERIES_SORT_KEY)
    return await pagination.fetch_page(session, series_query(session, principal, **filters),
                                       request, SERIES_SORT_KEY)


async def list_occurrences(session: AsyncSession, principal: Principal, series_id: int, *,
                           first: int | None = None,
                           after: str | None = None) -> pagination.Page[Appointment]:
    """One page of a series' appointments (as the principal may see them), earliest first."""
    request = pagination.page_request(first, after, repository.APPOINTMENT_SORT_KEY)
    return await pagination.fetch_page(session, occurrences_query(session, principal, series_id),
                                       request, repository.APPOINTMENT_SORT_KEY)


def occurrences_query(session: AsyncSession, principal: Principal, series_id: int) -> Select:
    return repository.appointments_query(session, principal).where(
        Appointment.series_id == series_id)

