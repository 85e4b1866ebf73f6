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
import os
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import jwt
import orjson
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.appointments import booking_statement
from app.appointments.models import AppointmentState
from app.db import tenant_setup_as_actor as server_tenant_setup
from app.i18n.languages import for_recipient
from app.reports import organization as report_sql
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
    return base64.urlsafe_b64encode(orjson.dumps([table, *plain])).decode()


def pk_of(gid: str) -> int:
    padded = gid + "=" * (-len(gid) % 4)
    return int(base64.urlsafe_b64decode(padded).decode().partition(":")[2])


def endpoint(handler, *, writes: bool = False, refused=None, prefetch=None):
    """Token, transaction, tenant, principal; then the scenario's own queries.

    A handler that `writes` runs read-write, as a mutation does; its UserError rolls the
    transaction back and is answered by `refused(error)`, as our userErrors are. With
    `prefetch(variables, user_id)`, the tenant setup is ENTER_TENANT_WITH_PARTIES with the
    parameters it gives, and the handler's `principal` row carries what it read too."""
    enter_tenant = ENTER_TENANT_AS_ACTOR_READ_WRITE if writes else ENTER_TENANT_AS_ACTOR

    async def serve(request: Request) -> Response:
        _scheme, _, token = request.headers.get("authorization", "").partition(" ")
        claims = jwt.decode(token, _secret, algorithms=["HS256"],
                            options={"require": ["sub", "org", "exp", "iat"]})
        organization_id, user_id = int(claims["org"]), int(claims["sub"])
        variables = orjson.loads(await request.body()).get("variables") or {}
        try:
            async with _pool.acquire() as connection, connection.transaction():
                if prefetch is None:
                    principal = await connection.fetchrow(enter_tenant, APP_ROLE,
                                                          str(organization_id), user_id)
                else:
                    principal = await _run(connection, ENTER_TENANT_WITH_PARTIES, {
                        "role": APP_ROLE, "tenant": str(organization_id), "actor": user_id,
                        **prefetch(variables, user_id)})
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
# idempotency key (the scenario's request): the same two statements between BEGIN and
# COMMIT, the very SQL text of app/appointments/booking_statement.py compiled for asyncpg
# (the tenant setup that reads the booking's parties, then every write in one statement),
# and in Python the same checks and message.


def _for_asyncpg(statement: TextClause) -> tuple[str, tuple[str, ...]]:
    """The statement's SQL with $n placeholders, and its parameter names in their order."""
    compiled = statement.compile(dialect=asyncpg_dialect())
    return compiled.string, tuple(compiled.positiontup)


ENTER_TENANT_WITH_PARTIES = _for_asyncpg(
    server_tenant_setup(False, booking_statement.parties_prefetch(0, 0, None).sql))
WRITE_BOOKING = _for_asyncpg(booking_statement._WRITE)


async def _run(connection, statement: tuple[str, tuple[str, ...]], parameters: dict):
    sql, names = statement
    return await connection.fetchrow(sql, *(parameters[name] for name in names))


def booking_parties(variables, user_id) -> dict:
    prefetch = booking_statement.parties_prefetch(
        pk_of(variables["input"]["timeSlotId"]), user_id, None)
    return dict(prefetch.parameters)


async def book(connection, organization_id, principal, variables):
    parties, client_id = principal, principal["id"]  # read with the tenant setup
    now = datetime.now(UTC)
    _check_booking(parties, principal, now)
    cost, starts_at = parties["professional_credit_cost"], parties["slot_starts_at"]
    subject, body, locale = _booked_message(parties)
    row = await _run(connection, WRITE_BOOKING, {
        "tenant": organization_id, "slot": parties["slot_id"], "client": client_id,
        "student": None, "state": "PRE_CONFIRMED", "cost": cost,
        "refundable_until": starts_at - timedelta(
            hours=parties["organization_cancellation_policy_hours"]),
        "notes": None, "now": now, "debit_type": "APPOINTMENT_DEBIT",
        "debit_status": "COMPLETED", "created_by": client_id, "description": "Booking",
        "message_kind": "BOOKING", "subject": subject, "body": body,
        "message_locale": locale, "dedupe_prefix": "booked:"})
    if row["appointment_id"] is None:
        if not row["slot_taken"] and row["slot_was_free_since"] is None:
            raise UserError("SLOT_UNAVAILABLE", "This slot is no longer available.")
        if row["balance_seen"] is None or row["balance_seen"] < cost:
            raise UserError("INSUFFICIENT_CREDITS", f"Not enough credits: {cost} needed.")
        if not row["slot_taken"] and row["ledger_ready"]:  # taken meanwhile
            raise UserError("SLOT_UNAVAILABLE", "This slot is no longer available.")
        # Credits past their date, or a ledger changed under the statement: our server books
        # step by step then. The seed grants never-expiring lots and the scenario books each
        # slot once, so the baseline leaves that out and fails loudly.
        raise RuntimeError(f"client {client_id}: the booking statement could not book")
    return {"bookTimeSlot": {
        "appointment": {"id": global_id("Appointment", row["appointment_id"]),
                        "state": "PRE_CONFIRMED", "startsAt": starts_at.isoformat(),
                        "creditCost": cost},
        "creditTransaction": {"amount": -cost, "balanceAfter": row["balance"]},
        "creditBalance": {"balance": row["balance"]},
        "userErrors": [],
    }}


