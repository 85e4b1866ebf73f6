"""The organization's report for a period (docs/rules.md: reports): appointments by state,
each professional's offered and booked minutes and late cancellations, and the credits of
the period with what clients still hold at its end.

Every figure is a GROUP BY in PostgreSQL, three statements in all, under the caller's
tenant. The period is whole days cut in the organization's zone. `outstanding` is summed
from the ledger up to the period's end, so a past period shows what clients held then.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger

from app.appointments.models import AppointmentState
from app.auth import Principal, Role
from app.errors import Forbidden, NotFound, ValidationFailed
from app.organizations import repository as organizations
from app.organizations.models import Organization
from app.people import repository as people
from app.people.models import Professional
from app.tenancy import current_organization_id

MAX_DAYS = 366


@dataclass
class ProfessionalFigures:
    professional_id: int
    offered_minutes: int = 0
    booked_minutes: int = 0
    by_state: dict[AppointmentState, int] = field(default_factory=dict)
    late_cancellations: int = 0

    @property
    def utilization(self) -> float:
        return self.booked_minutes / self.offered_minutes if self.offered_minutes else 0.0


@dataclass(frozen=True)
class CreditFigures:
    purchased: int
    used: int
    refunded: int
    expired: int
    adjusted: int
    outstanding: int
    revenue_cents: int
    currency: str


@dataclass(frozen=True)
class OrganizationReport:
    first_day: date
    last_day: date
    time_zone: str
    by_state: dict[AppointmentState, int]
    professionals: list[ProfessionalFigures]
    credits: CreditFigures | None  # None for a caller who may not see credits


_APPOINTMENTS = text(
    """
    SELECT professional_id, state, count(*) AS appointments,
           coalesce(sum(extract(epoch FROM ends_at - starts_at) / 60)
                    FILTER (WHERE state <> 'CANCELLED'), 0)::bigint AS booked_minutes,
           -- A client's own cancellation after the refund deadline.
           count(*) FILTER (WHERE state = 'CANCELLED' AND cancelled_by_id = client_id
                              AND cancelled_at > refundable_until) AS late_cancellations
    FROM appointments
    WHERE organization_id = :organization AND starts_at >= :start AND starts_at < :end
      AND professional_id = ANY(:professionals)
    GROUP BY professional_id, state
    """
).bindparams(bindparam("professionals", type_=ARRAY(BigInteger)))

_OFFERED = text(
    """
    SELECT professional_id,
           coalesce(sum(extract(epoch FROM ends_at - starts_at) / 60), 0)::bigint AS minutes
    FROM time_slots
    WHERE organization_id = :organization AND starts_at >= :start AND starts_at < :end
      AND status IN ('AVAILABLE', 'BOOKED') AND professional_id = ANY(:professionals)
    GROUP BY professional_id
    """
).bindparams(bindparam("professionals", type_=ARRAY(BigInteger)))

# A balance is the sum of its client's COMPLETED entries (`bookings check-ledger` proves
# it), so the sum of every entry completed before the end is what clients held then.
_CREDITS = text(
    """
    SELECT coalesce(sum(amount) FILTER (WHERE in_period AND type = 'PURCHASE'), 0)::bigint
             AS purchased,
           coalesce(-sum(amount) FILTER (WHERE in_period AND type = 'APPOINTMENT_DEBIT'), 0)
             ::bigint AS used,
           coalesce(sum(amount) FILTER (WHERE in_period AND type = 'CANCELLATION_REFUND'), 0)
             ::bigint AS refunded,
           coalesce(-sum(amount) FILTER (WHERE in_period AND type = 'EXPIRATION'), 0)::bigint
             AS expired,
           coalesce(sum(amount) FILTER (WHERE in_period AND type = 'ADMIN_ADJUSTMENT'), 0)
             ::bigint AS adjusted,
           coalesce(sum(amount), 0)::bigint AS outstanding,
           -- sum() of bigint is numeric: back to bigint, an int on every driver
           coalesce(sum(amount_paid_cents) FILTER (WHERE in_period AND type = 'PURCHASE'), 0)
             ::bigint AS revenue_cents
    FROM (SELECT type, amount, amount_paid_cents, processed_at >= :start AS in_period
          FROM credit_transactions
          WHERE organization_id = :organization AND status = 'COMPLETED'
            AND processed_at < :end) AS entry
    """
)


@dataclass(frozen=True)
class Scope:
    """What a report (or an export) covers: the organization, the period as instants, and
    the professionals the caller may see among those asked for."""

    organization: Organization
    start: datetime
    end: datetime
    professional_ids: list[int]

    @property
    def parameters(self) -> dict:
        return {"organization": self.organization.id, "start": self.start, "end": self.end}


async def scope(session: AsyncSession, principal: Principal, *, first_day: date, last_day: date,
                professional_ids: Sequence[int] | None = None) -> Scope:
    """ADMIN and STAFF: the whole organization (or the professionals asked for); a
    PROFESSIONAL: their own row; a CLIENT: FORBIDDEN. Whole days in the organization's zone,
    at most MAX_DAYS."""
    if principal.role is Role.CLIENT:
        raise Forbidden("Clients have no reports.")
    if last_day < first_day:
        raise ValidationFailed("`to` is before `from`.", field="to")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise ValidationFailed(f"A report covers at most {MAX_DAYS} days.", field="to")
    organization = await organizations.get_current(session)
    zone = ZoneInfo(organization.time_zone)
    return Scope(organization, datetime.combine(first_day, time(), zone),
                 datetime.combine(last_day + timedelta(days=1), time(), zone),
                 await _professionals(session, principal, professional_ids))


async def organization_report(session: AsyncSession, principal: Principal, *, first_day: date,
                              last_day: date,
                              professional_ids: Sequence[int] | None = None
                              ) -> OrganizationReport:
    """The report of `scope`; credits for ADMIN and STAFF only."""
    covered = await scope(session, principal, first_day=first_day, last_day=last_day,
                          professional_ids=professional_ids)
    organization, wanted, period = covered.organization, covered.professional_ids, covered.parameters

    figures = {professional_id: ProfessionalFigures(professional_id) for professional_id in wanted}
    by_state: dict[AppointmentState, int] = defaultdict(int)
    for row in await session.execute(_APPOINTMENTS, {**period, "professionals": wanted}):
        state = AppointmentState(row.state)
        own = figures[row.professional_id]
        own.by_state[state] = row.appointments
        own.booked_minutes += row.booked_minutes
        own.late_cancellations += row.late_cancellations
        by_state[state] += row.appointments
    for row in await session.execute(_OFFERED, {**period, "professionals": wanted}):
        figures[row.professional_id].offered_minutes = row.minutes

    credits = None
    if principal.is_staff_or_admin:
        row = (await session.execute(_CREDITS, period)).one()
        credits = CreditFigures(**row._asdict(), currency=organization.currency)
    return OrganizationReport(first_day=first_day, last_day=last_day,
                              time_zone=organization.time_zone, by_state=dict(by_state),
                              professionals=list(figures.values()), credits=credits)


async def _professionals(session: AsyncSession, principal: Principal,
                         asked: Sequence[int] | None) -> list[int]:
    """The professionals the report covers: the caller alone for a PROFESSIONAL; else those
    asked for (NOT_FOUND if one is not the organization's), or every one."""
    if principal.role is Role.PROFESSIONAL:
        own = await people.find_professional_by_user(session, principal.user_id)
        return [] if own is None else [own.id]
    if asked is not None:
        found = {professional.id for professional in await people.get_professionals(session, asked)}
        missing = [professional_id for professional_id in asked if professional_id not in found]
        if missing:
            raise NotFound("No such professional.", field="professional_ids")
        return list(dict.fromkeys(asked))
    return list(await session.scalars(
        select(Professional.id)
        .where(Professional.organization_id == current_organization_id(session))
        .order_by(Professional.id)))
