"""The raw baseline: a minimal Starlette + asyncpg app that answers the read scenarios with
the same bytes as the GraphQL server, running the same SQL under the same tenant setup.

Per request it does what the server must do at the least: verify the bearer
token, open a transaction, drop to the application role, set the tenant and
look the caller up (the role comes from the database) in one statement, as
app.db does, run the scenario's queries, and encode the answer. No GraphQL,
no ORM, no DataLoaders: the ratio of our rate to this one is what the GraphQL
layer costs.

Run by the benchmark as `uvicorn bench.baseline:app` with DATABASE_URL and
BOOKINGS_SECRET_KEY set, like the server.
"""

import base64
import json
import os
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.scheduling.generation import local_day_bounds

APP_ROLE = "bookings_app"


def _enter_tenant_as_actor(read_only: bool) -> str:
    """The server's tenant setup (app/db.py): the role, the tenant (and read-only for a
    query), and the caller's row, in one statement."""
    return f"""
    SELECT actor.id, actor.role, actor.active, actor.slug
    FROM (SELECT set_config('role', $1, true),
                 set_config('app.organization_id', $2, true) AS tenant
                 {", set_config('transaction_read_only', 'on', true)" if read_only else ""}
         ) AS setup
    LEFT JOIN LATERAL (
        SELECT users.id, users.role, users.active, organizations.slug
        FROM users JOIN organizations ON organizations.id = users.organization_id
        WHERE users.organization_id = NULLIF(setup.tenant, '')::bigint AND users.id = $3
    ) AS actor ON true
"""


ENTER_TENANT_AS_ACTOR = _enter_tenant_as_actor(read_only=True)
ENTER_TENANT_AS_ACTOR_READ_WRITE = _enter_tenant_as_actor(read_only=False)

_pool: asyncpg.Pool | None = None
_secret = os.environ.get("BOOKINGS_SECRET_KEY", "")


class Refused(Exception):
    pass


class UserError(Exception):
    """A refusal our server reports in the payload's userErrors, its transaction rolled back."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def cursor(table: str, values: list) -> str:
    """As app/pagination.py makes them: the list's table, then the sort key."""
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return base64.urlsafe_b64encode(json.dumps([table, *plain]).encode()).decode()


def pk_of(gid: str) -> int:
    padded = gid + "=" * (-len(gid) % 4)
    return int(base64.urlsafe_b64decode(padded).decode().partition(":")[2])


def endpoint(handler, *, writes: bool = False, refused=None):
    """Token, transaction, tenant, principal; then the scenario's own queries.

    A handler that `writes` runs read-write, as a mutation does; its UserError rolls the
    transaction back and is answered by `refused(error)`, as our userErrors are."""
    enter_tenant = ENTER_TENANT_AS_ACTOR_READ_WRITE if writes else ENTER_TENANT_AS_ACTOR

    async def serve(request: Request) -> Response:
        _scheme, _, token = request.headers.get("authorization", "").partition(" ")
        claims = jwt.decode(token, _secret, algorithms=["HS256"],
                            options={"require": ["sub", "org", "exp", "iat"]})
        organization_id, user_id = int(claims["org"]), int(claims["sub"])
        variables = orjson.loads(await request.body()).get("variables") or {}
        try:
            async with _pool.acquire() as connection, connection.transaction():
                principal = await connection.fetchrow(enter_tenant, APP_ROLE,
                                                      str(organization_id), user_id)
                if principal["id"] is None or not principal["active"]:
                    raise Refused("unknown user")
                data = await handler(connection, organization_id, principal, variables)
        except UserError as error:
            if refused is None:
                raise
            data = refused(error)
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    return serve


# ---- availability -------------------------------------------------------------------

