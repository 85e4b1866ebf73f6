"""Simulated clients: each books, cancels, reschedules and confirms its appointments and buys
credits (a PENDING purchase, then its settlement), against either server, as a real client
would: every money or booking mutation carries an idempotency key, and a request that
fails with a connection error or a 5xx is sent again, with the same key, after a backoff.

Every answer a client saw succeed is kept (`Acknowledged`), for the checks afterwards.
"""

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from app import global_ids

BOOK = """mutation($input: BookTimeSlotInput!) { bookTimeSlot(input: $input) {
    appointment { id state timeSlot { id } } creditTransaction { id }
    userErrors { code message } } }"""
BOOK_SERIES = """mutation($input: BookSeriesInput!) { bookSeries(input: $input) {
    series { id } appointments { id state timeSlot { id } } userErrors { code message } } }"""
CANCEL = """mutation($input: CancelAppointmentInput!) { cancelAppointment(input: $input) {
    appointment { id state } creditTransaction { id } userErrors { code message } } }"""
RESCHEDULE = """mutation($input: RescheduleAppointmentInput!) {
  rescheduleAppointment(input: $input) {
    appointment { id state timeSlot { id } } userErrors { code message } } }"""
CONFIRM = """mutation($input: AppointmentActionInput!) { confirmAppointment(input: $input) {
    appointment { id state } userErrors { code message } } }"""
PURCHASE = """mutation($input: PurchaseCreditsInput!) { purchaseCredits(input: $input) {
    creditTransaction { id status } userErrors { code message } } }"""
SETTLE = """mutation($input: SettleCreditPurchaseInput!) { completeCreditPurchase(input: $input) {
    creditTransaction { id status } userErrors { code message } } }"""

# What a client does next, and how often.
ACTIONS = {"book": 4, "series": 1, "cancel": 2, "reschedule": 2, "confirm": 2, "purchase": 2}
REQUEST_TIMEOUT = 8.0
GIVE_UP_AFTER = 120.0  # seconds of failed tries for one request; a real client would too
MAX_BACKOFF = 2.0


@dataclass(frozen=True)
class Acknowledged:
    """A mutation the client saw succeed: what it was, its key, and the answer's payload."""

    kind: str
    user_id: int
    key: str | None
    variables: dict[str, Any]
    payload: dict[str, Any]
    at: float


@dataclass(frozen=True)
class Sent:
    """A keyed mutation as it was sent (acknowledged or not), to replay it afterwards."""

    kind: str
    caller_id: int
    key: str
    document: str
    variables: dict[str, Any]
    token: str


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    gave_up: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    longest_unavailable: dict[str, float] = field(default_factory=dict)  # per client
    acknowledged: list[Acknowledged] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


class Unavailable(Exception):
    """Every try failed for GIVE_UP_AFTER seconds."""


