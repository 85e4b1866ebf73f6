"""`availability` as a compiled query (app/api/compiled.py): one statement answers the
professionals, their days and their slots as the JSON the client selected."""

from typing import Any

from app import global_ids as ids
from app import json_sql
from app.api.compiled import (
    Compiler,
    NotCompilable,
    RootRun,
    Selected,
    Shape,
    fragment,
    root_compiler,
    shape,
)
from app.api.context import Context
from app.scheduling import availability as availability_service
from app.scheduling.models import TimeSlot
from app.scheduling.repository import AvailabilityJson

shape("TimeSlot", Shape(
    table=TimeSlot.__table__, global_id="TimeSlot",
    columns={"startsAt": "starts_at", "endsAt": "ends_at", "status": "status"},
    relations={"professional": ("professional_id", "Professional")},
))


@root_compiler("availability")
def compile_availability(compiler: Compiler, selected: Selected) -> RootRun:
    entry: list[tuple[str, object]] = []
    day: list[tuple[str, object]] = []
    for field in compiler.selection(selected, "ProfessionalAvailability"):
        if field.name == "professional":
            entry.append((field.key, compiler.projection(field, "Professional")))
        elif field.name in ("timeZone", "days"):
            entry.append((field.key, "time_zone" if field.name == "timeZone" else "days"))
        elif field.name == "__typename":
            entry.append((field.key, json_sql.Constant(field.key, "ProfessionalAvailability")))
        else:
            raise NotCompilable(field.name)
        if field.name == "days":
            for part in compiler.selection(field, "AvailabilityDay"):
                if part.name == "date":
                    day.append((part.key, "date"))
                elif part.name == "slots":
                    day.append((part.key, compiler.projection(part, "TimeSlot")))
                elif part.name == "__typename":
                    day.append((part.key, json_sql.Constant(part.key, "AvailabilityDay")))
                else:
                    raise NotCompilable(part.name)
    if sum(isinstance(part, tuple) for _, part in day) > 1:
        raise NotCompilable("slots twice")  # one statement, one selection of slots
    shape_ = AvailabilityJson(entry=tuple(entry), day=tuple(day))
    statement = shape_.statement()

    async def run(context: Context, arguments: dict[str, Any]) -> Any:
        principal = await context.principal()
        pks = [ids.decode(global_id, "Professional", field="professional_ids")
               for global_id in arguments["professionalIds"]]
        async with context.reading() as session:
            return fragment(await availability_service.get_availability_json(
                session, principal, statement, pks, arguments["from"], arguments["to"],
                time_zone=arguments.get("timeZone")))

    return run

