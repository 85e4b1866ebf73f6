"""OrganizationReport and its parts, as the API shows them."""

from datetime import date

import strawberry
from strawberry import Private

from app.api.appointments.types import AppointmentStateType
from app.api.context import Info
from app.api.people.types import ProfessionalType
from app.appointments.models import AppointmentState
from app.reports.organization import CreditFigures, OrganizationReport, ProfessionalFigures


@strawberry.type(description="How many appointments are in a state.")
class AppointmentStateCount:
    state: AppointmentStateType = strawberry.field(description="The state.")
    count: int = strawberry.field(description="How many.")


def _counts(by_state: dict[AppointmentState, int]) -> list[AppointmentStateCount]:
    """Every state, in the lifecycle's order, zeros included: the same rows every time."""
    return [AppointmentStateCount(state=state, count=by_state.get(state, 0))
            for state in AppointmentState]


@strawberry.type(name="ProfessionalReport", description="One professional's figures.")
class ProfessionalReportType:
    offered_minutes: int = strawberry.field(description=(
        "Minutes of slots offered in the period (AVAILABLE or BOOKED; BLOCKED excluded)."))
    booked_minutes: int = strawberry.field(
        description="Minutes of appointments that were booked and not cancelled.")
    utilization: float = strawberry.field(
        description="bookedMinutes / offeredMinutes, 0 when nothing was offered.")
    appointments_by_state: list[AppointmentStateCount] = strawberry.field(
        description="The professional's appointments of the period, by state.")
    late_cancellations: int = strawberry.field(description=(
        "Appointments the client cancelled after refundableUntil."))
    professional_pk: Private[int]

    @classmethod
    def from_figures(cls, figures: ProfessionalFigures) -> "ProfessionalReportType":
        return cls(offered_minutes=figures.offered_minutes,
                   booked_minutes=figures.booked_minutes, utilization=figures.utilization,
                   appointments_by_state=_counts(figures.by_state),
                   late_cancellations=figures.late_cancellations,
                   professional_pk=figures.professional_id)

    @strawberry.field(description="Whose figures.")
    async def professional(self, info: Info) -> ProfessionalType:
        loaded = await info.context.loaders.professional.load(self.professional_pk)
        return ProfessionalType.from_model(loaded)


@strawberry.type(name="CreditReport", description="The credits of the period.")
class CreditReportType:
    purchased: int = strawberry.field(description="Credits bought (completed purchases).")
    used: int = strawberry.field(description="Credits spent on bookings.")
    refunded: int = strawberry.field(description="Credits returned by cancellations.")
    expired: int = strawberry.field(description="Credits lost to expiry.")
    adjusted: int = strawberry.field(description="Credits added (or, negative, removed) by ADMIN.")
    outstanding: int = strawberry.field(description=(
        "Credits held by clients at the end of the period (what the centre still owes in "
        "sessions)."))
    revenue_cents: int = strawberry.field(description=(
        "Money taken for completed purchases in the period, in minor units of the "
        "organization's currency."))
    currency: str = strawberry.field(description="ISO-4217: the organization's currency.")

    @classmethod
    def from_figures(cls, figures: CreditFigures) -> "CreditReportType":
        return cls(purchased=figures.purchased, used=figures.used, refunded=figures.refunded,
                   expired=figures.expired, adjusted=figures.adjusted,
                   outstanding=figures.outstanding, revenue_cents=figures.revenue_cents,
                   currency=figures.currency)


@strawberry.type(name="OrganizationReport", description="The organization's figures for a period.")
class OrganizationReportType:
    from_: date = strawberry.field(name="from", description="The first day.")
    to: date = strawberry.field(description="The last day, included.")
    time_zone: str = strawberry.field(
        description="Days are cut in this zone (the organization's).")
    appointments_by_state: list[AppointmentStateCount] = strawberry.field(
        description="Appointments starting in the period (of the professionals shown), by state.")
    professionals: list[ProfessionalReportType] = strawberry.field(
        description="One row per professional shown.")
    credits: CreditReportType | None = strawberry.field(
        description="Null for callers who may not see credits.")

    @classmethod
    def from_report(cls, report: OrganizationReport) -> "OrganizationReportType":
        return cls(
            from_=report.first_day, to=report.last_day, time_zone=report.time_zone,
            appointments_by_state=_counts(report.by_state),
            professionals=[ProfessionalReportType.from_figures(row)
                           for row in report.professionals],
            credits=None if report.credits is None
            else CreditReportType.from_figures(report.credits))
