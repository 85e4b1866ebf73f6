"""GraphQL types and operations of users, professionals and students."""

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.api import ids
from app.api.context import Info
from app.api.errors import UserErrorType, run_mutation
from app.api.inputs import given_changes
from app.api.nodes import node_resolver
from app.api.types.common import USER_ERRORS, Connection, Node
from app.errors import UserError
from app.pagination import count
from app.people import service
from app.people.authentication import log_in
from app.people.login_throttle import LoginThrottle
from app.people.models import Professional, Role, Student, User

if TYPE_CHECKING:
    from app.api.types.credits import CreditBalanceType
    from app.api.types.scheduling import AvailabilityRuleType, TimeOffType

_credits = strawberry.lazy("app.api.types.credits")
_scheduling = strawberry.lazy("app.api.types.scheduling")

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
    pk: Private[int]

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
        )

    @strawberry.field(description="Students this user is the guardian of (visible to them, STAFF and ADMIN).")
    async def students(self, info: Info) -> list["StudentType"]:
        principal = await info.context.principal()
        students = await info.context.loaders.students_of_guardian.load(self.pk)
        return [StudentType.from_model(student) for student in students
                if service.can_see_student(principal, student)]

    @strawberry.field(description="Visible to the user, STAFF and ADMIN.")
    async def credit_balance(self, info: Info) -> Annotated["CreditBalanceType", _credits] | None:
        from app.api.types import credits

        return await credits.user_credit_balance(info, self.pk)


@strawberry.type(name="Student", description="A person a CLIENT books for (e.g. a child of a guardian).")
class StudentType(Node):
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    date_of_birth: date | None = strawberry.field(description="If known.")
    guardian_pk: Private[int]

    @classmethod
    def from_model(cls, student: Student) -> "StudentType":
        return cls(
            id=ids.encode("Student", student.id),
            first_name=student.first_name,
            last_name=student.last_name,
            date_of_birth=student.date_of_birth,
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
        from app.api.types import scheduling

        return await scheduling.availability_rules_of(info, self.model)

    @strawberry.field(description="Time off overlapping [from, to) (366 days at most).")
    async def time_off(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> list[Annotated["TimeOffType", _scheduling]]:
        from app.api.types import scheduling

        return await scheduling.time_off_of(info, self.model, from_, to)


@node_resolver("User")
async def resolve_user(info: Info, pk: int) -> UserType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        return UserType.from_model(await service.get_user(session, principal, pk))


@node_resolver("Professional")
async def resolve_professional(info: Info, pk: int) -> ProfessionalType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        return ProfessionalType.from_model(await service.get_professional(session, principal, pk))


@node_resolver("Student")
async def resolve_student(info: Info, pk: int) -> StudentType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        return StudentType.from_model(await service.get_student(session, principal, pk))


# ---- inputs and payloads ----------------------------------------------------


@strawberry.input(description="Credentials of one user of one organization.")
class LoginInput:
    organization: str = strawberry.field(description="The organization's slug.")
    email: str = strawberry.field(description="The user's email address.")
    password: str = strawberry.field(description="The user's password.")


@strawberry.type(description="A token on success; a wrong login is a userError.")
class LoginPayload:
    token: str | None = strawberry.field(
        default=None, description="Send as `Authorization: Bearer <token>`."
    )
    user: UserType | None = strawberry.field(default=None, description="Who logged in.")
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


@strawberry.input(description="A new user of the caller's organization.")
class CreateUserInput:
    email: str = strawberry.field(description="Unique in the organization; the login.")
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    phone: str = strawberry.field(description="Contact phone number.")
    role: RoleType = strawberry.field(description="STAFF may only create CLIENTs.")
    password: str | None = strawberry.field(
        default=None, description="Without one the user cannot log in until it is set."
    )


@strawberry.input(description="Changes to a user; omitted fields stay as they are.")
class UpdateUserInput:
    id: strawberry.ID = strawberry.field(description="The user to change.")
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="Given name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Family name.")
    phone: str | None = strawberry.field(
        default=strawberry.UNSET, description="Contact phone number."
    )
    role: RoleType | None = strawberry.field(default=strawberry.UNSET, description="ADMIN only.")
    active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="ADMIN only; false stops the user logging in."
    )


