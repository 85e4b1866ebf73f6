"""SQL for appointments, scoped to the session's tenant."""

from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app import driver_sql
from app.appointments.models import (
    OPEN_STATES,
    Appointment,
    AppointmentSeries,
    AppointmentState,
)
from app.auth import Principal, Role
from app.organizations.models import Organization
from app.pagination import JsonPages, Page, PageRequest
from app.people.models import Professional, User
from app.people.repository import professional_of
from app.scheduling.models import TimeSlot
from app.tenancy import current_organization_id

APPOINTMENT_SORT_KEY = (Appointment.starts_at, Appointment.id)


async def get(session: AsyncSession, appointment_id: int) -> Appointment | None:
    return await session.get(Appointment, (current_organization_id(session), appointment_id))


_PROVIDER, _CLIENT = aliased(User), aliased(User)
# Built once: building this statement (and its cache key) each time cost more than it saved.
_BOOKING_PARTIES = (
    select(TimeSlot, Professional, _PROVIDER, _CLIENT, Organization)
    .join(Professional, (Professional.organization_id == TimeSlot.organization_id)
          & (Professional.id == TimeSlot.professional_id))
    .join(_PROVIDER, (_PROVIDER.organization_id == Professional.organization_id)
          & (_PROVIDER.id == Professional.user_id))
    .join(Organization, Organization.id == TimeSlot.organization_id)
    .outerjoin(_CLIENT, (_CLIENT.organization_id == TimeSlot.organization_id)
               & (_CLIENT.id == bindparam("client_id")))
    .where(TimeSlot.organization_id == bindparam("organization_id"),
           TimeSlot.id == bindparam("slot_id"))
)


async def load_booking_parties(session: AsyncSession, slot_id: int, client_id: int) -> Row | None:
    """The slot, its professional and their user, the client and the organization, in one
    statement; None if there is no such slot.

    Booking checks and messages then find each of them in the session with `session.get`,
    without a statement each. The session holds objects weakly: keep the row while they
    are needed.
    """
    result = await session.execute(_BOOKING_PARTIES, {
        "organization_id": current_organization_id(session), "slot_id": slot_id,
        "client_id": client_id})
    return result.one_or_none()


async def get_many(session: AsyncSession, ids: Iterable[int]) -> list[Appointment]:
    statement = select(Appointment).where(
        Appointment.organization_id == current_organization_id(session),
        Appointment.id.in_(set(ids)),
    )
    return list(await session.scalars(statement))


