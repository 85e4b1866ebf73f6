"""SQL for users, professionals and students, always inside the session's tenant."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    any_,
    bindparam,
    column,
    func,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app import driver_sql
from app.auth import Principal, Role
from app.people.models import Professional, Student, User
from app.tenancy import current_organization_id

# Whom a professional serves is read off the appointments table, named here rather than
# imported: the appointments package builds on this one, not the other way round.
_APPOINTMENTS = table("appointments", column("organization_id"), column("professional_id"),
                      column("client_id"), column("student_id"), column("id"))

USER_SORT_KEY = (User.id,)
PROFESSIONAL_SORT_KEY = (Professional.id,)


def _by_ids(entity: type) -> Select:
    """The statement of a batch load by id (DataLoaders), built once: building a statement
    and its cache key on every call cost about as much as running it."""
    return select(entity).where(
        entity.organization_id == bindparam("organization_id"),
        entity.id == any_(bindparam("ids", type_=ARRAY(BigInteger))),
    )


_USERS_BY_ID = _by_ids(User)
_PROFESSIONALS_BY_ID = _by_ids(Professional)
_STUDENTS_BY_ID = _by_ids(Student)


async def _get_by_ids(session: AsyncSession, statement: Select, ids: Iterable[int]) -> list:
    parameters = {"organization_id": current_organization_id(session), "ids": list(set(ids))}
    return list(await session.scalars(statement, parameters))


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, (current_organization_id(session), user_id))


async def get_users(session: AsyncSession, user_ids: Iterable[int]) -> list[User]:
    return await _get_by_ids(session, _USERS_BY_ID, user_ids)


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    statement = select(User).where(
        User.organization_id == current_organization_id(session),
        func.lower(User.email) == email.lower(),
    )
    return await session.scalar(statement)


def visible_users(session: AsyncSession, principal: Principal) -> ColumnElement[bool]:
    """Users the principal may list or look up (docs/rules.md, "Who may do what": "list users, see a user"):
    STAFF and ADMIN all; a professional themself and the clients they have appointments
    with; a client themself.

    A professional's own user is still shown through their profile (`Professional.user`):
    everyone may see professionals, to choose whom to book.
    """
    if principal.is_staff_or_admin:
        return true()
    visible = User.id == principal.user_id
    if principal.role is Role.PROFESSIONAL:
        visible = or_(visible, User.id.in_(clients_of_professional(session, principal.user_id)))
    return visible


async def get_visible_user(
    session: AsyncSession, principal: Principal, user_id: int
) -> User | None:
    statement = select(User).where(
        User.organization_id == current_organization_id(session),
        User.id == user_id,
        visible_users(session, principal),
    )
    return await session.scalar(statement)


def users_query(
    session: AsyncSession, principal: Principal, *, role: Role | None, search: str | None
) -> Select:
    statement = select(User).where(
        User.organization_id == current_organization_id(session),
        visible_users(session, principal),
    )
    if role is not None:
        statement = statement.where(User.role == role)
    if search:
        pattern = f"%{_escape_like(search)}%"
        statement = statement.where(
            or_(
                User.email.ilike(pattern, escape="\\"),
                (User.first_name + " " + User.last_name).ilike(pattern, escape="\\"),
            )
        )
    return statement


async def get_professional(session: AsyncSession, professional_id: int) -> Professional | None:
    return await session.get(Professional, (current_organization_id(session), professional_id))


# Built once: the hot list filters ask it on every request.
_PROFESSIONAL_EXISTS = select(Professional.id).where(
    Professional.organization_id == bindparam("organization_id"),
    Professional.id == bindparam("professional_id"))


async def professional_exists(session: AsyncSession, professional_id: int) -> bool:
    """Whether the organization has this professional (without loading it; the compiled
    reads ask it on their `driver_sql.DriverSession`)."""
    return await driver_sql.scalar(session, _PROFESSIONAL_EXISTS, {
        "organization_id": current_organization_id(session),
        "professional_id": professional_id}) is not None


_USER_EXISTS = select(User.id).where(User.organization_id == bindparam("organization_id"),
                                     User.id == bindparam("user_id"))


async def user_exists(session: AsyncSession, user_id: int) -> bool:
    """Whether the organization has this user (without loading them), as
    `professional_exists`."""
    return await driver_sql.scalar(session, _USER_EXISTS, {
        "organization_id": current_organization_id(session), "user_id": user_id}) is not None


async def get_professionals(session: AsyncSession, ids: Iterable[int]) -> list[Professional]:
    return await _get_by_ids(session, _PROFESSIONALS_BY_ID, ids)


async def find_professional_by_user(session: AsyncSession, user_id: int) -> Professional | None:
    statement = select(Professional).where(
        Professional.organization_id == current_organization_id(session),
        Professional.user_id == user_id,
    )
    return await session.scalar(statement)


def professionals_query(session: AsyncSession, *, specialization: str | None) -> Select:
    statement = select(Professional).where(
        Professional.organization_id == current_organization_id(session)
    )
    if specialization:
        statement = statement.where(
            Professional.specialization.ilike(f"%{_escape_like(specialization)}%", escape="\\")
        )
    return statement


async def get_student(session: AsyncSession, student_id: int) -> Student | None:
    return await session.get(Student, (current_organization_id(session), student_id))


async def get_students(session: AsyncSession, ids: Iterable[int]) -> list[Student]:
    return await _get_by_ids(session, _STUDENTS_BY_ID, ids)


async def get_students_of_guardians(
    session: AsyncSession, guardian_ids: Iterable[int]
) -> list[Student]:
    statement = (
        select(Student)
        .where(
            Student.organization_id == current_organization_id(session),
            Student.guardian_id.in_(set(guardian_ids)),
        )
        .order_by(Student.id)
    )
    return list(await session.scalars(statement))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def get_active_professionals(session: AsyncSession) -> list[Professional]:
    """Every active professional of the organization (the slot horizon job keeps them generated)."""
    statement = select(Professional).where(
        Professional.organization_id == current_organization_id(session), Professional.active
    ).order_by(Professional.id)
    return list(await session.scalars(statement))


def professional_of_user(session: AsyncSession, user_id: int) -> Select:
    """The id of a user's professional profile, as a scalar subquery."""
    return professional_of(current_organization_id(session), user_id)


def professional_of(organization_id: Any, user_id: Any) -> Select:
    """As `professional_of_user`, given values or bind parameters (a statement built once)."""
    return (
        select(Professional.id)
        .where(Professional.organization_id == organization_id, Professional.user_id == user_id)
        .scalar_subquery()
    )


def clients_of_professional(session: AsyncSession, professional_user_id: int) -> Select:
    """The ids of clients who have (or had) an appointment with a professional user."""
    return select(_APPOINTMENTS.c.client_id).where(
        _APPOINTMENTS.c.organization_id == current_organization_id(session),
        _APPOINTMENTS.c.professional_id == professional_of_user(session, professional_user_id),
    )


async def names_student(session: AsyncSession, professional_user_id: int,
                        student_id: int) -> bool:
    """Whether an appointment with a professional user names the student (who is then shown
    to that professional as `Appointment.student`)."""
    statement = select(_APPOINTMENTS.c.id).where(
        _APPOINTMENTS.c.organization_id == current_organization_id(session),
        _APPOINTMENTS.c.professional_id == professional_of_user(session, professional_user_id),
        _APPOINTMENTS.c.student_id == student_id,
    ).limit(1)
    return await session.scalar(statement) is not None
