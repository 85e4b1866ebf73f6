"""Test helpers: a GraphQL client over HTTP and a factory of populated organizations."""

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event

from app import global_ids as ids
from app.auth import Principal, Role, hash_password, issue_token
from app.config import Settings
from app.db import Database
from app.organizations import service as organizations
from app.people import service as people
from app.people.models import Professional, Student, User

PASSWORD = "correct horse battery"
# Hashed once: argon2 is slow on purpose, and every test creates a dozen users.
PASSWORD_HASH = hash_password(PASSWORD)


@dataclass
class Member:
    """A user of a test organization, with a valid token."""

    user: User
    token: str

    @property
    def id(self) -> str:
        return ids.encode("User", self.user.id)

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def principal(self) -> Principal:
        """The member as the services see them, for tests that call services directly."""
        return Principal(user_id=self.user.id, organization_id=self.user.organization_id,
                         role=self.user.role)


@dataclass
class Tenant:
    id: int
    slug: str
    admin: Member
    staff: Member
    professional: Member
    other_professional: Member
    client: Member
    other_client: Member
    professional_profile: Professional
    student: Student
    members: dict[Role, Member] = field(default_factory=dict)

    @property
    def professional_id(self) -> str:
        return ids.encode("Professional", self.professional_profile.id)

    @property
    def student_id(self) -> str:
        return ids.encode("Student", self.student.id)

    def by_role(self, role: Role) -> Member:
        return {Role.ADMIN: self.admin, Role.STAFF: self.staff,
                Role.PROFESSIONAL: self.professional, Role.CLIENT: self.client}[role]


class TenantFactory:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def token_for(self, user: User, *, lifetime: timedelta = timedelta(hours=1)) -> str:
        return issue_token(user_id=user.id, organization_id=user.organization_id, role=user.role,
                           session_version=user.session_version,
                           secret=self.settings.signing_key(), lifetime=lifetime)

    async def create(self, *, time_zone: str = "America/New_York") -> Tenant:
        slug = f"org-{uuid.uuid4().hex[:12]}"
        async with self.db.transaction(None) as session:
            organization = await organizations.create(
                session, slug=slug, name=f"Centre {slug}", time_zone=time_zone
            )
            users = {}
            for key, role in [("admin", Role.ADMIN), ("staff", Role.STAFF),
                              ("professional", Role.PROFESSIONAL),
                              ("other_professional", Role.PROFESSIONAL),
                              ("client", Role.CLIENT), ("other_client", Role.CLIENT)]:
                users[key] = await people.register_user(
                    session, email=f"{key}@{slug}.example", first_name=key.title(),
                    last_name="Tester", phone="+1 555 0000", role=role, password=None,
                )
                users[key].password_hash = PASSWORD_HASH
            profile = Professional(user_id=users["professional"].id, time_zone=time_zone,
                                   session_minutes=60, buffer_minutes=0, credit_cost=1,
                                   license_number="LIC-123", specialization="Speech therapy")
            other_profile = Professional(user_id=users["other_professional"].id,
                                         time_zone=time_zone, session_minutes=45,
                                         buffer_minutes=15, credit_cost=2,
                                         license_number="LIC-456", specialization="Psychology")
            student = Student(guardian_id=users["client"].id, first_name="Kid", last_name="Tester")
            session.add_all([profile, other_profile, student])
            await session.flush()
        members = {key: Member(user=user, token=self.token_for(user)) for key, user in users.items()}
        return Tenant(id=organization.id, slug=slug, professional_profile=profile,
                      student=student, **members)


class GraphQLClient:
    """Posts GraphQL documents the way a frontend does."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client

    async def post(self, query: str, variables: dict[str, Any] | None = None, *,
                   as_: Member | None = None, token: str | None = None,
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
        all_headers = dict(headers or {})
        bearer = token if token is not None else (as_.token if as_ else None)
        if bearer is not None:
            all_headers["Authorization"] = f"Bearer {bearer}"
        response = await self.http.post("/graphql", json={"query": query, "variables": variables},
                                        headers=all_headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any):
        """The `data` of a response that must have no top-level errors."""
        body = await self.post(query, variables, **kwargs)
        assert "errors" not in body, body
        return body["data"]


def error_codes(body: dict[str, Any]) -> list[str]:
    """The `extensions.code` of each top-level error."""
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


@contextmanager
def counting_statements(db: Database):
    """The SQL statements the database runs inside the block (BEGIN and COMMIT are not)."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


def settings_refusal(monkeypatch, **environment: str) -> str:
    """The one-line ConfigurationError the process's settings give with these variables."""
    from app.config import ConfigurationError, get_settings

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        get_settings()
    except ConfigurationError as error:
        return str(error)
    finally:
        get_settings.cache_clear()
    raise AssertionError(f"{environment} was accepted")