@dataclass
class SimulatedClient:
    name: str
    user_id: int
    token: str
    admin_token: str
    admin_id: int
    slots: list[tuple[str, int]]  # slots to book and reschedule to: (global ID, professional)
    servers: list[str]  # base URLs
    rng: random.Random
    stats: Stats
    appointments: dict[str, str] = field(default_factory=dict)  # id -> state
    professional_of: dict[str, int] = field(default_factory=dict)  # appointment id -> pk

    async def run(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            action = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
            try:
                await getattr(self, action)(http)
            except Unavailable:
                self.stats.gave_up += 1
            await asyncio.sleep(self.rng.uniform(0.02, 0.15))

    # ---- the actions ---------------------------------------------------------------------

    async def book(self, http: httpx.AsyncClient) -> None:
        slot_id, professional_id = self.rng.choice(self.slots)
        variables = {"input": {"timeSlotId": slot_id, "idempotencyKey": self._key()}}
        payload = await self._mutate(http, "book", BOOK, variables, self.token)
        if payload:
            appointment = payload["appointment"]["id"]
            self.appointments[appointment] = payload["appointment"]["state"]
            self.professional_of[appointment] = professional_id

    async def series(self, http: httpx.AsyncClient) -> None:
        """A weekly series of two from a slot: the occurrences it can book."""
        slot_id, professional_id = self.rng.choice(self.slots)
        variables = {"input": {"timeSlotId": slot_id, "frequency": "WEEKLY", "count": 2,
                               "idempotencyKey": self._key()}}
        payload = await self._mutate(http, "series", BOOK_SERIES, variables, self.token)
        for appointment in (payload or {}).get("appointments", []):
            self.appointments[appointment["id"]] = appointment["state"]
            self.professional_of[appointment["id"]] = professional_id

    async def cancel(self, http: httpx.AsyncClient) -> None:
        appointment = self._open_appointment()
        if appointment is None:
            return
        variables = {"input": {"appointmentId": appointment, "idempotencyKey": self._key()}}
        if await self._mutate(http, "cancel", CANCEL, variables, self.token):
            self.appointments[appointment] = "CANCELLED"

    async def reschedule(self, http: httpx.AsyncClient) -> None:
        appointment = self._open_appointment()
        if appointment is None:
            return
        # Another slot of the same professional's: a move to another is refused.
        same = [slot_id for slot_id, professional_id in self.slots
                if professional_id == self.professional_of[appointment]]
        variables = {"input": {"appointmentId": appointment,
                               "newTimeSlotId": self.rng.choice(same),
                               "idempotencyKey": self._key()}}
        await self._mutate(http, "reschedule", RESCHEDULE, variables, self.token)

    async def confirm(self, http: httpx.AsyncClient) -> None:
        pending = [id_ for id_, state in self.appointments.items() if state == "PRE_CONFIRMED"]
        if not pending:
            return
        appointment = self.rng.choice(pending)
        # No key: confirming twice is refused (INVALID_STATE_TRANSITION), never doubled.
        payload = await self._mutate(http, "confirm", CONFIRM,
                                     {"input": {"appointmentId": appointment}}, self.token,
                                     done_if_refused_with="INVALID_STATE_TRANSITION")
        if payload:
            self.appointments[appointment] = "CONFIRMED"

    async def purchase(self, http: httpx.AsyncClient) -> None:
        variables = {"input": {"userId": global_ids.encode("User", self.user_id), "credits": 3,
                               "amountPaidCents": 3000, "status": "PENDING",
                               "idempotencyKey": self._key()}}
        payload = await self._mutate(http, "purchase", PURCHASE, variables, self.admin_token)
        if payload:
            transaction = payload["creditTransaction"]["id"]
            await self._mutate(http, "settle", SETTLE, {"input": {"transactionId": transaction}},
                               self.admin_token, done_if_refused_with="INVALID_STATE_TRANSITION")

    # ---- sending ---------------------------------------------------------------------------

    def _key(self) -> str:
        # From the seeded generator, so that a replayed run sends the same keys.
        return f"{self.name}-{self.rng.getrandbits(64):016x}"

    def _open_appointment(self) -> str | None:
        open_ = [id_ for id_, state in self.appointments.items()
                 if state in ("PRE_CONFIRMED", "CONFIRMED")]
        return self.rng.choice(open_) if open_ else None

    async def _mutate(self, http: httpx.AsyncClient, kind: str, document: str,
                      variables: dict, token: str, *,
                      done_if_refused_with: str | None = None) -> dict | None:
        """The payload if the mutation succeeded (or, `done_if_refused_with`, had already),
        None if refused; retried on connection errors and 5xx with the same variables."""
        key = variables["input"].get("idempotencyKey")
        if key is not None:
            caller = self.admin_id if token == self.admin_token else self.user_id
            self.stats.sent.append(Sent(kind, caller, key, document, variables, token))
        body = await self._send(http, document, variables, token)
        [payload] = body["data"].values()
        errors = payload["userErrors"]
        if errors:
            code = errors[0]["code"]
            self.stats.refusals[f"{kind}: {code}"] = self.stats.refusals.get(
                f"{kind}: {code}", 0) + 1
            if code != done_if_refused_with:
                return None
        self.stats.acknowledged.append(Acknowledged(kind, self.user_id, key, variables, payload,
                                                    time.time()))
        return payload

    async def _send(self, http: httpx.AsyncClient, document: str, variables: dict,
                    token: str) -> dict:
        first_failure = None
        attempt = 0
        while True:
            self.stats.requests += 1
            server = self.rng.choice(self.servers)
            try:
                response = await http.post(f"{server}/graphql",
                                           json={"query": document, "variables": variables},
                                           headers={"Authorization": f"Bearer {token}"},
                                           timeout=REQUEST_TIMEOUT)
                if response.status_code < 500:
                    body = response.json()
                    if "errors" in body:
                        raise RuntimeError(f"{response.status_code}: {body['errors']}")
                    if first_failure is not None:
                        self.stats.longest_unavailable[self.name] = max(
                            self.stats.longest_unavailable.get(self.name, 0.0),
                            time.monotonic() - first_failure)
                    return body
            except httpx.HTTPError:
                pass
            except RuntimeError as error:
                self.stats.unexpected.append(str(error)[:500])
                raise Unavailable from error
            first_failure = first_failure or time.monotonic()
            if time.monotonic() - first_failure > GIVE_UP_AFTER:
                raise Unavailable
            attempt += 1
            self.stats.retries += 1
            await asyncio.sleep(min(MAX_BACKOFF, 0.05 * 2 ** attempt) * self.rng.uniform(0.5, 1))