PROFESSIONALS = (
    "SELECT id, user_id, title, specialization, credit_cost, time_zone, active"
    " FROM professionals WHERE organization_id = $1 AND id = ANY($2::bigint[])"
)
AVAILABLE_SLOTS = """
    SELECT slot.id, slot.professional_id, slot.starts_at, slot.ends_at
    FROM unnest($2::bigint[], $3::timestamptz[], $4::timestamptz[])
        AS window_ (professional_id, lower_, upper_)
    CROSS JOIN (
        SELECT $5::timestamptz + make_interval(mins => minimum_notice_minutes) AS earliest,
               $5::timestamptz + make_interval(hours => 24 * booking_window_days) AS latest
        FROM organizations WHERE id = $1
    ) AS bookable
    JOIN time_slots AS slot
      ON slot.organization_id = $1
     AND slot.professional_id = window_.professional_id
     AND slot.status = 'AVAILABLE'
     AND slot.starts_at >= greatest(window_.lower_, bookable.earliest)
     AND slot.starts_at < window_.upper_
     AND slot.starts_at <= bookable.latest
    WHERE NOT EXISTS (
        SELECT 1 FROM time_off
        WHERE time_off.organization_id = $1
          AND time_off.professional_id = slot.professional_id
          AND time_off.period && slot.period)
    ORDER BY slot.professional_id, slot.starts_at
"""
USER_NAMES = (
    "SELECT id, first_name, last_name FROM users"
    " WHERE organization_id = $1 AND id = ANY($2::bigint[])"
)


async def availability(connection, organization_id, principal, variables):
    wanted = list(dict.fromkeys(pk_of(gid) for gid in variables["ids"]))
    first_day, last_day = date.fromisoformat(variables["from"]), date.fromisoformat(variables["to"])
    found = {row["id"]: row for row in await connection.fetch(PROFESSIONALS, organization_id,
                                                                wanted)}
    professionals = [found[pk] for pk in wanted]
    now = datetime.now(UTC)
    zones = {p["id"]: ZoneInfo(p["time_zone"]) for p in professionals}
    windows = [(p["id"], *local_day_bounds(first_day, last_day, zones[p["id"]]))
               for p in professionals if p["active"]]
    slots = await connection.fetch(
        AVAILABLE_SLOTS, organization_id, [w[0] for w in windows], [w[1] for w in windows],
        [w[2] for w in windows], now,
    )
    users = {row["id"]: row for row in await connection.fetch(
        USER_NAMES, organization_id, list({p["user_id"] for p in professionals}))}
    dates = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    days = {p["id"]: {day: [] for day in dates} for p in professionals}
    for slot in slots:
        local = slot["starts_at"].astimezone(zones[slot["professional_id"]]).date()
        day = days[slot["professional_id"]].get(local)
        if day is not None:
            day.append({"id": global_id("TimeSlot", slot["id"]),
                        "startsAt": slot["starts_at"].isoformat(),
                        "endsAt": slot["ends_at"].isoformat()})
    return {"availability": [
        {
            "professional": {
                "id": global_id("Professional", p["id"]), "title": p["title"],
                "specialization": p["specialization"], "creditCost": p["credit_cost"],
                "user": {"firstName": users[p["user_id"]]["first_name"],
                         "lastName": users[p["user_id"]]["last_name"]},
            },
            "timeZone": zones[p["id"]].key,
            "days": [{"date": day.isoformat(), "slots": slots_of_day}
                     for day, slots_of_day in days[p["id"]].items()],
        }
        for p in professionals
    ]}


# ---- credits --------------------------------------------------------------------------

BALANCE = (
    "SELECT balance, lifetime_purchased, lifetime_used, lifetime_refunded, updated_at"
    " FROM credit_balances WHERE organization_id = $1 AND user_id = $2"
)
TRANSACTIONS = (
    "SELECT id, type, status, amount, balance_after, description, created_at"
    " FROM credit_transactions WHERE organization_id = $1 AND user_id = $2"
    " ORDER BY created_at DESC, id DESC LIMIT $3"
)


async def credits(connection, organization_id, principal, variables):
    user_id, first = principal["id"], 20
    balance = await connection.fetchrow(BALANCE, organization_id, user_id)
    rows = await connection.fetch(TRANSACTIONS, organization_id, user_id, first + 1)
    page, more = rows[:first], len(rows) > first
    edges = [
        {"cursor": cursor("credit_transactions", [row["created_at"], row["id"]]),
         "node": {"id": global_id("CreditTransaction", row["id"]), "type": row["type"],
                  "status": row["status"], "amount": row["amount"],
                  "balanceAfter": row["balance_after"], "description": row["description"],
                  "createdAt": row["created_at"].isoformat()}}
        for row in page
    ]
    return {
        "creditBalance": {
            "balance": balance["balance"], "lifetimePurchased": balance["lifetime_purchased"],
            "lifetimeUsed": balance["lifetime_used"],
            "lifetimeRefunded": balance["lifetime_refunded"],
            "updatedAt": balance["updated_at"].isoformat(),
        },
        "creditTransactions": {
            "edges": edges,
            "pageInfo": {"hasNextPage": more,
                         "endCursor": edges[-1]["cursor"] if edges else None},
        },
    }


