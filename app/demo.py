"""Demo data: one organization with every role, so GraphiQL has something to show."""

from dataclasses import dataclass
from datetime import date, timedelta

from app.appointments.demo import seed_demo_appointments
from app.auth import Role, issue_token
from app.config import Settings
from app.credits.demo import seed_demo_credits
from app.db import Database
from app.organizations import repository as organizations
from app.organizations import service as organization_service
from app.people import account_tokens
from app.people import repository as people
from app.people import service as people_service
from app.people.account_tokens import TokenPurpose
from app.people.models import Professional, Student
from app.scheduling.demo import seed_demo_schedule

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-password"


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    locale: str | None = None  # their own language, when not the organization's

    def __str__(self) -> str:
        line = f"{self.role.value:<13} {self.email}"
        return line if self.locale is None else f"{line}  (messages in {self.locale})"


@dataclass(frozen=True)
class DemoProfessional:
    id: int
    name: str


@dataclass(frozen=True)
class DemoOrganization:
    slug: str
    logins: list[DemoLogin]
    admin_token: str
    client_token: str
    # Who the client token belongs to, and whom they can book: GraphiQL's demo document.
    client_name: str = ""
    professionals: tuple[DemoProfessional, ...] = ()
    # A fresh token of the invited user's pending invitation (None once they accepted), for
    # the development banner to print their link.
    invitation_token: str | None = None
    invited_email: str = ""


_PEOPLE = [
    # (role, email, first name, last name, phone)
    (Role.ADMIN, "admin@demo.example", "Ada", "Admin", "+1 555 0100"),
    (Role.STAFF, "frontdesk@demo.example", "Sam", "Desk", "+1 555 0101"),
    (Role.PROFESSIONAL, "maria@demo.example", "María", "López", "+1 555 0102"),
    (Role.PROFESSIONAL, "tom@demo.example", "Tom", "Becker", "+1 555 0103"),
    (Role.PROFESSIONAL, "priya@demo.example", "Priya", "Shah", "+1 555 0104"),
    (Role.CLIENT, "carla@demo.example", "Carla", "Client", "+1 555 0105"),
    (Role.CLIENT, "david@demo.example", "David", "Parent", "+1 555 0106"),
]
# Their own language; everyone else reads the organization's English. Carla's messages show
# in the development log in Spanish.
_LOCALES = {"carla@demo.example": "es-AR"}
# Invited by the admin, and not yet accepted: the accounts walkthrough starts here.
_INVITED = (Role.STAFF, "nina@demo.example", "Nina", "Novak", "+1 555 0107")

_PROFILES = {
    # email: (title, specialization, license, time zone, session, buffer, cost)
    "maria@demo.example": ("Lic.", "Speech therapy", "ST-1042", "America/New_York", 50, 10, 1),
    "tom@demo.example": ("Dr.", "Psychology", "PSY-7781", "America/New_York", 60, 0, 2),
    "priya@demo.example": ("", "Occupational therapy", "OT-5520", "Europe/London", 45, 15, 1),
}

_STUDENTS = {
    "david@demo.example": [("Lucy", "Parent", date(2017, 4, 12)), ("Max", "Parent", date(2019, 9, 3))],
    "carla@demo.example": [],
}


async def seed_demo(db: Database, settings: Settings) -> DemoOrganization:
    """Creates the demo organization once; later calls only report its logins."""
    async with db.transaction(None) as session:
        organization = await organizations.find_by_slug(session, DEMO_SLUG)
        if organization is None:
            organization = await organization_service.create(
                session, slug=DEMO_SLUG, name="Demo Therapy Centre", time_zone="America/New_York"
            )
            await _seed_people(session)
            await seed_demo_credits(session)
            await seed_demo_schedule(session)
            await seed_demo_appointments(session)

    invitation_token = await _invitation_of_the_invited(db, organization.id)
    async with db.transaction(organization.id, read_only=True) as session:
        admin = await people.find_user_by_email(session, "admin@demo.example")
        client = await people.find_user_by_email(session, "david@demo.example")
        professionals = []
        for email in _PROFILES:
            user = await people.find_user_by_email(session, email)
            profile = await people.find_professional_by_user(session, user.id)
            professionals.append(
                DemoProfessional(id=profile.id, name=f"{user.first_name} {user.last_name}"))

    lifetime = timedelta(minutes=settings.token_lifetime_minutes)
    secret = settings.signing_key()
    return DemoOrganization(
        slug=DEMO_SLUG,
        logins=[DemoLogin(role=role, email=email, locale=_LOCALES.get(email))
                for role, email, *_ in _PEOPLE],
        admin_token=issue_token(user_id=admin.id, organization_id=organization.id,
                                role=admin.role, session_version=admin.session_version,
                                secret=secret, lifetime=lifetime),
        client_token=issue_token(user_id=client.id, organization_id=organization.id,
                                 role=client.role, session_version=client.session_version,
                                 secret=secret, lifetime=lifetime),
        client_name=f"{client.first_name} {client.last_name}",
        professionals=tuple(professionals),
        invitation_token=invitation_token,
        invited_email=_INVITED[1],
    )


async def _invitation_of_the_invited(db: Database, organization_id: int) -> str | None:
    """A fresh invitation token for the demo's invited user while they have not accepted
    (the one before stops working); the user is added to demos seeded before them."""
    role, email, first_name, last_name, phone = _INVITED
    async with db.transaction(organization_id) as session:
        invited = await people.find_user_by_email(session, email)
        if invited is None:
            invited = await people_service.register_user(
                session, email=email, first_name=first_name, last_name=last_name, phone=phone,
                role=role, password=None)
        if not invited.invitation_pending:
            return None
        return await account_tokens.mint(session, invited.id, TokenPurpose.INVITATION)


async def _seed_people(session) -> None:
    for role, email, first_name, last_name, phone in _PEOPLE:
        user = await people_service.register_user(
            session, email=email, first_name=first_name, last_name=last_name, phone=phone,
            role=role, password=DEMO_PASSWORD, locale=_LOCALES.get(email),
        )
        if email in _PROFILES:
            title, specialization, license_number, zone, minutes, buffer, cost = _PROFILES[email]
            session.add(Professional(
                user_id=user.id, title=title or None, specialization=specialization,
                bio=f"{specialization} for children and adults.", license_number=license_number,
                time_zone=zone, session_minutes=minutes, buffer_minutes=buffer, credit_cost=cost,
            ))
        for first, last, born in _STUDENTS.get(email, []):
            session.add(Student(guardian_id=user.id, first_name=first, last_name=last,
                                date_of_birth=born))
    await session.flush()
