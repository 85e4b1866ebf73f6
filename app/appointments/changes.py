"""What every change of an appointment shares: locking an existing one the caller may see,
and the AppointmentChange it returns.

Booking, the lifecycle, cancellation and rescheduling each return an
AppointmentChange; all but booking (which creates the appointment) start by
locking the appointment's row with `lock_visible`, so two changes of one
appointment run one after the other.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import repository
from app.appointments.models import Appointment
from app.appointments.reading import can_see
from app.auth import Principal
from app.credits.ledger import Posting
from app.credits.models import CreditBalance, CreditTransaction
from app.errors import NotFound


@dataclass(frozen=True, slots=True)
class AppointmentChange:
    """An appointment after an operation, and the ledger entry it caused (if any)."""

    appointment: Appointment
    transaction: CreditTransaction | None
    balance: CreditBalance | None


def change(appointment: Appointment, posting: Posting | None) -> AppointmentChange:
    """The AppointmentChange of `appointment`, with the ledger entry `posting` made (if any)."""
    if posting is None:
        return AppointmentChange(appointment, None, None)
    return AppointmentChange(appointment, posting.transaction, posting.balance)


async def lock_visible(
    session: AsyncSession, principal: Principal, appointment_id: int
) -> Appointment:
    """Locks an appointment for a change; one the principal may not see is NOT_FOUND."""
    appointment = await repository.lock(session, appointment_id)
    if appointment is None or not await can_see(session, principal, appointment):
        raise NotFound("No such appointment.", field="appointment_id")
    return appointment
