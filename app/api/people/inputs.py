"""Inputs and payloads of the people mutations: login, users, students and professionals."""

from datetime import date

import strawberry

from app.api.common import USER_ERRORS
from app.api.errors import UserErrorType
from app.api.people.types import ProfessionalType, RoleType, StudentType, UserType


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
        default=None,
        description="Without one the user is invited: an email links to "
                    "`{BOOKINGS_APP_URL}/accept-invitation?token=...`, valid 7 days, where "
                    "they choose their password (`acceptInvitation`).",
    )
    locale: str | None = strawberry.field(
        default=None, description="BCP 47 tag of their messages, the invitation's too, e.g. "
        "\"es-AR\"; null: the organization's.")


@strawberry.input(description="A new CLIENT account, when the organization allows sign-up.")
class SignUpInput:
    organization: str = strawberry.field(description="The organization's slug.")
    email: str = strawberry.field(description="The new client's email: their login.")
    password: str = strawberry.field(
        description="At least 10 characters, not the email, not a common password.")
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    phone: str = strawberry.field(description="Contact phone number.")
    locale: str | None = strawberry.field(
        default=None, description="BCP 47 tag of their messages, e.g. the browser's language "
        "(\"es-AR\"); null: the organization's.")


@strawberry.input(description="The token from an invitation email, and the password to set.")
class AcceptInvitationInput:
    token: str = strawberry.field(description="The `token` parameter of the emailed link.")
    password: str = strawberry.field(
        description="At least 10 characters, not the email, not a common password.")


@strawberry.input(description="Whose password to reset: an email is sent if the account exists.")
class RequestPasswordResetInput:
    organization: str = strawberry.field(description="The organization's slug.")
    email: str = strawberry.field(description="The account's email address.")


@strawberry.type(description="`accepted` is true whether or not the account exists: the "
                             "answer never tells who has an account.")
class RequestPasswordResetPayload:
    accepted: bool = strawberry.field(description="True unless the input itself is invalid.")
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


@strawberry.input(description="The token from a password-reset email, and the new password.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The `token` parameter of the emailed link.")
    new_password: str = strawberry.field(
        description="At least 10 characters, not the email, not a common password.")


@strawberry.input(description="The caller's current password and a new one.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(
        description="At least 10 characters, not the email, not a common password.")


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
    locale: str | None = strawberry.field(
        default=strawberry.UNSET, description="BCP 47 tag of their messages, e.g. \"es-AR\"; "
        "null: the organization's. Refused unless English or Spanish.")


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


@strawberry.input(description="Changes to a student; omitted fields stay as they are.")
class UpdateStudentInput:
    id: strawberry.ID = strawberry.field(description="The student to change.")
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="Given name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Family name.")
    date_of_birth: date | None = strawberry.field(default=strawberry.UNSET,
                                                  description="If known; null clears it.")
    active: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="false deactivates: no new bookings; past appointments stay.",
    )


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
