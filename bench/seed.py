"""The benchmark's dataset: organizations with professionals, weeks of slots, clients with
credits, and existing appointments whose ledger keeps every invariant of docs/rules.md: credits.

Organizations and their admins go through the services. The big tables (users,
slots, appointments, ledger, lots, draws) are written with one `INSERT ... SELECT
FROM unnest(...)` each, inside the organization's tenant transaction, so
row-level security checks every row as it would for the server. Ids come back
with a natural key of the row (RETURNING), never by trusting RETURNING order.
"""

import asyncio
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.auth import Role
from app.db import Database
from app.organizations import service as organizations
from app.people import service as people

WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
TIME_ZONES = [
    "America/New_York", "Europe/Madrid", "America/Argentina/Buenos_Aires", "Asia/Tokyo",
    "Europe/London", "America/Los_Angeles", "Australia/Sydney", "Asia/Kolkata",
    "America/Mexico_City", "Africa/Nairobi",
]
# (session minutes, buffer minutes, credit cost): every profile fits an hourly grid.
PROFILES = [(60, 0, 1), (45, 15, 2), (50, 10, 1), (60, 0, 3)]
DAY_START, DAY_END = time(9), time(17)
LOT_SIZE = 40
# Organizations seeded at once. PostgreSQL spends most of the time (maintaining the slots'
# exclusion constraint and the indexes); a second backend puts the second core to work.
SEED_CONCURRENCY = 2
SPARE_CREDITS = 100  # left on every balance, so the booking scenarios never run out


@dataclass(frozen=True)
class Shape:
    """How much data: the full benchmark, or the few-second smoke run."""

    organizations: int = 10
    professionals: int = 20
    clients: int = 500
    weeks: int = 8
    booked_share: float = 0.3
    cancelled_share: float = 0.1


QUICK_SHAPE = Shape(organizations=2, professionals=6, clients=60, weeks=3)


@dataclass
class SeededOrganization:
    id: int
    slug: str
    time_zone: str
    admin_id: int
    professional_ids: list[int] = field(default_factory=list)  # profiles
    professional_user_ids: list[int] = field(default_factory=list)
    client_ids: list[int] = field(default_factory=list)
    week_starts: list[date] = field(default_factory=list)  # local Mondays


async def seed(db: Database, shape: Shape, *, seed: int = 8,
               concurrency: int = SEED_CONCURRENCY) -> list[SeededOrganization]:
    """Creates `shape.organizations` organizations, `concurrency` at a time; deterministic
    for a given `seed`."""
    now = datetime.now(UTC)
    gate = asyncio.Semaphore(concurrency)

    async def organization(number: int) -> SeededOrganization:
        # A generator of its own, so the data does not depend on which finishes first.
        rng = random.Random(seed * 1_000_003 + number)
        async with gate:
            return await _seed_organization(db, shape, number, rng, now)

    return list(await asyncio.gather(*map(organization, range(shape.organizations))))


async def _seed_organization(
    db: Database, shape: Shape, number: int, rng: random.Random, now: datetime
) -> SeededOrganization:
    zone_name = TIME_ZONES[number % len(TIME_ZONES)]
    async with db.transaction(None) as session:
        organization = await organizations.create(
            session, slug=f"bench-{number:02d}", name=f"Bench centre {number}", time_zone=zone_name
        )
        # Eight weeks of slots are bookable (the default window is 30 days).
        organization.booking_window_days = shape.weeks * 7 + 7
        admin = await people.register_user(
            session, email=f"admin@bench-{number:02d}.example", first_name="Ada",
            last_name="Admin", phone="+1 555 0100", role=Role.ADMIN, password=None,
        )
        await session.flush()
        raw = (await (await session.connection()).get_raw_connection()).driver_connection
        seeded = SeededOrganization(id=organization.id, slug=organization.slug,
                                    time_zone=zone_name, admin_id=admin.id)
        writer = _Writer(raw, organization.id, rng, now, ZoneInfo(zone_name), shape)
        await writer.people(seeded)
        slots = await writer.slots(seeded)
        await writer.appointments_and_ledger(seeded, slots, admin.id)
    return seeded


