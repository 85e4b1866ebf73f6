"""Object types of the organization (the tenant) and its booking rules."""

import strawberry

from app import global_ids as ids
from app.api.common import Node
from app.organizations.models import Organization


@strawberry.type(description="Booking rules of the organization.")
class OrganizationSettings:
    booking_window_days: int = strawberry.field(description="How far ahead clients may book.")
    minimum_notice_minutes: int = strawberry.field(
        description="No client booking closer than this to the start."
    )
    cancellation_policy_hours: int = strawberry.field(
        description="A client cancelling at least this early gets a refund."
    )
    pre_confirmation_ttl_hours: int = strawberry.field(
        description="Unconfirmed bookings expire after this many hours."
    )
    default_session_minutes: int = strawberry.field(
        description="Session length of new professionals."
    )
    credit_expiry_days: int | None = strawberry.field(
        description="Days until purchased credits expire; null: they never expire."
    )
    reminder_lead_hours: list[int] = strawberry.field(
        description="Reminders go out this many hours before each appointment, e.g. [24, 2]."
    )
    allow_client_signup: bool = strawberry.field(
        description="Clients may create their own account with `signUp`."
    )
    locale: str = strawberry.field(
        description="BCP 47 language tag for messages and calendar texts, e.g. \"es-AR\". "
                    "Default \"en\"."
    )


@strawberry.type(name="Organization", description="A centre, clinic or practice: the tenant.")
class OrganizationType(Node):
    slug: str = strawberry.field(description="Short unique name, used to log in.")
    name: str = strawberry.field(description="Display name.")
    time_zone: str = strawberry.field(description='IANA zone, e.g. "America/Argentina/Buenos_Aires".')
    currency: str = strawberry.field(description="ISO-4217 code of the money paid for credits.")
    settings: OrganizationSettings = strawberry.field(description="Its booking rules.")

    @classmethod
    def from_model(cls, organization: Organization) -> "OrganizationType":
        return cls(
            id=ids.encode("Organization", organization.id),
            slug=organization.slug,
            name=organization.name,
            time_zone=organization.time_zone,
            currency=organization.currency,
            settings=OrganizationSettings(
                booking_window_days=organization.booking_window_days,
                minimum_notice_minutes=organization.minimum_notice_minutes,
                cancellation_policy_hours=organization.cancellation_policy_hours,
                pre_confirmation_ttl_hours=organization.pre_confirmation_ttl_hours,
                default_session_minutes=organization.default_session_minutes,
                credit_expiry_days=organization.credit_expiry_days,
                reminder_lead_hours=list(organization.reminder_lead_hours),
                allow_client_signup=organization.allow_client_signup,
                locale=organization.locale,
            ),
        )
