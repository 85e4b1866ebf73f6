"""Reading people: the `me`, `users` and `professionals` queries, and users, professionals and
students by global ID (`node`)."""

import strawberry

from app.api.common import Connection
from app.api.context import Info
from app.api.nodes import node_resolver
from app.api.people.types import ProfessionalType, RoleType, StudentType, UserType
from app.pagination import count
from app.people import service


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
