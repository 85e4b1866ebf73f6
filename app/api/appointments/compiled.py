"""`appointments` as a compiled query (app/api/compiled.py)."""

from typing import Any

from app import global_ids as ids
from app import json_sql
from app.api.compiled import (
    Compiler,
    RootRun,
    Selected,
    Shape,
    compile_connection,
    root_compiler,
    shape,
)
from app.api.context import Context
from app.appointments import reading, repository
from app.appointments.models import Appointment, AppointmentState

# `privateNotes`, `cancelledBy` and `cancellationPreview` have rules of their own, and
# `timeSlot` may be gone: the general road's.
shape("Appointment", Shape(
    table=Appointment.__table__, global_id="Appointment",
    columns={"startsAt": "starts_at", "endsAt": "ends_at", "state": "state",
             "creditCost": "credit_cost", "refundableUntil": "refundable_until",
             "notes": "notes", "bookedAt": "booked_at", "confirmedAt": "confirmed_at",
             "executedAt": "executed_at", "cancelledAt": "cancelled_at",
             "cancellationReason": "cancellation_reason"},
    relations={"professional": ("professional_id", "Professional"),
               "client": ("client_id", "User"), "student": ("student_id", "Student")},
))


def _filters(given: dict[str, Any] | None) -> dict[str, Any]:
    """The filter as app/api/appointments/queries.py passes it to the domain."""
    if given is None:
        return {}
    professional_id, client_id = given.get("professionalId"), given.get("clientId")
    states = given.get("states")
    return {
        "professional_id": None if professional_id is None else ids.decode(
            professional_id, "Professional", field="professional_id"),
        "client_id": None if client_id is None else ids.decode(client_id, "User",
                                                               field="client_id"),
        "states": None if states is None else [AppointmentState(state) for state in states],
        "starts_from": given.get("from"),
        "starts_before": given.get("to"),
    }


@root_compiler("appointments")
def compile_appointments(compiler: Compiler, selected: Selected) -> RootRun:
    projection, connection = compile_connection(compiler, selected, "Appointment")
    pages = repository.appointments_json_pages(json_sql.row_json(projection,
                                                                 Appointment.__table__))

    async def run(context: Context, arguments: dict[str, Any]) -> Any:
        principal = await context.principal()
        async with context.reading() as session:
            page = await reading.list_appointments_json(
                session, principal, pages, first=arguments.get("first"),
                after=arguments.get("after"), **_filters(arguments.get("filter")))
        return connection(page)

    return run
