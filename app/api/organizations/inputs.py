"""Input and payload of `updateOrganizationSettings`."""

import strawberry

from app.api.common import USER_ERRORS
from app.api.errors import UserErrorType
from app.api.organizations.types import OrganizationType


@strawberry.input(description="Changes to the organization; omitted fields stay as they are.")
class UpdateOrganizationSettingsInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
    time_zone: str | None = strawberry.field(default=strawberry.UNSET, description="IANA zone.")
    currency: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO-4217 code."
    )
    booking_window_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="How far ahead clients may book."
    )
    minimum_notice_minutes: int | None = strawberry.field(
        default=strawberry.UNSET, description="No client booking closer than this to the start."
    )
    cancellation_policy_hours: int | None = strawberry.field(
        default=strawberry.UNSET, description="A client cancelling at least this early gets a "
        "refund (bookings made from now on)."
    )
    pre_confirmation_ttl_hours: int | None = strawberry.field(
        default=strawberry.UNSET, description="Unconfirmed bookings expire after this many hours."
    )
    default_session_minutes: int | None = strawberry.field(
        default=strawberry.UNSET, description="Session length of new professionals."
    )
    credit_expiry_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="null: purchased credits never expire."
    )
    reminder_lead_hours: list[int] | None = strawberry.field(
        default=strawberry.UNSET, description="Hours before each appointment that reminders go "
        "out, e.g. [24, 2]."
    )
    allow_client_signup: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether clients may create their own account."
    )
    locale: str | None = strawberry.field(
        default=strawberry.UNSET, description="BCP 47 tag of messages and calendar texts, "
        "e.g. \"es-AR\". Refused unless English or Spanish."
    )


@strawberry.type(description="The organization as saved, or why not.")
class OrganizationPayload:
    organization: OrganizationType | None = strawberry.field(
        default=None, description="The organization as saved; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )
