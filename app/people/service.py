"""Users, professional profiles and students: who may see and change them (docs/rules.md: roles)."""

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app import pagination, validation
from app.auth import Principal, Role, hash_password
from app.db import flush_or_raise
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.i18n.languages import checked_tag
from app.organizations import repository as organizations
from app.people import emails, repository
from app.people.models import Professional, Student, User
from app.people.passwords import check_password

# ---- users ----------------------------------------------------------------


async def get_user(
    session: AsyncSession, principal: Principal, user_id: int, *, field: str | None = None
) -> User:
    """Gets a user the principal may see; anything else is NOT_FOUND (naming `field`)."""
    user = await repository.get_visible_user(session, principal, user_id)
    if user is None:
        raise NotFound("No such user.", field=field)
    return user


async def get_me(session: AsyncSession, principal: Principal) -> User:
    """Gets the principal's own user."""
    return await get_user(session, principal, principal.user_id)


def users_query(
    session: AsyncSession, principal: Principal, *, role: Role | None, search: str | None
) -> Select:
    """The users the principal may list, filtered; paged by the caller."""
    return repository.users_query(session, principal, role=role, search=search)


async def list_users(
    session: AsyncSession,
    principal: Principal,
    *,
    role: Role | None = None,
    search: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> pagination.Page[User]:
    """Gets one page of the users the principal may see, oldest first."""
    request = pagination.page_request(first, after, repository.USER_SORT_KEY)
    statement = users_query(session, principal, role=role, search=search)
    return await pagination.fetch_page(session, statement, request, repository.USER_SORT_KEY)


async def create_user(
    session: AsyncSession,
    principal: Principal,
    *,
    email: str,
    first_name: str,
    last_name: str,
    phone: str,
    role: Role,
    password: str | None = None,
    locale: str | None = None,
    app_url: str,
) -> User:
    """Creates a user: ADMIN may create any role, STAFF only clients.

    Without a password the person is invited: an email links to `{app_url}/accept-invitation`,
    where they choose their password. It is written in their `locale`, else the
    organization's.
    """
    check_may_manage(principal, role)
    user = await register_user(
        session,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        role=role,
        password=password,
        locale=locale,
    )
    if password is None:
        await emails.send_invitation(session, user, app_url=app_url)
    return user


def check_may_manage(principal: Principal, role: Role) -> None:
    """Creating and inviting users: ADMIN any role, STAFF clients only."""
    if not (principal.is_admin or (principal.role is Role.STAFF and role is Role.CLIENT)):
        raise Forbidden(
            "Only an ADMIN may create or invite users of this role."
            if principal.role is Role.STAFF
            else "You may not create or invite users."
        )


async def register_user(
    session: AsyncSession,
    *,
    email: str,
    first_name: str,
    last_name: str,
    phone: str,
    role: Role,
    password: str | None,
    locale: str | None = None,
) -> User:
    """Creates a user without a permission check, and without an invitation: for the CLI,
    seeds, sign-up and `create_user`. Without a password, nobody can log in as them yet.
    Without a `locale`, their messages speak the organization's language."""
    address = validation.email(email, "email")
    user = User(
        email=address,
        first_name=validation.required_text(first_name, "first_name"),
        last_name=validation.required_text(last_name, "last_name"),
        phone=_phone(phone),
        role=role,
        password_hash=None
        if password is None
        else hash_password(check_password(password, email=address, field="password")),
        locale=None if locale is None else checked_tag(locale, "locale"),
    )
    if await repository.find_user_by_email(session, user.email) is not None:
        raise _duplicate_email()
    session.add(user)
    await _flush_or_conflict(session)
    return user


async def update_user(
    session: AsyncSession, principal: Principal, user_id: int, changes: Mapping[str, Any]
) -> User:
    """Changes names, phone, language, role or active flag, as the permission matrix
    allows.

    `changes` holds only the attributes given; `locale=None` gives the user the
    organization's language again.
    """
    user = await get_user(session, principal, user_id, field="user_id")
    # A value the user already has is no change: a form sent back whole needs no more
    # permission than the fields it really changes.
    changes = {attribute: value for attribute, value in changes.items()
               if getattr(user, attribute) != value}
    if {"role", "active"} & changes.keys():
        if not principal.is_admin:
            raise Forbidden("Only an ADMIN may change a user's role or deactivate a user.")
        if user.id == principal.user_id:
            raise Forbidden("Admins cannot change their own role or deactivate themselves.")
    # docs/rules.md: roles: a professional profile belongs to a user whose role is PROFESSIONAL.
    if ("role" in changes and user.role is Role.PROFESSIONAL
            and await repository.find_professional_by_user(session, user.id) is not None):
        raise Conflict(
            "This user has a professional profile, which needs the PROFESSIONAL role. "
            "To stop their bookings, deactivate the profile or the user instead.",
            field="role",
        )
    if {"first_name", "last_name", "phone", "locale"} & changes.keys() and not _can_edit_contact(
        principal, user
    ):
        raise Forbidden("You may not edit this user's details.")
    for attribute, value in changes.items():
        setattr(user, attribute, _checked_user_change(attribute, value))
    await session.flush()
    return user


def _can_edit_contact(principal: Principal, user: User) -> bool:
    if principal.is_admin or user.id == principal.user_id:
        return True
    return principal.role is Role.STAFF and user.role is Role.CLIENT


def _checked_user_change(attribute: str, value: Any) -> Any:
    if attribute == "locale":
        return None if value is None else checked_tag(value, attribute)
    if value is None:
        raise ValidationFailed("Cannot be null.", field=attribute)
    if attribute in ("first_name", "last_name"):
        return validation.required_text(value, attribute)
    if attribute == "phone":
        return _phone(value)
    return value  # role (an enum) and active (a bool) are already typed


def _phone(value: str) -> str:
    phone = validation.required_text(value, "phone", max_length=40)
    if not any(character.isdigit() for character in phone):
        raise ValidationFailed("A phone number needs digits.", field="phone")
    return phone


def _duplicate_email() -> Conflict:
    return Conflict("A user with this email already exists in the organization.",
                    field="email")


async def _flush_or_conflict(session: AsyncSession) -> None:
    # A concurrent request may have taken the email between our check and the insert.
    await flush_or_raise(session, {"users_email_key": _duplicate_email()})


# ---- professionals --------------------------------------------------------

async def get_professional(
    session: AsyncSession,
    principal: Principal,
    professional_id: int,
    *,
    field: str | None = None,
) -> Professional:
    """Gets a professional profile; every role may see professionals."""
    professional = await repository.get_professional(session, professional_id)
    if professional is None:
        raise NotFound("No such professional.", field=field)
    return professional


async def list_professionals(
    session: AsyncSession,
    principal: Principal,
    *,
    specialization: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> pagination.Page[Professional]:
    """Gets one page of professionals, oldest first."""
    request = pagination.page_request(first, after, repository.PROFESSIONAL_SORT_KEY)
    statement = professionals_query(session, specialization=specialization)
    return await pagination.fetch_page(
        session, statement, request, repository.PROFESSIONAL_SORT_KEY
    )


def professionals_query(session: AsyncSession, *, specialization: str | None) -> Select:
    return repository.professionals_query(session, specialization=specialization)


def can_see_private_profile(principal: Principal, professional: Professional) -> bool:
    """A profile's private details (license number, why they are away) are for the
    professional themself, STAFF and ADMIN only."""
    return principal.is_staff_or_admin or professional.user_id == principal.user_id


async def create_professional(
    session: AsyncSession, principal: Principal, user_id: int, attributes: Mapping[str, Any]
) -> Professional:
    """Creates the professional profile of a PROFESSIONAL user.

    STAFF and ADMIN create anyone's; a professional may create their own, without
    choosing its credit cost.
    """
    _check_may_edit_profile(principal, user_id, attributes)
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound("No such user.", field="user_id")
    if user.role is not Role.PROFESSIONAL:
        raise ValidationFailed("Only a user with the PROFESSIONAL role can have a profile.",
                               field="user_id")
    if await repository.find_professional_by_user(session, user_id) is not None:
        raise Conflict("This user already has a professional profile.", field="user_id")
    organization = await organizations.get_current(session)
    professional = Professional(
        user_id=user_id,
        time_zone=organization.time_zone,
        session_minutes=organization.default_session_minutes,
        buffer_minutes=0,
        credit_cost=1,
        active=True,
    )
    for attribute, value in attributes.items():
        setattr(professional, attribute, _checked_profile_change(attribute, value))
    session.add(professional)
    await flush_or_raise(session, {"professionals_organization_id_user_id_key": Conflict(
        "This user already has a professional profile.", field="user_id")})
    return professional


async def update_professional(
    session: AsyncSession, principal: Principal, professional_id: int, changes: Mapping[str, Any]
) -> Professional:
    """Changes a professional profile; `changes` holds only the attributes given."""
    professional = await get_professional(
        session, principal, professional_id, field="professional_id"
    )
    _check_may_edit_profile(principal, professional.user_id, changes)
    for attribute, value in changes.items():
        setattr(professional, attribute, _checked_profile_change(attribute, value))
    await session.flush()
    return professional


def _check_may_edit_profile(
    principal: Principal, profile_user_id: int, changes: Mapping[str, Any]
) -> None:
    if principal.is_staff_or_admin:
        return
    if principal.role is Role.PROFESSIONAL and principal.user_id == profile_user_id:
        if "credit_cost" in changes:
            raise Forbidden("Only STAFF or ADMIN may set a professional's credit cost.")
        return
    raise Forbidden("You may not edit this professional profile.")


_PROFILE_BOUNDS = {"session_minutes": (5, 720), "buffer_minutes": (0, 240), "credit_cost": (1, 1000)}


def _checked_profile_change(attribute: str, value: Any) -> Any:
    if attribute in ("title", "specialization", "license_number"):
        return validation.optional_text(value, attribute, max_length=200)
    if attribute == "bio":
        return validation.optional_text(value, attribute, max_length=5000)
    if value is None:
        raise ValidationFailed("Cannot be null.", field=attribute)
    if attribute == "time_zone":
        return validation.time_zone(value, attribute)
    if attribute in _PROFILE_BOUNDS:
        low, high = _PROFILE_BOUNDS[attribute]
        return validation.int_between(value, low, high, attribute)
    return value  # active


# ---- students -------------------------------------------------------------


async def get_student(session: AsyncSession, principal: Principal, student_id: int) -> Student:
    """Gets a student the principal may see: their guardian, STAFF or ADMIN, or a
    professional with an appointment naming them (where `Appointment.student` shows them)."""
    student = await repository.get_student(session, student_id)
    if student is None or not (can_see_student(principal, student)
                               or await _teaches(session, principal, student)):
        raise NotFound("No such student.")
    return student


async def _teaches(session: AsyncSession, principal: Principal, student: Student) -> bool:
    return principal.role is Role.PROFESSIONAL and await repository.names_student(
        session, principal.user_id, student.id)


def can_see_student(principal: Principal, student: Student) -> bool:
    return principal.is_staff_or_admin or student.guardian_id == principal.user_id


async def create_student(
    session: AsyncSession,
    principal: Principal,
    *,
    guardian_id: int | None,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
) -> Student:
    """Adds a student to a CLIENT guardian: a client adds their own, STAFF and ADMIN anyone's."""
    guardian_id = principal.user_id if guardian_id is None else guardian_id
    if not (principal.is_staff_or_admin
            or (principal.role is Role.CLIENT and guardian_id == principal.user_id)):
        raise Forbidden("You may not add students to this guardian.")
    guardian = await repository.get_user(session, guardian_id)
    if guardian is None:
        raise NotFound("No such guardian.", field="guardian_id")
    if guardian.role is not Role.CLIENT:
        raise ValidationFailed("A student's guardian must be a CLIENT.",
                               field="guardian_id")
    if date_of_birth is not None and date_of_birth > date.today():
        raise ValidationFailed("The date of birth is in the future.",
                               field="date_of_birth")
    student = Student(
        guardian_id=guardian_id,
        first_name=validation.required_text(first_name, "first_name"),
        last_name=validation.required_text(last_name, "last_name"),
        date_of_birth=date_of_birth,
    )
    session.add(student)
    await session.flush()
    return student


async def update_student(
    session: AsyncSession, principal: Principal, student_id: int, changes: Mapping[str, Any]
) -> Student:
    """Renames or (de)activates a student: their guardian, STAFF or ADMIN. A deactivated
    student keeps their appointments but cannot be booked for.

    `changes` holds only the attributes given (`first_name`, `last_name`, `date_of_birth`,
    `active`).
    """
    student = await repository.get_student(session, student_id)
    if student is None or not can_see_student(principal, student):
        raise NotFound("No such student.", field="student_id")
    for attribute, value in changes.items():
        if value is None and attribute != "date_of_birth":
            raise ValidationFailed("Cannot be null.", field=attribute)
        if attribute in ("first_name", "last_name"):
            value = validation.required_text(value, attribute)
        elif attribute == "date_of_birth" and value is not None and value > date.today():
            raise ValidationFailed("The date of birth is in the future.", field=attribute)
        setattr(student, attribute, value)
    await session.flush()
    return student
