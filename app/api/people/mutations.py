"""Changing people: logging in, and creating and editing users, students and professionals."""

from datetime import timedelta

import strawberry

from app.api import ids
from app.api.context import Info
from app.api.errors import UserErrorType, run_mutation
from app.api.inputs import given_changes
from app.api.people.inputs import (
    CreateProfessionalInput,
    CreateStudentInput,
    CreateUserInput,
    LoginInput,
    LoginPayload,
    ProfessionalPayload,
    StudentPayload,
    UpdateProfessionalInput,
    UpdateStudentInput,
    UpdateUserInput,
    UserPayload,
)
from app.api.people.types import ProfessionalType, StudentType, UserType
from app.errors import UserError
from app.people import service
from app.people.authentication import log_in
from app.people.login_throttle import LoginThrottle


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
            return LoginPayload(user_errors=[UserErrorType.from_error(error, info)])
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
            user_id = ids.decode(input.id, "User", field="user_id")
            user = await service.update_user(session, principal, user_id, given_changes(input))
            return UserPayload(user=UserType.from_model(user))

        return await run_mutation(info, UserPayload, action, fields={"user_id": ["input", "id"]})

    @strawberry.mutation(description="Add a student to a CLIENT guardian.")
    async def create_student(self, info: Info, input: CreateStudentInput) -> StudentPayload:
        async def action(session, principal):
            guardian_id = (
                None
                if input.guardian_id is None
                else ids.decode(input.guardian_id, "User", field="guardian_id")
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

    @strawberry.mutation(description="Rename or deactivate a student (their guardian, STAFF, "
                                     "ADMIN). A deactivated student cannot be booked for.")
    async def update_student(self, info: Info, input: UpdateStudentInput) -> StudentPayload:
        async def action(session, principal):
            student_id = ids.decode(input.id, "Student", field="student_id")
            student = await service.update_student(session, principal, student_id,
                                                   given_changes(input))
            return StudentPayload(student=StudentType.from_model(student))

        return await run_mutation(info, StudentPayload, action,
                                  fields={"student_id": ["input", "id"]})

    @strawberry.mutation(description="Create the profile of a PROFESSIONAL user.")
    async def create_professional(
        self, info: Info, input: CreateProfessionalInput
    ) -> ProfessionalPayload:
        async def action(session, principal):
            user_id = ids.decode(input.user_id, "User", field="user_id")
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
            professional_id = ids.decode(input.id, "Professional", field="professional_id")
            professional = await service.update_professional(
                session, principal, professional_id, given_changes(input)
            )
            return ProfessionalPayload(professional=ProfessionalType.from_model(professional))

        return await run_mutation(info, ProfessionalPayload, action,
                                  fields={"professional_id": ["input", "id"]})