# ---- appointments ---------------------------------------------------------------------

APPOINTMENTS = """
    SELECT id, state, starts_at, ends_at, notes, client_id, student_id FROM appointments
    WHERE organization_id = $1
      AND professional_id = (SELECT id FROM professionals
                             WHERE organization_id = $1 AND user_id = $2)
      AND professional_id = $3 AND starts_at >= $4 AND starts_at < $5
    ORDER BY starts_at, id LIMIT $6
"""
CLIENTS = (
    "SELECT id, first_name, last_name, phone FROM users"
    " WHERE organization_id = $1 AND id = ANY($2::bigint[])"
)
STUDENTS = (
    "SELECT id, first_name, last_name FROM students"
    " WHERE organization_id = $1 AND id = ANY($2::bigint[])"
)


async def appointments(connection, organization_id, principal, variables):
    first = 100
    rows = await connection.fetch(
        APPOINTMENTS, organization_id, principal["id"], pk_of(variables["professionalId"]),
        datetime.fromisoformat(variables["from"]), datetime.fromisoformat(variables["to"]),
        first + 1,
    )
    page, more = rows[:first], len(rows) > first
    clients = {row["id"]: row for row in await connection.fetch(
        CLIENTS, organization_id, list({row["client_id"] for row in page}))}
    students = {row["id"]: row for row in await connection.fetch(
        STUDENTS, organization_id,
        list({row["student_id"] for row in page if row["student_id"] is not None}))}
    edges = []
    for row in page:
        client, student = clients[row["client_id"]], students.get(row["student_id"])
        edges.append({"node": {
            "id": global_id("Appointment", row["id"]), "state": row["state"],
            "startsAt": row["starts_at"].isoformat(), "endsAt": row["ends_at"].isoformat(),
            "notes": row["notes"],
            "client": {"id": global_id("User", client["id"]), "firstName": client["first_name"],
                       "lastName": client["last_name"], "phone": client["phone"]},
            "student": None if student is None else {
                "id": global_id("Student", student["id"]), "firstName": student["first_name"],
                "lastName": student["last_name"]},
        }})
    end = cursor("appointments", [page[-1]["starts_at"], page[-1]["id"]]) if page else None
    return {"appointments": {"edges": edges,
                             "pageInfo": {"hasNextPage": more, "endCursor": end}}}


# ---- booking ----------------------------------------------------------------------------
# bookTimeSlot as our server runs it for a client booking for themself without an
# idempotency key (the scenario's request): the same statements in the same order (see
# app/appointments/booking.py, slots.py, messages.py and app/credits/ledger.py), each
# reading and writing the same rows. Column lists are cut to what is used, as in the reads.