class _Writer:
    def __init__(self, raw, organization_id: int, rng: random.Random, now: datetime,
                 zone: ZoneInfo, shape: Shape) -> None:
        self.raw = raw
        self.org = organization_id
        self.rng = rng
        self.now = now
        self.zone = zone
        self.shape = shape
        self.students: dict[int, int] = {}  # guardian -> student
        self.profiles: dict[int, tuple[int, int, int]] = {}  # professional -> PROFILES item

    async def people(self, seeded: SeededOrganization) -> None:
        shape = self.shape
        emails = [f"pro{n}@{seeded.slug}.example" for n in range(shape.professionals)]
        emails += [f"client{n}@{seeded.slug}.example" for n in range(shape.clients)]
        roles = ["PROFESSIONAL"] * shape.professionals + ["CLIENT"] * shape.clients
        first = [self.rng.choice(_FIRST_NAMES) for _ in emails]
        last = [self.rng.choice(_LAST_NAMES) for _ in emails]
        phones = [f"+1 555 {n:04d}" for n in range(len(emails))]
        rows = await self.raw.fetch(
            """INSERT INTO users (organization_id, email, first_name, last_name, phone, role)
               SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
               RETURNING id, email""",
            self.org, emails, first, last, phones, roles,
        )
        by_email = {row["email"]: row["id"] for row in rows}
        seeded.professional_user_ids = [by_email[e] for e in emails[: shape.professionals]]
        seeded.client_ids = [by_email[e] for e in emails[shape.professionals:]]

        profiles = [PROFILES[n % len(PROFILES)] for n in range(shape.professionals)]
        rows = await self.raw.fetch(
            """INSERT INTO professionals (organization_id, user_id, title, specialization,
                   license_number, time_zone, session_minutes, buffer_minutes, credit_cost)
               SELECT $1, u, 'Lic.', s, 'LIC-' || u, $2, m, b, c
               FROM unnest($3::bigint[], $4::text[], $5::int[], $6::int[], $7::int[])
                   AS t (u, s, m, b, c)
               RETURNING id, user_id""",
            self.org, self.zone.key, seeded.professional_user_ids,
            [_SPECIALIZATIONS[n % len(_SPECIALIZATIONS)] for n in range(shape.professionals)],
            [p[0] for p in profiles], [p[1] for p in profiles], [p[2] for p in profiles],
        )
        by_user = {row["user_id"]: row["id"] for row in rows}
        seeded.professional_ids = [by_user[u] for u in seeded.professional_user_ids]
        self.profiles = dict(zip(seeded.professional_ids, profiles, strict=True))

        guardians = seeded.client_ids[::3]  # every third client books for a child too
        rows = await self.raw.fetch(
            """INSERT INTO students (organization_id, guardian_id, first_name, last_name)
               SELECT $1, g, f, 'Junior' FROM unnest($2::bigint[], $3::text[]) AS t (g, f)
               RETURNING id, guardian_id""",
            self.org, guardians, [self.rng.choice(_FIRST_NAMES) for _ in guardians],
        )
        self.students = {row["guardian_id"]: row["id"] for row in rows}

    async def slots(self, seeded: SeededOrganization) -> list[dict]:
        """Weekday rules 09:00-17:00 and their hourly slots, from this week's Monday on."""
        today = self.now.astimezone(self.zone).date()
        monday = today - timedelta(days=today.weekday())
        seeded.week_starts = [monday + timedelta(weeks=w) for w in range(self.shape.weeks)]
        professionals = [p for p in seeded.professional_ids for _ in WEEKDAYS]
        rows = await self.raw.fetch(
            """INSERT INTO availability_rules (organization_id, professional_id, weekday,
                   start_time, end_time)
               SELECT $1, p, w, $4, $5 FROM unnest($2::bigint[], $3::text[]) AS t (p, w)
               RETURNING id, professional_id, weekday""",
            self.org, professionals, WEEKDAYS * len(seeded.professional_ids), DAY_START, DAY_END,
        )
        rules = {(row["professional_id"], row["weekday"]): row["id"] for row in rows}

        columns = defaultdict(list)
        for professional_id in seeded.professional_ids:
            minutes = self.profiles[professional_id][0]
            for week in seeded.week_starts:
                for offset, weekday in enumerate(WEEKDAYS):
                    day = week + timedelta(days=offset)
                    for hour in range(DAY_START.hour, DAY_END.hour):
                        starts = datetime.combine(day, time(hour), self.zone).astimezone(UTC)
                        columns["professional"].append(professional_id)
                        columns["rule"].append(rules[(professional_id, weekday)])
                        columns["starts"].append(starts)
                        columns["ends"].append(starts + timedelta(minutes=minutes))
        # Which slots hold a live appointment is decided now, so they are inserted BOOKED.
        count = len(columns["starts"])
        chosen = self.rng.sample(range(count), int(count * self.shape.booked_share))
        cancelled = set(chosen[: int(len(chosen) * self.shape.cancelled_share)])
        booked = set(chosen) - cancelled
        statuses = ["BOOKED" if n in booked else "AVAILABLE" for n in range(count)]
        rows = await self.raw.fetch(
            """INSERT INTO time_slots (organization_id, professional_id, rule_id, starts_at,
                   ends_at, status)
               SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[],
                   $5::timestamptz[], $6::text[])
               RETURNING id, professional_id, starts_at""",
            self.org, columns["professional"], columns["rule"], columns["starts"],
            columns["ends"], statuses,
        )
        ids = {(row["professional_id"], row["starts_at"]): row["id"] for row in rows}
        return [
            {"id": ids[(columns["professional"][n], columns["starts"][n])],
             "professional": columns["professional"][n], "starts": columns["starts"][n],
             "ends": columns["ends"][n], "cancelled": n in cancelled}
            for n in sorted(chosen)
        ]

    async def appointments_and_ledger(
        self, seeded: SeededOrganization, slots: list[dict], staff_id: int
    ) -> None:
        rng, now = self.rng, self.now
        appointments = []
        for slot in slots:
            client = rng.choice(seeded.client_ids)
            cost = self.profiles[slot["professional"]][2]
            booked_at = min(now, slot["starts"]) - timedelta(minutes=rng.randint(60, 14 * 24 * 60))
            past = slot["starts"] <= now
            if slot["cancelled"]:
                state = "CANCELLED"
            elif past:
                state = "EXECUTED"
            else:
                state = "CONFIRMED"
            appointments.append({
                **slot, "client": client, "cost": cost, "booked_at": booked_at, "state": state,
                "student": self.students.get(client) if rng.random() < 0.5 else None,
                "confirmed_at": booked_at + timedelta(minutes=30) if state != "CANCELLED" else None,
                "executed_at": slot["starts"] if state == "EXECUTED" else None,
                "cancelled_at": booked_at + timedelta(minutes=45) if state == "CANCELLED" else None,
            })
        rows = await self.raw.fetch(
            """INSERT INTO appointments (organization_id, professional_id, client_id, student_id,
                   time_slot_id, starts_at, ends_at, state, credit_cost, refundable_until,
                   booked_at, confirmed_at, executed_at, cancelled_at, cancelled_by_id,
                   cancellation_reason)
               SELECT $1, p, c, s, t, a, e, st, cost, a - interval '24 hours', b, conf, ex, can,
                   CASE WHEN can IS NULL THEN NULL ELSE c END,
                   CASE WHEN can IS NULL THEN NULL ELSE 'Change of plans' END
               FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                   $6::timestamptz[], $7::timestamptz[], $8::text[], $9::int[],
                   $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[])
                   AS t (p, c, s, t, a, e, st, cost, b, conf, ex, can)
               RETURNING id, time_slot_id""",
            self.org, *[[a[key] for a in appointments] for key in (
                "professional", "client", "student", "id", "starts", "ends", "state", "cost",
                "booked_at", "confirmed_at", "executed_at", "cancelled_at")],
        )
        by_slot = {row["time_slot_id"]: row["id"] for row in rows}
        for appointment in appointments:
            appointment["appointment_id"] = by_slot[appointment["id"]]
        await _Ledger(self, seeded, staff_id).write(appointments)


