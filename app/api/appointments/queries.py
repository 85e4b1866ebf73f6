"""Reading appointments: the `appointments` query, appointments by global ID (`node`), and the
fields of lower domains that show one: TimeSlot.appointment and CreditTransaction.appointment.
"""

import strawberry

from app.api.appointments.inputs import AppointmentFilter, optional_id
from app.api.appointments.types import AppointmentSeriesType, AppointmentType
from app.api.common import Connection
from app.api.context import Info
from app.api.credits.types import appointment_of_transaction
from app.api.nodes import node_resolver
from app.api.scheduling.types import appointment_of_slot
from app.appointments import reading, series
from app.pagination import count

# ---- fields of TimeSlot and CreditTransaction (see their types) -------------


@appointment_of_slot.supply
async def slot_appointment(info: Info, slot_pk: int) -> AppointmentType | None:
    """`TimeSlot.appointment`: the live appointment, if the caller may see it."""
    appointment = await info.context.loaders.live_appointment_of_slot.load(slot_pk)
    if appointment is None:
        return None
    principal = await info.context.principal()
    async with info.context.reading() as session:
        visible = await reading.can_see(session, principal, appointment)
    return AppointmentType.from_model(appointment) if visible else None


@appointment_of_transaction.supply
async def transaction_appointment(info: Info, appointment_pk: int) -> AppointmentType | None:
    """`CreditTransaction.appointment`: whoever sees the entry sees the client's appointment."""
    appointment = await info.context.loaders.appointment.load(appointment_pk)
    return None if appointment is None else AppointmentType.from_model(appointment)


# ---- node resolvers ---------------------------------------------------------


@node_resolver("Appointment")
async def resolve_appointment(info: Info, pk: int) -> AppointmentType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        return AppointmentType.from_model(await reading.get_appointment(session, principal, pk))


@node_resolver("AppointmentSeries")
async def resolve_series(info: Info, pk: int) -> AppointmentSeriesType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        return AppointmentSeriesType.from_model(await series.get_series(session, principal, pk))


# ---- operations -------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="Appointments the caller may see, earliest first (`first` <= 100).")
    async def appointments(
        self,
        info: Info,
        filter: AppointmentFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AppointmentType]:
        principal = await info.context.principal()
        filters = {}
        if filter is not None:
            filters = {
                "professional_id": optional_id(filter.professional_id, "Professional",
                                                ["filter", "professionalId"]),
                "client_id": optional_id(filter.client_id, "User", ["filter", "clientId"]),
                "states": filter.states,
                "starts_from": filter.from_,
                "starts_before": filter.to,
            }
        async with info.context.reading() as session:
            page = await reading.list_appointments(session, principal, first=first, after=after,
                                                   **filters)

        async def total() -> int:
            async with info.context.reading() as session:
                return await count(session, reading.appointments_query(session, principal,
                                                                       **filters))

        return Connection.from_page(page, AppointmentType.from_model, total)

    @strawberry.field(description="Standing appointments the caller may see (as for "
                                  "appointments), oldest first (`first` <= 100).")
    async def appointment_series(
        self,
        info: Info,
        client_id: strawberry.ID | None = None,
        professional_id: strawberry.ID | None = None,
        active: bool | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[AppointmentSeriesType]:
        principal = await info.context.principal()
        filters = {"client_id": optional_id(client_id, "User", "client_id"),
                   "professional_id": optional_id(professional_id, "Professional",
                                                  "professional_id"),
                   "active": active}
        async with info.context.reading() as session:
            await reading.check_filter_targets(session, principal, filters["professional_id"],
                                               filters["client_id"])
            page = await series.list_series(session, principal, first=first, after=after,
                                            **filters)

        async def total() -> int:
            async with info.context.reading() as session:
                return await count(session, series.series_query(session, principal, **filters))

        return Connection.from_page(page, AppointmentSeriesType.from_model, total)
