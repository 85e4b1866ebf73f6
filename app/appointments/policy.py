"""Who may do what to an appointment, and what cancelling it returns (docs/rules.md: roles, appointments).

The cancellation decision is one function used both to answer
`cancellationPreview` and to cancel, so the preview cannot disagree with the
refund.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.appointments.models import Appointment, AppointmentState
from app.auth import Principal, Role
from app.errors import Forbidden


class Action(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    EXECUTE = "execute"
    MARK_NO_SHOW = "mark as no-show"


# Which roles may take each action on an appointment they can see. A
# professional acts only on their own appointments and a client only on
# theirs; that is checked by visibility before this table is consulted.
_ALLOWED_ROLES = {
    Action.CONFIRM: {Role.ADMIN, Role.STAFF, Role.PROFESSIONAL, Role.CLIENT},
    Action.CANCEL: {Role.ADMIN, Role.STAFF, Role.PROFESSIONAL, Role.CLIENT},
    Action.RESCHEDULE: {Role.ADMIN, Role.STAFF, Role.PROFESSIONAL, Role.CLIENT},
    Action.EXECUTE: {Role.ADMIN, Role.PROFESSIONAL},
    Action.MARK_NO_SHOW: {Role.ADMIN, Role.STAFF, Role.PROFESSIONAL},
}

# The transitions of docs/rules.md: appointments; anything else is INVALID_STATE_TRANSITION.
TRANSITIONS = {
    Action.CONFIRM: ({AppointmentState.PRE_CONFIRMED}, AppointmentState.CONFIRMED),
    Action.CANCEL: (
        {AppointmentState.PRE_CONFIRMED, AppointmentState.CONFIRMED},
        AppointmentState.CANCELLED,
    ),
    Action.RESCHEDULE: (
        {AppointmentState.PRE_CONFIRMED, AppointmentState.CONFIRMED},
        None,  # the state carries over
    ),
    Action.EXECUTE: ({AppointmentState.CONFIRMED}, AppointmentState.EXECUTED),
    Action.MARK_NO_SHOW: ({AppointmentState.CONFIRMED}, AppointmentState.NO_SHOW),
}


def check_may(principal: Principal, action: Action) -> None:
    """Raises FORBIDDEN unless the principal's role may take `action` at all."""
    if principal.role not in _ALLOWED_ROLES[action]:
        raise Forbidden(f"A {principal.role.value} may not {action.value} appointments.")


def refundable_until(starts_at: datetime, cancellation_policy_hours: int) -> datetime:
    """The last moment a client may cancel with a refund (snapshotted at booking)."""
    return starts_at - timedelta(hours=cancellation_policy_hours)


@dataclass(frozen=True, slots=True)
class CancellationDecision:
    allowed: bool
    refund_credits: int
    reason: str | None


def decide_cancellation(
    appointment: Appointment, canceller: Role | None, now: datetime
) -> CancellationDecision:
    """What cancelling `appointment` now returns; `canceller=None` is the system (expiry)."""
    allowed_from, _ = TRANSITIONS[Action.CANCEL]
    if appointment.state not in allowed_from:
        return CancellationDecision(
            allowed=False,
            refund_credits=0,
            reason=f"A {appointment.state.value} appointment cannot be cancelled.",
        )
    if canceller is Role.CLIENT and now > appointment.refundable_until:
        return CancellationDecision(
            allowed=True,
            refund_credits=0,
            reason="Late cancellation: past refundableUntil no credits are returned.",
        )
    # Before the deadline, or cancelled by the centre or the system: a full refund.
    return CancellationDecision(allowed=True, refund_credits=appointment.credit_cost, reason=None)
