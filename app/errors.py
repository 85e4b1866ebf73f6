"""Domain errors. Each carries the stable code the API reports for it.

Two families:
- `UserError` subclasses are business-rule refusals. The API returns them as
  `userErrors` on a mutation payload (and the transaction is rolled back).
- `AccessError` subclasses are authentication, tenant and permission failures.
  The API returns them as top-level GraphQL errors with `extensions.code`.
"""

from enum import StrEnum


class UserErrorCode(StrEnum):
    VALIDATION_FAILED = "VALIDATION_FAILED"
    NOT_FOUND = "NOT_FOUND"
    SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    OVERLAPPING_AVAILABILITY = "OVERLAPPING_AVAILABILITY"
    OUTSIDE_BOOKING_WINDOW = "OUTSIDE_BOOKING_WINDOW"
    INVALID_STATE_TRANSITION = "INVALID_STATE_TRANSITION"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    CONFLICT = "CONFLICT"
    INVALID_TOKEN = "INVALID_TOKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    PAYMENT_UNAVAILABLE = "PAYMENT_UNAVAILABLE"


class AppError(Exception):
    """Base of every error the server reports to callers with a code."""

    code: str = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> dict[str, str]:
        # graphql-core copies an original error's `extensions` onto the GraphQL error.
        return {"code": self.code}


class UserError(AppError):
    """A business-rule refusal; nothing is written.

    `field` names the argument at fault as the refusing service calls it (e.g. "slot_id";
    for a value inside a mapping such as `changes`, its key), so the domain, its jobs and
    the CLI need not know the API's shape; the API maps it to its input path
    (app/api/errors.py: `input_path`).
    """

    code: UserErrorCode = UserErrorCode.VALIDATION_FAILED

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ValidationFailed(UserError):
    code = UserErrorCode.VALIDATION_FAILED


class NotFound(UserError):
    """The object does not exist in the caller's organization (or the ID is malformed)."""

    code = UserErrorCode.NOT_FOUND


class Conflict(UserError):
    code = UserErrorCode.CONFLICT


class InvalidToken(UserError):
    """An emailed token (invitation, password reset) that is unknown, used, expired or
    replaced: one answer for all four, so a caller learns nothing about which."""

    code = UserErrorCode.INVALID_TOKEN

    def __init__(self, *, field: str = "token") -> None:
        super().__init__("This link is invalid or has expired; ask for a new one.", field=field)


class WeakPassword(UserError):
    """A password that breaks the password rules (app/people/passwords.py)."""

    code = UserErrorCode.WEAK_PASSWORD


class PaymentUnavailable(UserError):
    """Online payment is not set up on this server, or the payment provider refused or could
    not be reached; nothing was bought."""

    code = UserErrorCode.PAYMENT_UNAVAILABLE


class AccessError(AppError):
    pass


class Unauthenticated(AccessError):
    code = "UNAUTHENTICATED"


class Forbidden(AccessError):
    code = "FORBIDDEN"


class RateLimited(AccessError):
    """Too many attempts (e.g. failed logins of one account); try again after a while."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds

    @property
    def extensions(self) -> dict[str, str | int]:
        return {"code": self.code, "retryAfterSeconds": self.retry_after_seconds}


class InsufficientCredits(UserError):
    """The balance (or its unexpired lots) cannot cover a debit."""

    code = UserErrorCode.INSUFFICIENT_CREDITS


class InvalidStateTransition(UserError):
    """The object is not in a state that allows this change (e.g. settling a settled purchase)."""

    code = UserErrorCode.INVALID_STATE_TRANSITION


class IdempotencyKeyReused(UserError):
    """An idempotency key came back with a different input than its first use."""

    code = UserErrorCode.IDEMPOTENCY_KEY_REUSED


class OverlappingAvailability(UserError):
    """Two active availability rules of one professional would overlap."""

    code = UserErrorCode.OVERLAPPING_AVAILABILITY


class SlotUnavailable(UserError):
    """The slot is booked, blocked or gone."""

    code = UserErrorCode.SLOT_UNAVAILABLE


class OutsideBookingWindow(UserError):
    """The slot starts in the past, beyond the booking window, or inside the minimum notice."""

    code = UserErrorCode.OUTSIDE_BOOKING_WINDOW
