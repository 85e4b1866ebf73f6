"""GraphQL types and operations of the organization and its settings."""

import strawberry

from app.api import ids
from app.api.context import Info
from app.api.errors import UserErrorType, run_mutation
from app.api.inputs import given_changes
from app.api.nodes import node_resolver
from app.api.types.common import USER_ERRORS, Node
from app.errors import NotFound
from app.organizations import service
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
            ),
        )


@node_resolver("Organization")
async def resolve_organization(info: Info, pk: int) -> OrganizationType:
    await info.context.principal()
    if pk != info.context.organization_id:
        raise NotFound("No such organization.")
    return await organization(info)


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


@strawberry.type(description="The organization as saved, or why not.")
class OrganizationPayload:
    organization: OrganizationType | None = strawberry.field(
        default=None, description="The organization as saved; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


async def organization(info: Info) -> OrganizationType:
    await info.context.principal()
    async with info.context.reading() as session:
        return OrganizationType.from_model(await service.get_current(session))


@strawberry.type
class Query:
    organization: OrganizationType = strawberry.field(
        resolver=organization, description="The caller's organization."
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Change the organization's name, zone or booking rules (ADMIN).")
    async def update_organization_settings(
        self, info: Info, input: UpdateOrganizationSettingsInput
    ) -> OrganizationPayload:
        async def action(session, principal):
            updated = await service.update_settings(session, principal, given_changes(input))
            return OrganizationPayload(organization=OrganizationType.from_model(updated))

        return await run_mutation(info, OrganizationPayload, action)
