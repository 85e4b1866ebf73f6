"""Reading appointments: getting one or a page of those a caller may see, who sees private
notes, and what cancelling one now would return.

`can_see` is the one visibility rule; the changes lock an appointment through it too
(app/appointments/changes.py). `cancellation_preview` asks the same
`decide_cancellation` (app/appointments/policy.py) that cancelling does.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app import pagination
from app.appointments import repository
from app.appointments.models import Appointment, AppointmentState
from app.appointments.policy import CancellationDecision, decide_cancellation
from app.auth import Principal, Role
from app.clock import utc_now
from app.errors import NotFound, ValidationFailed
from app.people import repository as people
from app.people.models import Professional


async def get_appointment(
    session: AsyncSession,
    principal: Principal,
    appointment_id: int,
    *,
    field: str | None = None,
) -> Appointment:
    """Gets an appointment the principal may see; anything else is NOT_FOUND."""
    appointment = await repository.get(session, appointment_id)
    if appointment is None or not await can_see(session, principal, appointment):
        raise NotFound("No such appointment.", field=field)
    return appointment


async def can_see(session: AsyncSession, principal: Principal, appointment: Appointment) -> bool:
    """STAFF and ADMIN see all; a client their own; a professional their own."""
    if principal.is_staff_or_admin:
        return True
    if principal.role is Role.CLIENT:
        return appointment.client_id == principal.user_id
    if principal.role is Role.PROFESSIONAL:
        professional = await people.find_professional_by_user(session, principal.user_id)
        return professional is not None and professional.id == appointment.professional_id
    return False


def can_see_private_notes(principal: Principal, professional: Professional) -> bool:
    """Private notes are for the appointment's professional and ADMIN only."""
    return principal.is_admin or professional.user_id == principal.user_id


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
    """The appointments the principal may see, filtered; paged by the caller."""
    _check_range(starts_from, starts_before)
    return repository.appointments_query(
        session, principal, professional_id=professional_id, client_id=client_id, states=states,
        starts_from=starts_from, starts_before=starts_before,
    )


async def list_appointments(
    session: AsyncSession,
    principal: Principal,
    *,
    first: int | None = None,
    after: str | None = None,
    **filters: Any,
) -> pagination.Page[Appointment]:
    """Gets one page of the visible appointments, earliest start first."""
    await check_filter_targets(session, principal, filters.get("professional_id"),
                                filters.get("client_id"))
    request = pagination.page_request(first, after, repository.APPOINTMENT_SORT_KEY)
    statement = appointments_query(session, principal, **filters)
    return await pagination.fetch_page(session, statement, request,
                                       repository.APPOINTMENT_SORT_KEY)


async def list_appointments_json(
    session: AsyncSession,
    principal: Principal,
    pages: pagination.JsonPages,
    *,
    first: int | None = None,
    after: str | None = None,
    **filters: Any,
) -> pagination.Page[str]:
    """As `list_appointments`, each appointment as JSON text, by a
    `repository.appointments_json_pages`."""
    await check_filter_targets(session, principal, filters.get("professional_id"),
                                filters.get("client_id"))
    request = pagination.page_request(first, after, repository.APPOINTMENT_SORT_KEY)
    _check_range(filters.get("starts_from"), filters.get("starts_before"))
    return await repository.get_appointments_json_page(session, principal, pages, request,
                                                       **filters)


def _check_range(starts_from: datetime | None, starts_before: datetime | None) -> None:
    if starts_from and starts_before and starts_before <= starts_from:
        raise ValidationFailed("`to` must come after `from`.", field="starts_before")


async def check_filter_targets(
    session: AsyncSession, principal: Principal, professional_id: int | None,
    client_id: int | None,
) -> None:
    """NOT_FOUND for a filter naming a professional or client the caller cannot see."""
    # A filter naming someone the caller cannot see (another organization's, above all)
    # is NOT_FOUND, as that ID is everywhere else, rather than an empty list.
    if professional_id is not None and not await people.professional_exists(
            session, professional_id):
        raise NotFound("No such professional.", field="professional_id")
    if client_id is not None and await people.get_visible_user(
            session, principal, client_id) is None:
        raise NotFound("No such client.", field="client_id")


def cancellation_preview(
    principal: Principal, appointment: Appointment, now: datetime | None = None
) -> CancellationDecision:
    """What cancelling now would return, decided by the code that cancels."""
    return decide_cancellation(appointment, principal.role, utc_now(now))