BOOKING_PARTIES = """
    SELECT slot.starts_at, slot.ends_at, professional.credit_cost,
           professional.active AS professional_active, provider.first_name,
           provider.last_name, client.role AS client_role, client.active AS client_active,
           organization.name, organization.time_zone, organization.booking_window_days,
           organization.minimum_notice_minutes, organization.cancellation_policy_hours
    FROM time_slots AS slot
    JOIN professionals AS professional
      ON professional.organization_id = slot.organization_id
     AND professional.id = slot.professional_id
    JOIN users AS provider
      ON provider.organization_id = professional.organization_id
     AND provider.id = professional.user_id
    JOIN organizations AS organization ON organization.id = slot.organization_id
    LEFT JOIN users AS client ON client.organization_id = slot.organization_id AND client.id = $3
    WHERE slot.organization_id = $1 AND slot.id = $2
"""
# The guarded update: it takes the slot only while it is AVAILABLE.
TAKE_SLOT = """
    UPDATE time_slots SET status = 'BOOKED', block_reason = NULL, updated_at = now()
    WHERE organization_id = $1 AND id = $2 AND status IN ('AVAILABLE')
    RETURNING professional_id, starts_at, ends_at
"""
ANNOUNCE_SLOT = """
    SELECT pg_notify('time_slot_changed', $1 || ':' || $2 || ':' || slot_id)
    FROM unnest($3::bigint[]) AS slot_id
"""
INSERT_APPOINTMENT = """
    INSERT INTO appointments (organization_id, professional_id, client_id, time_slot_id,
        starts_at, ends_at, state, credit_cost, refundable_until, booked_at)
    VALUES ($1, $2, $3, $4, $5, $6, 'PRE_CONFIRMED', $7, $8, $9)
    RETURNING id
"""
# Guarded too: waits for any other writer of the balance, and never goes below zero.
TAKE_FROM_BALANCE = """
    UPDATE credit_balances SET balance = balance - $3, lifetime_used = lifetime_used + $3,
        updated_at = now()
    WHERE organization_id = $1 AND user_id = $2 AND balance - $3 >= 0
    RETURNING balance
"""
LOCK_OPEN_LOTS = """
    SELECT id, remaining, expires_at FROM credit_lots
    WHERE organization_id = $1 AND user_id = $2 AND remaining > 0
    ORDER BY expires_at ASC NULLS LAST, id FOR UPDATE
"""
DRAW_FROM_LOT = (
    "UPDATE credit_lots SET remaining = $3, updated_at = now()"
    " WHERE organization_id = $1 AND id = $2"
)
INSERT_DEBIT = """
    INSERT INTO credit_transactions (organization_id, user_id, type, status, amount,
        balance_after, appointment_id, created_by_id, description, metadata, processed_at)
    VALUES ($1, $2, 'APPOINTMENT_DEBIT', 'COMPLETED', $3, $4, $5, $2, 'Booking', '{}', $6)
    RETURNING id
"""
INSERT_DRAWS = """
    INSERT INTO credit_lot_draws (organization_id, transaction_id, lot_id, amount)
    SELECT $1, $2, * FROM unnest($3::bigint[], $4::int[])
"""
INSERT_MESSAGE = """
    INSERT INTO notification_outbox (organization_id, kind, recipient_user_id, appointment_id,
        dedupe_key, subject, body, next_attempt_at)
    VALUES ($1, 'BOOKING', $2, $3, $4, $5, $6, now())
    ON CONFLICT DO NOTHING RETURNING id
"""


async def book(connection, organization_id, principal, variables):
    slot_id, client_id = pk_of(variables["input"]["timeSlotId"]), principal["id"]
    now = datetime.now(UTC)
    parties = await connection.fetchrow(BOOKING_PARTIES, organization_id, slot_id, client_id)
    _check_booking(parties, principal, now)
    slot = await connection.fetchrow(TAKE_SLOT, organization_id, slot_id)
    if slot is None:
        raise UserError("SLOT_UNAVAILABLE", "This slot is no longer available.")
    await connection.execute(ANNOUNCE_SLOT, str(organization_id), str(slot["professional_id"]),
                             [slot_id])
    cost = parties["credit_cost"]
    try:
        appointment_id = await connection.fetchval(
            INSERT_APPOINTMENT, organization_id, slot["professional_id"], client_id, slot_id,
            slot["starts_at"], slot["ends_at"], cost,
            slot["starts_at"] - timedelta(hours=parties["cancellation_policy_hours"]), now)
    except asyncpg.UniqueViolationError as error:  # the backstop of the guarded update
        if error.constraint_name != "appointments_live_slot_key":
            raise
        raise UserError("SLOT_UNAVAILABLE", "This slot is no longer available.") from error
    balance = await _debit(connection, organization_id, client_id, cost, appointment_id, now)
    await connection.fetchval(INSERT_MESSAGE, organization_id, client_id, appointment_id,
                              f"booked:{appointment_id}", *_booked_message(parties, slot))
    return {"bookTimeSlot": {
        "appointment": {"id": global_id("Appointment", appointment_id), "state": "PRE_CONFIRMED",
                        "startsAt": slot["starts_at"].isoformat(), "creditCost": cost},
        "creditTransaction": {"amount": -cost, "balanceAfter": balance},
        "creditBalance": {"balance": balance},
        "userErrors": [],
    }}