def _check_booking(parties, principal, now: datetime) -> None:
    """check_may_book and check_booking_window of app/appointments/booking.py, for a caller
    booking for themself."""
    if parties["slot_id"] is None:
        raise UserError("NOT_FOUND", "No such time slot.")
    if parties["client_role"] != "CLIENT" or not parties["client_active"]:
        raise UserError("VALIDATION_FAILED", "Appointments are booked for active CLIENT users.")
    if not parties["professional_active"]:
        raise UserError("SLOT_UNAVAILABLE", "This professional is not taking bookings.")
    starts_at = parties["slot_starts_at"]
    window = parties["organization_booking_window_days"]
    notice = parties["organization_minimum_notice_minutes"]
    if starts_at <= now:
        raise UserError("OUTSIDE_BOOKING_WINDOW", "This slot has already started.")
    if starts_at > now + timedelta(days=window):
        raise UserError("OUTSIDE_BOOKING_WINDOW",
                        f"Slots can be booked at most {window} days ahead.")
    if (principal["role"] not in ("STAFF", "ADMIN")
            and starts_at < now + timedelta(minutes=notice)):
        raise UserError("OUTSIDE_BOOKING_WINDOW", f"Bookings need {notice} minutes' notice.")


def _booked_message(parties) -> tuple[str, str, str]:
    """Subject, body and language tag of messages.booked_message: the same catalogue and
    the same Babel formatting, as any server writing the client's language must do."""
    language = for_recipient(parties["client_locale"], parties["organization_locale"])
    _ = language.gettext
    when = language.moment(parties["slot_starts_at"], parties["organization_time_zone"])
    who = f"{parties['provider_first_name']} {parties['provider_last_name']}"
    return (_("{subject} - {organization}").format(
                subject=_("Your appointment is booked"),
                organization=parties["organization_name"]),
            _("Your appointment with {who} on {when} is booked. Please confirm it.").format(
                who=who, when=when),
            language.tag)


def booking_refused(error: UserError) -> dict:
    return {"bookTimeSlot": {"appointment": None, "creditTransaction": None,
                             "creditBalance": None,
                             "userErrors": [{"code": error.code, "message": error.message}]}}


# ---- the organization's report ---------------------------------------------------------
# What organizationReport runs for an ADMIN, over the same three aggregate statements
# (app/reports/organization.py, compiled for asyncpg), with the rest in plain asyncpg.

REPORT_APPOINTMENTS = _for_asyncpg(report_sql._APPOINTMENTS)
REPORT_OFFERED = _for_asyncpg(report_sql._OFFERED)
REPORT_CREDITS = _for_asyncpg(report_sql._CREDITS)
ORGANIZATION = "SELECT time_zone, currency FROM organizations WHERE id = $1"
PROFESSIONAL_IDS = "SELECT id FROM professionals WHERE organization_id = $1 ORDER BY id"


async def _rows(connection, statement: tuple[str, tuple[str, ...]], parameters: dict):
    sql, names = statement
    return await connection.fetch(sql, *(parameters[name] for name in names))


def _state_counts(counts: dict[str, int]) -> list[dict]:
    return [{"state": state.value, "count": counts.get(state.value, 0)}
            for state in AppointmentState]


async def report(connection, organization_id, principal, variables):
    if principal["role"] not in ("ADMIN", "STAFF"):
        raise Refused("reports are for ADMIN and STAFF")
    organization = await connection.fetchrow(ORGANIZATION, organization_id)
    zone = ZoneInfo(organization["time_zone"])
    first, last = date.fromisoformat(variables["from"]), date.fromisoformat(variables["to"])
    professionals = [row["id"] for row in await connection.fetch(PROFESSIONAL_IDS,
                                                                 organization_id)]
    parameters = {"organization": organization_id, "professionals": professionals,
                  "start": datetime.combine(first, datetime.min.time(), zone),
                  "end": datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)}
    rows = {id_: {"offered": 0, "booked": 0, "late": 0, "states": {}} for id_ in professionals}
    totals: dict[str, int] = {}
    for row in await _rows(connection, REPORT_APPOINTMENTS, parameters):
        own = rows[row["professional_id"]]
        own["states"][row["state"]] = row["appointments"]
        own["booked"] += row["booked_minutes"]
        own["late"] += row["late_cancellations"]
        totals[row["state"]] = totals.get(row["state"], 0) + row["appointments"]
    for row in await _rows(connection, REPORT_OFFERED, parameters):
        rows[row["professional_id"]]["offered"] = row["minutes"]
    credits = await _run(connection, REPORT_CREDITS, parameters)
    return {"organizationReport": {
        "from": first.isoformat(), "to": last.isoformat(), "timeZone": organization["time_zone"],
        "appointmentsByState": _state_counts(totals),
        "professionals": [{
            "professional": {"id": global_id("Professional", id_)},
            "offeredMinutes": row["offered"], "bookedMinutes": row["booked"],
            "utilization": row["booked"] / row["offered"] if row["offered"] else 0.0,
            "lateCancellations": row["late"],
            "appointmentsByState": _state_counts(row["states"]),
        } for id_, row in rows.items()],
        "credits": {"purchased": credits["purchased"], "used": credits["used"],
                    "refunded": credits["refunded"], "expired": credits["expired"],
                    "adjusted": credits["adjusted"], "outstanding": credits["outstanding"],
                    "revenueCents": credits["revenue_cents"],
                    "currency": organization["currency"]},
    }}


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
        Route("/bench/report", endpoint(report), methods=["POST"]),
        Route("/bench/book", endpoint(book, writes=True, refused=booking_refused,
                                      prefetch=booking_parties),
              methods=["POST"]),
        Route("/bench/ping", ping, methods=["POST"]),
        Route("/healthz", ping),
    ],
    lifespan=lifespan,
)

# The statements each endpoint runs per request (BEGIN and COMMIT included), for the report.
STATEMENTS = {"availability": 3 + 3, "credits": 3 + 2, "appointments": 3 + 3,
              "report": 3 + 5, "bookings": 3 + 1}
