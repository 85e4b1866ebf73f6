"""Object types of users, students and professionals.

People is the domain the others build on: scheduling, credits and appointments import these
types, and this module imports none of theirs. Its fields that show their objects
(User.creditBalance, Professional.availabilityRules and timeOff) name those types lazily and
are resolved by those domains, through the `SuppliedResolver`s below (see app/api/supplied.py).
"""

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app import global_ids as ids
from app.api.common import Node
from app.api.context import Info
from app.api.supplied import SuppliedResolver
from app.calendar import feeds
from app.people import service
from app.people.models import Professional, Role, Student, User

if TYPE_CHECKING:
    from app.api.credits.types import CreditBalanceType
    from app.api.scheduling.types import AvailabilityRuleType, TimeOffType

_credits = strawberry.lazy("app.api.credits.types")
_scheduling = strawberry.lazy("app.api.scheduling.types")

# Supplied by app/api/credits/queries.py.
credit_balance_of_user: SuppliedResolver[[Info, int], "CreditBalanceType | None"] = (
    SuppliedResolver("User.creditBalance")
)
# Supplied by app/api/scheduling/queries.py.
availability_rules_of_professional: SuppliedResolver[
    [Info, Professional], "list[AvailabilityRuleType]"
] = SuppliedResolver("Professional.availabilityRules")
time_off_of_professional: SuppliedResolver[
    [Info, Professional, datetime, datetime], "list[TimeOffType]"
] = SuppliedResolver("Professional.timeOff")


RoleType = strawberry.enum(Role, name="Role", description="What a user may do in the organization.")


@strawberry.type(name="User", description="A person who logs in: admin, staff, professional or client.")
class UserType(Node):
    email: str = strawberry.field(
        description="Login and contact address, unique in the organization."
    )
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    phone: str = strawberry.field(description="Contact phone number, as entered.")
    role: RoleType = strawberry.field(description="What the user may do.")
    active: bool = strawberry.field(description="Deactivated users cannot log in.")
    locale: str | None = strawberry.field(
        description="The user's own language for messages; null: the organization's.")
    pk: Private[int]
    pending: Private[bool]

    @classmethod
    def from_model(cls, user: User) -> "UserType":
        return cls(
            id=ids.encode("User", user.id),
            pk=user.id,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            phone=user.phone,
            role=user.role,
            active=user.active,
            locale=user.locale,
            pending=user.invitation_pending,
        )

    @strawberry.field(description="True from an invitation until the person sets a password. "
                                  "Visible to STAFF and ADMIN; false for anyone else.")
    async def invitation_pending(self, info: Info) -> bool:
        principal = await info.context.principal()
        return self.pending and principal.is_staff_or_admin

    @strawberry.field(description="Students this user is the guardian of (visible to them, STAFF and ADMIN).")
    async def students(self, info: Info) -> list["StudentType"]:
        principal = await info.context.principal()
        students = await info.context.loaders.students_of_guardian.load(self.pk)
        return [StudentType.from_model(student) for student in students
                if service.can_see_student(principal, student)]

    @strawberry.field(description="The caller's own secret calendar feed (iCalendar); null for "
                                  "anyone else. `rotateCalendarFeed` replaces it.")
    async def calendar_feed_url(self, info: Info) -> str | None:
        principal = await info.context.principal()
        if principal.user_id != self.pk:
            return None
        context = info.context
        # Its first reading makes the feed: a write of its own, on the primary.
        async with context.db.transaction(context.organization_id) as session:
            token = await feeds.current_token(session, self.pk,
                                              secret=context.settings.signing_key())
        return feeds.feed_url(str(context.request.base_url), token)

    @strawberry.field(description="Visible to the user, STAFF and ADMIN.")
    async def credit_balance(self, info: Info) -> Annotated["CreditBalanceType", _credits] | None:
        return await credit_balance_of_user(info, self.pk)


@strawberry.type(name="Student", description="A person a CLIENT books for (e.g. a child of a guardian).")
class StudentType(Node):
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    date_of_birth: date | None = strawberry.field(description="If known.")
    active: bool = strawberry.field(
        description="False once deactivated: kept with their history, but not bookable for."
    )
    guardian_pk: Private[int]

    @classmethod
    def from_model(cls, student: Student) -> "StudentType":
        return cls(
            id=ids.encode("Student", student.id),
            first_name=student.first_name,
            last_name=student.last_name,
            date_of_birth=student.date_of_birth,
            active=student.active,
            guardian_pk=student.guardian_id,
        )

    @strawberry.field(description="The CLIENT responsible for this student.")
    async def guardian(self, info: Info) -> UserType:
        return UserType.from_model(await info.context.loaders.user.load(self.guardian_pk))


@strawberry.type(name="Professional", description="The bookable profile of a PROFESSIONAL user.")
class ProfessionalType(Node):
    title: str | None = strawberry.field(description='Shown before the name, e.g. "Dr.".')
    specialization: str | None = strawberry.field(
        description='What they practise, e.g. "Speech therapy" (`professionals` filters on it).'
    )
    bio: str | None = strawberry.field(description="A short presentation for clients.")
    time_zone: str = strawberry.field(
        description="IANA zone of the working hours; defaults to the organization's."
    )
    session_minutes: int = strawberry.field(description="Length of one session.")
    buffer_minutes: int = strawberry.field(description="Gap kept after each session.")
    credit_cost: int = strawberry.field(description="Credits one session costs.")
    active: bool = strawberry.field(description="Inactive professionals take no new bookings.")
    model: Private[Professional]

    @classmethod
    def from_model(cls, professional: Professional) -> "ProfessionalType":
        return cls(
            id=ids.encode("Professional", professional.id),
            title=professional.title,
            specialization=professional.specialization,
            bio=professional.bio,
            time_zone=professional.time_zone,
            session_minutes=professional.session_minutes,
            buffer_minutes=professional.buffer_minutes,
            credit_cost=professional.credit_cost,
            active=professional.active,
            model=professional,
        )

    @strawberry.field(description="The user behind the profile.")
    async def user(self, info: Info) -> UserType:
        return UserType.from_model(await info.context.loaders.user.load(self.model.user_id))

    @strawberry.field(description="Visible to the professional, STAFF and ADMIN only.")
    async def license_number(self, info: Info) -> str | None:
        principal = await info.context.principal()
        if not service.can_see_private_profile(principal, self.model):
            return None
        return self.model.license_number

    @strawberry.field(description="Weekly working hours, active or not.")
    async def availability_rules(
        self, info: Info
    ) -> list[Annotated["AvailabilityRuleType", _scheduling]]:
        return await availability_rules_of_professional(info, self.model)

    @strawberry.field(description="Time off overlapping [from, to) (366 days at most).")
    async def time_off(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> list[Annotated["TimeOffType", _scheduling]]:
        return await time_off_of_professional(info, self.model, from_, to)
