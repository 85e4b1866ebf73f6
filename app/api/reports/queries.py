"""Reading the organization's report."""

from datetime import date
from typing import Annotated

import strawberry

from app import global_ids as ids
from app.api.context import Info
from app.api.reports.types import OrganizationReportType
from app.reports.organization import organization_report


@strawberry.type
class Query:
    @strawberry.field(description="ADMIN and STAFF: the whole organization; PROFESSIONAL: their "
                                  "own row only. At most 366 days.")
    async def organization_report(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date,
        professional_ids: list[strawberry.ID] | None = None,
    ) -> OrganizationReportType:
        principal = await info.context.principal()
        wanted = None if professional_ids is None else [
            ids.decode(global_id, "Professional", field="professional_ids")
            for global_id in professional_ids]
        async with info.context.reading() as session:
            report = await organization_report(session, principal, first_day=from_, last_day=to,
                                               professional_ids=wanted)
        return OrganizationReportType.from_report(report)