@strawberry.type(description="The user as saved, or why not.")
class UserPayload:
    user: UserType | None = strawberry.field(
        default=None, description="The user as saved; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


@strawberry.input(description="A new student of a CLIENT guardian.")
class CreateStudentInput:
    guardian_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default: the caller (a CLIENT adding their own student)."
    )
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    date_of_birth: date | None = strawberry.field(default=None, description="If known.")


@strawberry.type(description="The student as saved, or why not.")
class StudentPayload:
    student: StudentType | None = strawberry.field(
        default=None, description="The student as saved; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


@strawberry.input(description="The bookable profile of a PROFESSIONAL user; omitted fields "
                              "take the organization's defaults.")
class CreateProfessionalInput:
    user_id: strawberry.ID = strawberry.field(description="A user with the PROFESSIONAL role.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description='E.g. "Dr.".')
    specialization: str | None = strawberry.field(
        default=strawberry.UNSET, description='E.g. "Speech therapy".'
    )
    bio: str | None = strawberry.field(
        default=strawberry.UNSET, description="A short presentation for clients."
    )
    license_number: str | None = strawberry.field(
        default=strawberry.UNSET, description="Shown to the professional, STAFF and ADMIN only."
    )
    time_zone: str | None = strawberry.field(
        default=strawberry.UNSET, description="IANA zone of the working hours."
    )
    session_minutes: int | None = strawberry.field(
        default=strawberry.UNSET, description="Length of one session."
    )
    buffer_minutes: int | None = strawberry.field(
        default=strawberry.UNSET, description="Gap kept after each session."
    )
    credit_cost: int | None = strawberry.field(
        default=strawberry.UNSET, description="Credits one session costs."
    )


@strawberry.input(description="Changes to a professional profile; omitted fields stay as "
                              "they are.")
class UpdateProfessionalInput:
    id: strawberry.ID = strawberry.field(description="The professional to change.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description='E.g. "Dr.".')
    specialization: str | None = strawberry.field(
        default=strawberry.UNSET, description='E.g. "Speech therapy".'
    )
    bio: str | None = strawberry.field(
        default=strawberry.UNSET, description="A short presentation for clients."
    )
    license_number: str | None = strawberry.field(
        default=strawberry.UNSET, description="Shown to the professional, STAFF and ADMIN only."
    )
    time_zone: str | None = strawberry.field(
        default=strawberry.UNSET, description="IANA zone of the working hours."
    )
    session_minutes: int | None = strawberry.field(
        default=strawberry.UNSET, description="Length of one session."
    )
    buffer_minutes: int | None = strawberry.field(
        default=strawberry.UNSET, description="Gap kept after each session."
    )
    credit_cost: int | None = strawberry.field(
        default=strawberry.UNSET, description="Credits one session costs (not by the "
        "professional themself)."
    )
    active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="false: no new bookings."
    )


@strawberry.type(description="The professional as saved, or why not.")
class ProfessionalPayload:
    professional: ProfessionalType | None = strawberry.field(
        default=None, description="The profile as saved; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


# ---- operations -------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="The caller's own user.")
    async def me(self, info: Info) -> UserType:
        principal = await info.context.principal()
        async with info.context.reading() as session:
            return UserType.from_model(await service.get_me(session, principal))

    @strawberry.field(description="Users the caller may see, oldest first (`first` <= 100): "
                      "STAFF and ADMIN all; a PROFESSIONAL themself and their clients; a "
                      "CLIENT themself.")
    async def users(
        self,
        info: Info,
        role: RoleType | None = None,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[UserType]:
        principal = await info.context.principal()
        async with info.context.reading() as session:
            page = await service.list_users(
                session, principal, role=role, search=search, first=first, after=after
            )

        async def total() -> int:
            async with info.context.reading() as session:
                statement = service.users_query(session, principal, role=role, search=search)
                return await count(session, statement)

        return Connection.from_page(page, UserType.from_model, total)

    @strawberry.field(description="Professionals of the organization, oldest first (`first` <= 100).")
    async def professionals(
        self,
        info: Info,
        specialization: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ProfessionalType]:
        principal = await info.context.principal()
        async with info.context.reading() as session:
            page = await service.list_professionals(
                session, principal, specialization=specialization, first=first, after=after
            )

        async def total() -> int:
            async with info.context.reading() as session:
                statement = service.professionals_query(session, specialization=specialization)
                return await count(session, statement)

        return Connection.from_page(page, ProfessionalType.from_model, total)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Exchange credentials for a bearer token.")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        settings = info.context.settings
        try:
            logged_in = await log_in(
                info.context.db,
                organization_slug=input.organization,
                email=input.email,
                password=input.password,
                secret=settings.signing_key(),
                token_lifetime=timedelta(minutes=settings.token_lifetime_minutes),
                throttle=LoginThrottle(max_failures=settings.login_max_failures,
                                       window_seconds=settings.login_throttle_seconds),
            )
        except UserError as error:
            return LoginPayload(user_errors=[UserErrorType.from_error(error)])
        # The payload's user (their balance, students...) is shown as they see themselves.
        await info.context.act_as(logged_in.token)
        return LoginPayload(token=logged_in.token, user=UserType.from_model(logged_in.user))

    @strawberry.mutation(description="ADMIN creates any role; STAFF creates clients.")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        async def action(session, principal):
            user = await service.create_user(
                session,
                principal,
                email=input.email,
                first_name=input.first_name,
                last_name=input.last_name,
                phone=input.phone,
                role=input.role,
                password=input.password,
            )
            return UserPayload(user=UserType.from_model(user))

        return await run_mutation(info, UserPayload, action)

    @strawberry.mutation(description="Edit names and phone; ADMIN also changes role and active.")
    async def update_user(self, info: Info, input: UpdateUserInput) -> UserPayload:
        async def action(session, principal):
            user_id = ids.decode(input.id, "User", field=["input", "id"])
            user = await service.update_user(session, principal, user_id, given_changes(input))
            return UserPayload(user=UserType.from_model(user))

        return await run_mutation(info, UserPayload, action)

    @strawberry.mutation(description="Add a student to a CLIENT guardian.")
    async def create_student(self, info: Info, input: CreateStudentInput) -> StudentPayload:
        async def action(session, principal):
            guardian_id = (
                None
                if input.guardian_id is None
                else ids.decode(input.guardian_id, "User", field=["input", "guardianId"])
            )
            student = await service.create_student(
                session,
                principal,
                guardian_id=guardian_id,
                first_name=input.first_name,
                last_name=input.last_name,
                date_of_birth=input.date_of_birth,
            )
            return StudentPayload(student=StudentType.from_model(student))

        return await run_mutation(info, StudentPayload, action)

    @strawberry.mutation(description="Create the profile of a PROFESSIONAL user.")
    async def create_professional(
        self, info: Info, input: CreateProfessionalInput
    ) -> ProfessionalPayload:
        async def action(session, principal):
            user_id = ids.decode(input.user_id, "User", field=["input", "userId"])
            professional = await service.create_professional(
                session, principal, user_id, given_changes(input, exclude=("user_id",))
            )
            return ProfessionalPayload(professional=ProfessionalType.from_model(professional))

        return await run_mutation(info, ProfessionalPayload, action)

    @strawberry.mutation(description="Edit a professional profile (a professional: own, not creditCost).")
    async def update_professional(
        self, info: Info, input: UpdateProfessionalInput
    ) -> ProfessionalPayload:
        async def action(session, principal):
            professional_id = ids.decode(input.id, "Professional", field=["input", "id"])
            professional = await service.update_professional(
                session, principal, professional_id, given_changes(input)
            )
            return ProfessionalPayload(professional=ProfessionalType.from_model(professional))

        return await run_mutation(info, ProfessionalPayload, action)
