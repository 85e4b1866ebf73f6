"""The benchmark's scenarios: the GraphQL documents a frontend sends, the requests built from
the seeded data, and how each answer is checked.

Read scenarios are sent to our server (`/graphql`) and, with the very same body
and headers, to the raw baseline (`/bench/<name>`), which answers the same bytes.
"""

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import orjson

from app import global_ids as ids
from app.auth import Role, issue_token
from bench.load import Request, Response
from bench.seed import SeededOrganization

AVAILABILITY = """
query Availability($ids: [ID!]!, $from: Date!, $to: Date!) {
  availability(professionalIds: $ids, from: $from, to: $to) {
    professional { id title specialization creditCost user { firstName lastName } }
    timeZone
    days { date slots { id startsAt endsAt } }
  }
}"""

CREDITS = """
query Credits {
  creditBalance { balance lifetimePurchased lifetimeUsed lifetimeRefunded updatedAt }
  creditTransactions(first: 20) {
    edges { cursor node { id type status amount balanceAfter description createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""

APPOINTMENTS = """
query Week($professionalId: ID!, $from: DateTime!, $to: DateTime!) {
  appointments(filter: {professionalId: $professionalId, from: $from, to: $to}, first: 100) {
    edges {
      node {
        id state startsAt endsAt notes
        client { id firstName lastName phone }
        student { id firstName lastName }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

BOOK = """
mutation Book($input: BookTimeSlotInput!) {
  bookTimeSlot(input: $input) {
    appointment { id state startsAt creditCost }
    creditTransaction { amount balanceAfter }
    creditBalance { balance }
    userErrors { code message }
  }
}"""


class Tokens:
    """Bearer tokens of seeded users, signed with the server's key."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._cache: dict[tuple[int, int], str] = {}

    def of(self, organization_id: int, user_id: int, role: Role) -> str:
        key = (organization_id, user_id)
        if key not in self._cache:
            # Benchmark users never revoke their sessions: version 0.
            self._cache[key] = issue_token(user_id=user_id, organization_id=organization_id,
                                           role=role, session_version=0, secret=self.secret,
                                           lifetime=timedelta(hours=6))
        return self._cache[key]


def graphql_request(query: str, variables: dict, token: str, *, path: str = "/graphql",
                    tag: object = None) -> Request:
    body = orjson.dumps({"query": query, "variables": variables})
    return Request(path, body, (("Authorization", f"Bearer {token}"),), tag)


@dataclass(frozen=True)
class ReadScenario:
    name: str
    title: str
    query: str
    # (organization, rng) -> (variables, user id, role)
    variables: Callable[[SeededOrganization, random.Random], tuple[dict, int, Role]]

    def requests(self, organizations: list[SeededOrganization], tokens: Tokens, count: int,
                 *, seed: int = 1) -> tuple[list[Request], list[Request]]:
        """`count` random requests for our server, and the same ones for the baseline."""
        rng = random.Random(seed)
        ours, baseline = [], []
        for _ in range(count):
            organization = rng.choice(organizations)
            variables, user_id, role = self.variables(organization, rng)
            token = tokens.of(organization.id, user_id, role)
            ours.append(graphql_request(self.query, variables, token))
            baseline.append(graphql_request(self.query, variables, token,
                                            path=f"/bench/{self.name}"))
        return ours, baseline


def _availability(organization: SeededOrganization, rng: random.Random):
    professionals = rng.sample(organization.professional_ids, 5)
    monday = rng.choice(organization.week_starts)
    variables = {"ids": [ids.encode("Professional", p) for p in professionals],
                 "from": monday.isoformat(), "to": (monday + timedelta(days=6)).isoformat()}
    return variables, rng.choice(organization.client_ids), Role.CLIENT


def _credits(organization: SeededOrganization, rng: random.Random):
    return {}, rng.choice(organization.client_ids), Role.CLIENT


def _appointments(organization: SeededOrganization, rng: random.Random):
    index = rng.randrange(len(organization.professional_ids))
    monday = rng.choice(organization.week_starts)
    zone = ZoneInfo(organization.time_zone)
    starts = datetime.combine(monday, time(0), zone)
    ends = datetime.combine(monday + timedelta(days=7), time(0), zone)
    variables = {"professionalId": ids.encode("Professional",
                                              organization.professional_ids[index]),
                 "from": starts.isoformat(), "to": ends.isoformat()}
    return variables, organization.professional_user_ids[index], Role.PROFESSIONAL


REPORT = """
query Report($from: Date!, $to: Date!) {
  organizationReport(from: $from, to: $to) {
    from to timeZone
    appointmentsByState { state count }
    professionals { professional { id } offeredMinutes bookedMinutes utilization
                    lateCancellations appointmentsByState { state count } }
    credits { purchased used refunded expired adjusted outstanding revenueCents currency }
  }
}
"""


def _report(organization: SeededOrganization, rng: random.Random):
    """A 31-day report of the organization, as its ADMIN asks it."""
    first = rng.choice(organization.week_starts)
    variables = {"from": first.isoformat(), "to": (first + timedelta(days=30)).isoformat()}
    return variables, organization.admin_id, Role.ADMIN


READ_SCENARIOS = [
    ReadScenario("availability", "availability: 5 professionals x 7 days", AVAILABILITY,
                 _availability),
    ReadScenario("credits", "creditBalance + last 20 creditTransactions", CREDITS, _credits),
    ReadScenario("appointments", "appointments of a professional's week (+client, student)",
                 APPOINTMENTS, _appointments),
    ReadScenario("report", "organizationReport: 31 days, as ADMIN", REPORT, _report),
]


# ---- bookings -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Booking:
    organization_id: int
    client_id: int
    slot_id: int


BASELINE_BOOK_PATH = "/bench/book"  # the raw baseline's booking, same body and headers


def booking_request(booking: Booking, tokens: Tokens, *, path: str = "/graphql") -> Request:
    variables = {"input": {"timeSlotId": ids.encode("TimeSlot", booking.slot_id)}}
    return graphql_request(BOOK, variables, tokens.of(booking.organization_id, booking.client_id,
                                                      Role.CLIENT), path=path, tag=booking)


def booking_code(response: Response) -> str:
    """'ok', a userError code, or a description of what else went wrong."""
    if response.status != 200:
        return f"HTTP {response.status}"
    body = orjson.loads(response.body)
    if body.get("errors"):
        return f"errors: {body['errors']}"
    payload = body["data"]["bookTimeSlot"]
    if payload["userErrors"]:
        return payload["userErrors"][0]["code"]
    return "ok" if payload["appointment"] is not None else "no appointment"


def booked(_request: Request, response: Response) -> str | None:
    """A load check: None for a booking made, else what happened instead."""
    code = booking_code(response)
    return None if code == "ok" else code


def uncontended_bookings(free_slots: dict[int, list[int]],
                         organizations: list[SeededOrganization]) -> Iterator[Booking]:
    """Every free slot once, organizations interleaved, each by the next client in turn."""
    by_id = {organization.id: organization for organization in organizations}
    queues = {org_id: list(slots) for org_id, slots in free_slots.items()}
    turn = 0
    while any(queues.values()):
        for org_id, queue in queues.items():
            if queue:
                clients = by_id[org_id].client_ids
                yield Booking(org_id, clients[turn % len(clients)], queue.pop())
        turn += 1


def race_requests(organization: SeededOrganization, slots: list[int], clients: list[int],
                  tokens: Tokens) -> list[Request]:
    """Every client books one of `slots`; a slot's contenders are sent one after another, so
    they are in flight together."""
    per_slot = len(clients) // len(slots)
    return [booking_request(Booking(organization.id, client, slots[n // per_slot]), tokens)
            for n, client in enumerate(clients)]