class _Ledger:
    """Purchases, then each appointment's debit (and refund if cancelled), drawn from lots
    the way `app.credits.ledger` draws: never-expiring lots, oldest first."""

    def __init__(self, writer: _Writer, seeded: SeededOrganization, staff_id: int) -> None:
        self.writer = writer
        self.seeded = seeded
        self.staff_id = staff_id
        self.entries: list[dict] = []
        # Every entry gets its own created_at: the key its RETURNING id is matched by.
        self.clock = writer.now - timedelta(days=120)

    def _tick(self, at: datetime | None = None) -> datetime:
        self.clock = max(self.clock + timedelta(microseconds=1), at or self.clock)
        return self.clock

    async def write(self, appointments: list[dict]) -> None:
        by_client = defaultdict(list)
        for appointment in appointments:
            by_client[appointment["client"]].append(appointment)
        events = []  # (time, kind, client, appointment)
        lots: dict[int, list[dict]] = {}
        for client in self.seeded.client_ids:
            mine = by_client[client]
            need = sum(a["cost"] for a in mine) + SPARE_CREDITS
            lots[client] = []
            for n in range(math.ceil(need / LOT_SIZE)):
                amount = min(LOT_SIZE, need - n * LOT_SIZE)
                entry = self._entry(client, "PURCHASE", amount, created_by=self.staff_id,
                                    description=f"Purchase of {amount} credits",
                                    paid=amount * 1500)
                lots[client].append({"entry": entry, "remaining": amount, "original": amount})
            for appointment in mine:
                events.append((appointment["booked_at"], 0, client, appointment))
                if appointment["cancelled_at"] is not None:
                    events.append((appointment["cancelled_at"], 1, client, appointment))
        balances = {client: sum(lot["original"] for lot in lots[client])
                    for client in self.seeded.client_ids}
        running = defaultdict(int)  # purchases first: the balance after each, in order
        for entry in self.entries:
            running[entry["user"]] += entry["amount"]
            entry["balance_after"] = running[entry["user"]]
        draws = {}  # debit entry key -> {lot index: amount}
        used, refunded = defaultdict(int), defaultdict(int)
        events.sort(key=lambda event: (event[0], event[1]))
        for at, kind, client, appointment in events:
            cost = appointment["cost"]
            if kind == 0:
                debit = self._entry(client, "APPOINTMENT_DEBIT", -cost, at=at, created_by=client,
                                    description="Booking",
                                    appointment=appointment["appointment_id"])
                taken, missing = {}, cost
                for index, lot in enumerate(lots[client]):
                    if missing == 0:
                        break
                    take = min(lot["remaining"], missing)
                    if take:
                        lot["remaining"] -= take
                        taken[index] = take
                        missing -= take
                assert missing == 0, "purchases cover every debit"
                draws[debit["created_at"]] = taken
                appointment["debit"] = debit
                used[client] += cost
            else:
                debit = appointment["debit"]
                for index, amount in draws[debit["created_at"]].items():
                    lots[client][index]["remaining"] += amount
                self._entry(client, "CANCELLATION_REFUND", cost, at=at, created_by=client,
                            description="Cancellation refund",
                            appointment=appointment["appointment_id"], reverses=debit)
                refunded[client] += cost
            running[client] += -cost if kind == 0 else cost
            self.entries[-1]["balance_after"] = running[client]
        ids = await self._insert_entries()
        await self._insert_lots_and_draws(lots, draws, ids)
        await self.writer.raw.execute(
            """INSERT INTO credit_balances (organization_id, user_id, balance, lifetime_purchased,
                   lifetime_used, lifetime_refunded)
               SELECT $1, *
               FROM unnest($2::bigint[], $3::int[], $4::int[], $5::int[], $6::int[])""",
            self.writer.org, self.seeded.client_ids,
            [running[c] for c in self.seeded.client_ids],
            [balances[c] for c in self.seeded.client_ids],
            [used[c] for c in self.seeded.client_ids],
            [refunded[c] for c in self.seeded.client_ids],
        )

    def _entry(self, user: int, type_: str, amount: int, *, at: datetime | None = None,
               created_by: int, description: str, paid: int | None = None,
               appointment: int | None = None, reverses: dict | None = None) -> dict:
        entry = {"user": user, "type": type_, "amount": amount, "created_at": self._tick(at),
                 "created_by": created_by, "description": description, "paid": paid,
                 "appointment": appointment, "reverses": reverses, "balance_after": None}
        self.entries.append(entry)
        return entry

    async def _insert_entries(self) -> dict[datetime, int]:
        """Inserts every entry (refunds after their debits) and returns id by created_at."""
        ids: dict[datetime, int] = {}
        for refunds in (False, True):  # a refund needs its debit's id
            batch = [e for e in self.entries if (e["reverses"] is not None) is refunds]
            rows = await self.writer.raw.fetch(
                """INSERT INTO credit_transactions (organization_id, user_id, type, status, amount,
                       balance_after, reverses_id, appointment_id, amount_paid_cents, currency,
                       created_by_id, description, created_at, processed_at)
                   SELECT $1, u, t, 'COMPLETED', a, b, r, ap, p,
                       CASE WHEN p IS NULL THEN NULL ELSE 'USD' END, cb, d, c, c
                   FROM unnest($2::bigint[], $3::text[], $4::int[], $5::int[], $6::bigint[],
                       $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::timestamptz[])
                       AS t (u, t, a, b, r, ap, p, cb, d, c)
                   RETURNING id, created_at""",
                self.writer.org, [e["user"] for e in batch], [e["type"] for e in batch],
                [e["amount"] for e in batch], [e["balance_after"] for e in batch],
                [None if e["reverses"] is None else ids[e["reverses"]["created_at"]]
                 for e in batch],
                [e["appointment"] for e in batch], [e["paid"] for e in batch],
                [e["created_by"] for e in batch], [e["description"] for e in batch],
                [e["created_at"] for e in batch],
            )
            ids.update({row["created_at"]: row["id"] for row in rows})
        return ids

    async def _insert_lots_and_draws(self, lots: dict[int, list[dict]], draws: dict,
                                     ids: dict[datetime, int]) -> None:
        all_lots = [(client, lot) for client, mine in lots.items() for lot in mine]
        rows = await self.writer.raw.fetch(
            """INSERT INTO credit_lots (organization_id, user_id, source_transaction_id,
                   original_amount, remaining)
               SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::int[], $5::int[])
               RETURNING id, source_transaction_id""",
            self.writer.org, [client for client, _ in all_lots],
            [ids[lot["entry"]["created_at"]] for _, lot in all_lots],
            [lot["original"] for _, lot in all_lots], [lot["remaining"] for _, lot in all_lots],
        )
        lot_ids = {row["source_transaction_id"]: row["id"] for row in rows}
        by_debit = {e["created_at"]: e for e in self.entries if e["type"] == "APPOINTMENT_DEBIT"}
        draw_rows = [
            (ids[created_at],
             lot_ids[ids[lots[by_debit[created_at]["user"]][index]["entry"]["created_at"]]],
             amount)
            for created_at, taken in draws.items() for index, amount in taken.items()
        ]
        await self.writer.raw.execute(
            """INSERT INTO credit_lot_draws (organization_id, transaction_id, lot_id, amount)
               SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::int[])""",
            self.writer.org, [r[0] for r in draw_rows], [r[1] for r in draw_rows],
            [r[2] for r in draw_rows],
        )


_FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Inés", "Jamal",
                "Kai", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq"]
_LAST_NAMES = ["Álvarez", "Brown", "Chen", "Dubois", "Evans", "Fischer", "García", "Hansen",
               "Ito", "Jones", "Kowalski", "López", "Müller", "Nakamura", "Okafor", "Patel"]
_SPECIALIZATIONS = ["Speech therapy", "Psychology", "Occupational therapy", "Physiotherapy"]
