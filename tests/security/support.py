"""Helpers of the security tests: objects of every kind in a fresh organization, on demand,
and snapshots of everything an organization owns."""

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update

from app import global_ids as ids
from app.appointments import booking, lifecycle
from app.appointments import series as series_service
from app.appointments.series import SeriesBooking
from app.auth import Role
from app.credits import ledger
from app.credits.models import CreditPackage
from app.db import Database
from app.organizations import service as organizations
from app.organizations.models import Organization
from app.people import account_tokens
from app.people import service as people
from app.people.account_tokens import TokenPurpose
from app.people.models import Professional, Student
from app.scheduling import service as scheduling
from app.scheduling.models import Weekday
from app.webhooks import signing
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.appointments.support import add_slot, add_slots
from tests.support import Member, Tenant

WEEKDAYS = list(Weekday)


class World:
    """One organization and fresh objects of every kind, each made (committed) when asked for.

    Every call makes a new object, so a test may change or delete what it gets.
    """

    def __init__(self, db: Database, org: Tenant) -> None:
        self.db = db
        self.org = org
        self._slots = 0
        self._rules = 0
        self._other_profile_id: int | None = None
        self.caller: Member | None = None  # who the case runs as (None: anonymous)

    def member(self, key: str) -> Member:
        return getattr(self.org, key)

    async def profile_id(self, key: str = "professional") -> int:
        """The professional profile of `professional` or `other_professional`."""
        if key == "professional":
            return self.org.professional_profile.id
        if self._other_profile_id is None:
            async with self.db.transaction(self.org.id, read_only=True) as session:
                self._other_profile_id = await session.scalar(select(Professional.id).where(
                    Professional.user_id == self.org.other_professional.user.id))
        return self._other_profile_id

    async def professional(self, key: str = "professional") -> str:
        return ids.encode("Professional", await self.profile_id(key))

    def _next_start(self) -> datetime:
        """A new start, some days ahead (inside the booking window), an hour after the last."""
        self._slots += 1
        return (datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
                + timedelta(days=3, hours=self._slots))

    async def slot_pk(self, professional: str = "professional") -> int:
        """A new AVAILABLE slot, some days ahead (inside the booking window)."""
        slot = await add_slot(self.db, self.org, self._next_start(),
                              professional_id=await self.profile_id(professional))
        return slot.id

    async def slot(self, professional: str = "professional") -> str:
        return ids.encode("TimeSlot", await self.slot_pk(professional))

    async def blocked_slot(self) -> str:
        pk = await self.slot_pk()
        async with self.db.transaction(self.org.id) as session:
            await scheduling.block_time_slot(session, self.org.admin.principal, pk)
        return ids.encode("TimeSlot", pk)

    async def appointment_pk(self, client: str = "client", professional: str = "professional",
                             *, private_notes: str | None = "Private: seen by the professional",
                             confirmed: bool = False, slot_pk: int | None = None) -> int:
        """A PRE_CONFIRMED (or CONFIRMED) appointment of `client` with `professional`."""
        member = self.member(client)
        slot_pk = slot_pk or await self.slot_pk(professional)
        async with self.db.transaction(self.org.id) as session:
            await ledger.purchase(session, user_id=member.user.id, credits=5,
                                  amount_paid_cents=5000, currency="USD",
                                  now=datetime.now(UTC), expires_at=None)
            change = await booking.book_time_slot(session, member.principal,
                                                  slot_id=slot_pk)
            pk = change.appointment.id
            if confirmed:
                await lifecycle.confirm_appointment(session, self.org.admin.principal, pk)
            if private_notes is not None:
                await session.execute(text("UPDATE appointments SET private_notes = :notes "
                                           "WHERE id = :id"), {"notes": private_notes, "id": pk})
        return pk

    async def appointment(self, client: str = "client", professional: str = "professional",
                          **options: Any) -> str:
        return ids.encode("Appointment", await self.appointment_pk(client, professional, **options))

    async def booked_slot(self, client: str = "client", professional: str = "professional") -> str:
        """A slot holding a new appointment of `client` with `professional`."""
        slot_pk = await self.slot_pk(professional)
        await self.appointment_pk(client, professional, slot_pk=slot_pk)
        return ids.encode("TimeSlot", slot_pk)

    async def weekly_slot_pks(self, professional: str = "professional",
                              weeks: int = 3) -> list[int]:
        """New AVAILABLE slots of `professional` a week apart at the same local time (in the
        professional's zone, so across DST too), all inside the booking window: the
        occurrences of a weekly series."""
        profile_id = await self.profile_id(professional)
        async with self.db.transaction(self.org.id, read_only=True) as session:
            zone = ZoneInfo(await session.scalar(select(Professional.time_zone).where(
                Professional.id == profile_id)))
        local = self._next_start().astimezone(zone)
        starts = [datetime.combine(local.date() + timedelta(weeks=week), local.time(),
                                   tzinfo=zone).astimezone(UTC) for week in range(weeks)]
        slots = await add_slots(self.db, self.org, starts, professional_id=profile_id)
        return [slot.id for slot in sorted(slots, key=lambda slot: slot.starts_at)]

    async def weekly_slots(self, professional: str = "professional", weeks: int = 3) -> str:
        """The first of new weekly slots (see `weekly_slot_pks`): where a series starts."""
        return ids.encode("TimeSlot", (await self.weekly_slot_pks(professional, weeks))[0])

    async def booked_series(self, client: str = "client", professional: str = "professional",
                            *, weeks: int = 3, cancelled: bool = False) -> SeriesBooking:
        """A new weekly series of `client`'s with `professional`, booked by the client: `weeks`
        occurrences, all inside the window, so booked now (PRE_CONFIRMED). `cancelled`: then
        cancelled by the client."""
        member = self.member(client)
        first, *_ = await self.weekly_slot_pks(professional, weeks)
        async with self.db.transaction(self.org.id) as session:
            await ledger.purchase(session, user_id=member.user.id, credits=2 * weeks,
                                  amount_paid_cents=1000 * weeks, currency="USD",
                                  now=datetime.now(UTC), expires_at=None)
            made = await series_service.book_series(session, member.principal, slot_id=first,
                                                    interval_weeks=1, count=weeks)
            if cancelled:
                await series_service.cancel_series(session, member.principal, made.series.id)
        assert made.appointments, made  # (a week may be skipped, should DST swallow its time)
        return made

    async def series(self, client: str = "client", professional: str = "professional",
                     **options: Any) -> str:
        made = await self.booked_series(client, professional, **options)
        return ids.encode("AppointmentSeries", made.series.id)

    async def series_occurrence(self, client: str = "client",
                                professional: str = "professional") -> str:
        """An appointment that is the last occurrence (booked so far) of a new series."""
        made = await self.booked_series(client, professional)
        return ids.encode("Appointment", made.appointments[-1].id)

    async def rule(self, professional: str = "professional") -> str:
        """A new active weekly rule (each on its own weekday and hours, so none overlap)."""
        self._rules += 1
        weekday = WEEKDAYS[self._rules % 7]
        hour = 6 + (self._rules // 7) * 3
        async with self.db.transaction(self.org.id) as session:
            rule = await scheduling.create_rule(
                session, self.org.admin.principal, await self.profile_id(professional),
                weekday=weekday, start_time=time(hour), end_time=time(hour + 2))
        return ids.encode("AvailabilityRule", rule.id)

    async def time_off(self, professional: str = "professional") -> str:
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40 + self._rules)
        self._rules += 1
        async with self.db.transaction(self.org.id) as session:
            created = await scheduling.create_time_off(
                session, self.org.admin.principal, await self.profile_id(professional),
                starts_at=starts, ends_at=starts + timedelta(hours=3), reason="Private: surgery")
        return ids.encode("TimeOff", created.time_off.id)

    async def purchase(self, client: str = "client", *, pending: bool = False) -> str:
        """A purchase of `client`'s, recorded by the staff member."""
        async with self.db.transaction(self.org.id) as session:
            posting = await ledger.purchase(
                session, user_id=self.member(client).user.id, credits=3, amount_paid_cents=3000,
                currency="USD", now=datetime.now(UTC), expires_at=None, pending=pending,
                created_by_id=self.org.staff.user.id)
        return ids.encode("CreditTransaction", posting.transaction.id)

    async def package(self, *, active: bool = True) -> str:
        """A new credit package, offered or retired."""
        async with self.db.transaction(self.org.id) as session:
            package = CreditPackage(organization_id=self.org.id, name="Ten sessions", credits=10,
                                    price_cents=45000, currency="USD", active=active)
            session.add(package)
            await session.flush()
        return ids.encode("CreditPackage", package.id)

    async def webhook_endpoint(self) -> str:
        """A new webhook endpoint of every event, at an address where nothing listens."""
        async with self.db.transaction(self.org.id) as session:
            endpoint = WebhookEndpoint(organization_id=self.org.id, url="http://127.0.0.1:9/hooks",
                                       events=["*"], secret=signing.new_secret())
            session.add(endpoint)
            await session.flush()
        return ids.encode("WebhookEndpoint", endpoint.id)

    async def webhook_delivery(self) -> str:
        """A delivery of an event to a new endpoint, already FAILED."""
        endpoint_id = ids.parse(await self.webhook_endpoint())[1]
        async with self.db.transaction(self.org.id) as session:
            delivery = WebhookDelivery(
                organization_id=self.org.id, endpoint_id=endpoint_id, event_id="evt_matrix",
                event_type="credits.adjusted", payload="{}", status=DeliveryStatus.FAILED,
                next_attempt_at=datetime.now(UTC))
            session.add(delivery)
            await session.flush()
        return ids.encode("WebhookDelivery", delivery.id)

    async def student(self, guardian: str = "client") -> str:
        """A new student of `guardian`'s."""
        async with self.db.transaction(self.org.id) as session:
            student = Student(guardian_id=self.member(guardian).user.id, first_name="Kid",
                              last_name="Other")
            session.add(student)
            await session.flush()
        return ids.encode("Student", student.id)

    async def professional_user_without_profile(self) -> str:
        async with self.db.transaction(self.org.id) as session:
            user = await people.register_user(
                session, email=f"new-pro-{self._slots}@{self.org.slug}.example",
                first_name="New", last_name="Pro", phone="+1 555 0100",
                role=Role.PROFESSIONAL, password=None)
        self._slots += 1
        return ids.encode("User", user.id)

    def organization(self) -> str:
        return ids.encode("Organization", self.org.id)

    async def invited_user_pk(self, role: Role = Role.CLIENT) -> int:
        """A new user without a password: invited, the invitation not yet accepted."""
        self._slots += 1
        async with self.db.transaction(self.org.id) as session:
            user = await people.register_user(
                session, email=f"invited-{self._slots}@{self.org.slug}.example",
                first_name="Invited", last_name=role.value.title(), phone="+1 555 0101",
                role=role, password=None)
        return user.id

    async def invited_user(self, role: Role = Role.CLIENT) -> str:
        return ids.encode("User", await self.invited_user_pk(role))

    async def invited_professional(self) -> str:
        """The profile of a new PROFESSIONAL who has not accepted their invitation yet."""
        user_pk = await self.invited_user_pk(Role.PROFESSIONAL)
        async with self.db.transaction(self.org.id) as session:
            profile = Professional(user_id=user_pk, time_zone="America/New_York",
                                   session_minutes=60, buffer_minutes=0, credit_cost=1)
            session.add(profile)
            await session.flush()
        return ids.encode("Professional", profile.id)

    async def account_token(self, purpose: TokenPurpose, user_pk: int | None = None) -> str:
        """The token an invitation (for a new invited client, by default) or password-reset
        email (for `client`, by default) links to, as delivery mints it."""
        if user_pk is None:
            user_pk = (await self.invited_user_pk() if purpose is TokenPurpose.INVITATION
                       else self.org.client.user.id)
        async with self.db.transaction(self.org.id) as session:
            return await account_tokens.mint(session, user_pk, purpose)

    async def allow_client_signup(self, allowed: bool = True) -> None:
        async with self.db.transaction(self.org.id) as session:
            await session.execute(update(Organization).where(Organization.id == self.org.id)
                                  .values(allow_client_signup=allowed))

    async def user_of_another_organization(self) -> str:
        """A user of a new organization of their own."""
        self._slots += 1
        slug = f"{self.org.slug}-elsewhere-{self._slots}"
        async with self.db.transaction(None) as session:
            # Creating it makes it the transaction's tenant: the user is registered in it.
            await organizations.create(session, slug=slug, name=f"Centre {slug}",
                                       time_zone="UTC")
            user = await people.register_user(
                session, email=f"someone@{slug}.example", first_name="Some", last_name="One",
                phone="+1 555 0102", role=Role.CLIENT, password=None)
        return ids.encode("User", user.id)


async def organization_rows(db: Database, organization_id: int) -> dict[str, list[tuple]]:
    """Every row the organization owns, table by table, read as the superuser (no RLS)."""
    async with db.engine.connect() as connection:
        tables = (await connection.execute(text(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = 'organization_id' "
            "ORDER BY table_name"))).scalars().all()
        snapshot = {"organizations": [tuple(row) for row in await connection.execute(
            text("SELECT * FROM organizations WHERE id = :org"), {"org": organization_id})]}
        for table in tables:
            rows = await connection.execute(
                text(f'SELECT * FROM "{table}" WHERE organization_id = :org ORDER BY 1, 2'),
                {"org": organization_id})
            snapshot[table] = sorted((tuple(row) for row in rows), key=repr)
    return snapshot