def _check_booking(parties, principal, now: datetime) -> None:
    """check_may_book and check_booking_window of app/appointments/booking.py, for a caller
    booking for themself."""
    if parties is None:
        raise UserError("NOT_FOUND", "No such time slot.")
    if parties["client_role"] != "CLIENT" or not parties["client_active"]:
        raise UserError("VALIDATION_FAILED", "Appointments are booked for active CLIENT users.")
    if not parties["professional_active"]:
        raise UserError("SLOT_UNAVAILABLE", "This professional is not taking bookings.")
    starts_at, window = parties["starts_at"], parties["booking_window_days"]
    notice = parties["minimum_notice_minutes"]
    if starts_at <= now:
        raise UserError("OUTSIDE_BOOKING_WINDOW", "This slot has already started.")
    if starts_at > now + timedelta(days=window):
        raise UserError("OUTSIDE_BOOKING_WINDOW",
                        f"Slots can be booked at most {window} days ahead.")
    if (principal["role"] not in ("STAFF", "ADMIN")
            and starts_at < now + timedelta(minutes=notice)):
        raise UserError("OUTSIDE_BOOKING_WINDOW", f"Bookings need {notice} minutes' notice.")


async def _debit(connection, organization_id, client_id, cost, appointment_id, now) -> int:
    """ledger.debit: the guarded balance update, then the draws from the open lots, earliest
    expiry first, the APPOINTMENT_DEBIT entry and its draws. Returns the balance after."""
    balance = await connection.fetchval(TAKE_FROM_BALANCE, organization_id, client_id, cost)
    if balance is None:
        raise UserError("INSUFFICIENT_CREDITS", f"Not enough credits: {cost} needed.")
    lots = await connection.fetch(LOCK_OPEN_LOTS, organization_id, client_id)
    if any(lot["expires_at"] is not None and lot["expires_at"] <= now for lot in lots):
        # Our server would expire such a lot in this transaction (EXPIRATION entries). The
        # seed grants never-expiring lots, so the baseline leaves that out and fails loudly
        # rather than write another ledger than our server would.
        raise RuntimeError(f"client {client_id} holds an expired lot; the baseline cannot")
    taken, missing = {}, cost
    for lot in lots:
        if missing == 0:
            break
        taken[lot["id"]] = min(lot["remaining"], missing)
        missing -= taken[lot["id"]]
    if missing:  # a balance above its lots: the ledger check would report it
        raise UserError("INSUFFICIENT_CREDITS", f"Not enough unexpired credits: {cost} needed.")
    for lot in lots:
        if lot["id"] in taken:
            await connection.execute(DRAW_FROM_LOT, organization_id, lot["id"],
                                     lot["remaining"] - taken[lot["id"]])
    transaction_id = await connection.fetchval(INSERT_DEBIT, organization_id, client_id, -cost,
                                               balance, appointment_id, now)
    await connection.execute(INSERT_DRAWS, organization_id, transaction_id, list(taken),
                             list(taken.values()))
    return balance


def _booked_message(parties, slot) -> tuple[str, str]:
    """Subject and body of messages.tell_client(..., Event.BOOKED)."""
    zone = parties["time_zone"]
    local = slot["starts_at"].astimezone(ZoneInfo(zone))
    when = f"{local:%A %d %B %Y at %H:%M} ({zone})"
    who = f"{parties['first_name']} {parties['last_name']}"
    return (f"Your appointment is booked - {parties['name']}",
            f"Your appointment with {who} on {when} is booked. Please confirm it.")


def booking_refused(error: UserError) -> dict:
    return {"bookTimeSlot": {"appointment": None, "creditTransaction": None,
                             "creditBalance": None,
                             "userErrors": [{"code": error.code, "message": error.message}]}}


async def ping(_: Request) -> Response:
    return Response(b"{}", media_type="application/json")


@asynccontextmanager
async def lifespan(_: Starlette):
    global _pool
    url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    size = int(os.environ.get("BOOKINGS_DB_POOL_SIZE", "10"))
    _pool = await asyncpg.create_pool(url, min_size=size, max_size=2 * size)
    yield
    await _pool.close()


app = Starlette(
    routes=[
        Route("/bench/availability", endpoint(availability), methods=["POST"]),
        Route("/bench/credits", endpoint(credits), methods=["POST"]),
        Route("/bench/appointments", endpoint(appointments), methods=["POST"]),
        Route("/bench/book", endpoint(book, writes=True, refused=booking_refused),
              methods=["POST"]),
        Route("/bench/ping", ping, methods=["POST"]),
        Route("/healthz", ping),
    ],
    lifespan=lifespan,
)

# The statements each endpoint runs per request (BEGIN and COMMIT included), for the report;
# a booking as the scenario's are, drawing from one lot (one more per further lot).
STATEMENTS = {"availability": 3 + 3, "credits": 3 + 2, "appointments": 3 + 3,
              "bookings": 3 + 10}