async def lock(session: AsyncSession, appointment_id: int) -> Appointment | None:
    """The appointment, row-locked until the transaction ends.

    Every change of an appointment locks it first, so a cancel and a
    reschedule of the same appointment take turns and the second sees the
    first's outcome.
    """
    statement = (
        select(Appointment)
        .where(
            Appointment.organization_id == current_organization_id(session),
            Appointment.id == appointment_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(statement)


async def live_of_slots(session: AsyncSession, slot_ids: Iterable[int]) -> list[Appointment]:
    """The appointments (not cancelled) holding these slots."""
    statement = select(Appointment).where(
        Appointment.organization_id == current_organization_id(session),
        Appointment.time_slot_id.in_(set(slot_ids)),
        Appointment.state != AppointmentState.CANCELLED,
    )
    return list(await session.scalars(statement))


def visible_appointments(session: AsyncSession, principal: Principal) -> ColumnElement[bool]:
    """Appointments the principal may see: all, their own as client, or their own as professional."""
    return visible_to(principal.role, current_organization_id(session), principal.user_id)


def visible_to(role: Role, organization_id: Any, user_id: Any) -> ColumnElement[bool]:
    """As `visible_appointments`, for a role, given values or bind parameters (a statement
    built once per role)."""
    if role.is_staff_or_admin:
        return true()
    if role is Role.PROFESSIONAL:
        return Appointment.professional_id == professional_of(organization_id, user_id)
    if role is Role.CLIENT:
        return Appointment.client_id == user_id
    return false()


def appointments_query(
    session: AsyncSession,
    principal: Principal,
    *,
    professional_id: int | None = None,
    client_id: int | None = None,
    states: list[AppointmentState] | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
) -> Select:
    return appointments_of(
        current_organization_id(session), visible_appointments(session, principal),
        professional_id=professional_id, client_id=client_id, states=states or None,
        starts_from=starts_from, starts_before=starts_before)


def appointments_of(organization_id: Any, visible: ColumnElement[bool], *,
                    professional_id: Any = None, client_id: Any = None, states: Any = None,
                    starts_from: Any = None, starts_before: Any = None) -> Select:
    """The organization's `visible` appointments, filtered by whichever filter is given: each
    a value, or a bind parameter of a statement built once (the hot road)."""
    statement = select(Appointment).where(Appointment.organization_id == organization_id,
                                          visible)
    if professional_id is not None:
        statement = statement.where(Appointment.professional_id == professional_id)
    if client_id is not None:
        statement = statement.where(Appointment.client_id == client_id)
    if states is not None:
        statement = statement.where(driver_sql.one_of(Appointment.state, states))
    if starts_from is not None:
        statement = statement.where(Appointment.starts_at >= starts_from)
    if starts_before is not None:
        statement = statement.where(Appointment.starts_at < starts_before)
    return statement


_FILTERS = ("professional_id", "client_id", "states", "starts_from", "starts_before")


def appointments_json_pages(appointment_json: ColumnElement[str]) -> JsonPages:
    """The pages of `get_appointments_json_page` for one selection: built once, by its plan.
    A variant is the caller's role and which filters are given."""

    def build(variant: Hashable) -> Select:
        role, *given = variant
        filters = {name: driver_sql.array_parameter(name, Appointment.state)
                   if name == "states" else bindparam(name)
                   for name, present in zip(_FILTERS, given, strict=True) if present}
        return appointments_of(bindparam("organization_id"),
                               visible_to(role, bindparam("organization_id"),
                                          bindparam("viewer_id")), **filters)

    return JsonPages(build, APPOINTMENT_SORT_KEY, appointment_json)


async def get_appointments_json_page(session: AsyncSession, principal: Principal,
                                     pages: JsonPages, request: PageRequest,
                                     **filters: Any) -> Page[str]:
    """A page of the appointments `appointments_query` selects, as JSON text."""
    given = {name: value for name, value in filters.items() if value is not None and value != []}
    return await pages.fetch(
        session, (principal.role, *(name in given for name in _FILTERS)), request,
        {"organization_id": current_organization_id(session), "viewer_id": principal.user_id,
         **given})


async def unconfirmed_due(
    session: AsyncSession, *, booked_before: datetime, starting_before: datetime
) -> list[int]:
    """Ids of PRE_CONFIRMED appointments booked before one instant or starting before another."""
    statement = (
        select(Appointment.id)
        .where(
            Appointment.organization_id == current_organization_id(session),
            Appointment.state == AppointmentState.PRE_CONFIRMED,
            (Appointment.booked_at < booked_before) | (Appointment.starts_at <= starting_before),
        )
        .order_by(Appointment.id)
    )
    return list(await session.scalars(statement))


async def open_of_series(session: AsyncSession, series_id: int, *,
                         starting_after: datetime) -> list[int]:
    """Ids of a series' open appointments that start after an instant, earliest first."""
    statement = (
        select(Appointment.id)
        .where(
            Appointment.organization_id == current_organization_id(session),
            Appointment.series_id == series_id,
            Appointment.state.in_(OPEN_STATES),
            Appointment.starts_at > starting_after,
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    return list(await session.scalars(statement))


async def get_series_many(session: AsyncSession, ids: Iterable[int]) -> list[AppointmentSeries]:
    statement = select(AppointmentSeries).where(
        AppointmentSeries.organization_id == current_organization_id(session),
        AppointmentSeries.id.in_(set(ids)),
    )
    return list(await session.scalars(statement))
