"""Changing people: logging in, and creating and editing users, students and professionals."""

from functools import partial

import strawberry

from app import global_ids as ids
from app.api.context import Info
from app.api.errors import run_mutation, run_public_mutation
from app.api.inputs import given_changes
from app.api.people.inputs import (
    AcceptInvitationInput,
    ChangePasswordInput,
    CreateProfessionalInput,
    CreateStudentInput,
    CreateUserInput,
    LoginInput,
    LoginPayload,
    ProfessionalPayload,
    RequestPasswordResetInput,
    RequestPasswordResetPayload,
    ResetPasswordInput,
    SignUpInput,
    StudentPayload,
    UpdateProfessionalInput,
    UpdateStudentInput,
    UpdateUserInput,
    UserPayload,
)
from app.api.people.types import ProfessionalType, StudentType, UserType
from app.calendar import feeds
from app.people import accounts, service
from app.people import repository as people_repository
from app.people.authentication import LoggedIn, log_in
from app.people.throttling import Throttle


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Exchange credentials for a bearer token.")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        settings = info.context.settings

        async def action() -> LoginPayload:
            return await _logged_in_payload(info, await log_in(
                info.context.db,
                organization_slug=input.organization,
                email=input.email,
                password=input.password,
                issuer=info.context.token_issuer,
                throttle=Throttle(max_attempts=settings.login_max_failures,
                                       window_seconds=settings.login_throttle_seconds),
            ))

        return await run_public_mutation(info, LoginPayload, action)

    @strawberry.mutation(description="A CLIENT account, when the organization allows it. "
                                     "Logs the new client in.")
    async def sign_up(self, info: Info, input: SignUpInput) -> LoginPayload:
        settings = info.context.settings

        async def action() -> LoginPayload:
            return await _logged_in_payload(info, await accounts.sign_up(
                info.context.db,
                organization_slug=input.organization,
                email=input.email,
                password=input.password,
                first_name=input.first_name,
                last_name=input.last_name,
                phone=input.phone,
                locale=input.locale,
                client_address=info.context.client_address,
                throttle=accounts.SignUpThrottle(
                    per_organization=settings.signup_max_per_organization,
                    per_address=settings.signup_max_per_address,
                    window_seconds=settings.signup_throttle_seconds),
                issuer=info.context.token_issuer,
            ))

        return await run_public_mutation(info, LoginPayload, action)

    @strawberry.mutation(description="Sets the password of an invited user (createUser without "
                                     "a password invites). Logs them in.")
    async def accept_invitation(self, info: Info, input: AcceptInvitationInput) -> LoginPayload:
        async def action() -> LoginPayload:
            return await _logged_in_payload(info, await accounts.accept_invitation(
                info.context.db, token=input.token, password=input.password,
                issuer=info.context.token_issuer))

        return await run_public_mutation(info, LoginPayload, action)

    @strawberry.mutation(description="A new secret URL for the caller's calendar feed; the old "
                                     "one stops working.")
    async def rotate_calendar_feed(self, info: Info) -> UserPayload:
        async def action(session, principal):
            await feeds.rotate(session, principal.user_id,
                               secret=info.context.settings.signing_key())
            return UserPayload(user=UserType.from_model(
                await people_repository.get_user(session, principal.user_id)))

        return await run_mutation(info, UserPayload, action)

    @strawberry.mutation(description="STAFF/ADMIN: a fresh invitation; the earlier one stops "
                                     "working.")
    async def resend_invitation(self, info: Info, user_id: strawberry.ID) -> UserPayload:
        async def action(session, principal):
            user = await accounts.resend_invitation(
                session, principal, ids.decode(user_id, "User", field="user_id"),
                app_url=info.context.app_url)
            return UserPayload(user=UserType.from_model(user))

        return await run_mutation(info, UserPayload, action)

    @strawberry.mutation(description="Emails a password-reset link valid for one hour, if the "
                                     "account exists; answers the same either way.")
    async def request_password_reset(
        self, info: Info, input: RequestPasswordResetInput
    ) -> RequestPasswordResetPayload:
        settings = info.context.settings

        async def action() -> RequestPasswordResetPayload:
            await accounts.request_password_reset(
                info.context.db, organization_slug=input.organization, email=input.email,
                app_url=info.context.app_url,
                throttle=Throttle(max_attempts=settings.password_reset_max_requests,
                                       window_seconds=settings.password_reset_throttle_seconds))
            return RequestPasswordResetPayload(accepted=True)

        return await run_public_mutation(
            info, partial(RequestPasswordResetPayload, accepted=False), action)

    @strawberry.mutation(description="Sets a new password and ends every other session of the "
                                     "user. Logs them in.")
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> LoginPayload:
        async def action() -> LoginPayload:
            return await _logged_in_payload(info, await accounts.reset_password(
                info.context.db, token=input.token, new_password=input.new_password,
                issuer=info.context.token_issuer))

        return await run_public_mutation(info, LoginPayload, action)

    @strawberry.mutation(description="Changes the caller's password; needs the current one. "
                                     "Other sessions stay open (see revokeSessions).")
    async def change_password(self, info: Info, input: ChangePasswordInput) -> UserPayload:
        async def action(session, principal):
            user = await accounts.change_password(
                session, principal, current_password=input.current_password,
                new_password=input.new_password)
            return UserPayload(user=UserType.from_model(user))

        return await run_mutation(info, UserPayload, action)

    @strawberry.mutation(description="Ends every session (every token issued so far) of the "
                                     "user; default: the caller. Others: ADMIN only.")
    async def revoke_sessions(self, info: Info, user_id: strawberry.ID | None = None) -> UserPayload:
        async def action(session, principal):
            target = None if user_id is None else ids.decode(user_id, "User", field="user_id")
            user = await accounts.revoke_sessions(session, principal, target)
            return UserPayload(user=UserType.from_model(user))

        return await run_mutation(info, UserPayload, action)

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
                locale=input.locale,
                app_url=info.context.app_url,
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


async def _logged_in_payload(info: Info, logged_in: LoggedIn) -> LoginPayload:
    # The payload's user (their balance, students...) is shown as they see themselves.
    await info.context.act_as(logged_in.token)
    return LoginPayload(token=logged_in.token, user=UserType.from_model(logged_in.user))
