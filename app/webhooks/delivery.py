"""Delivering webhooks: claim due deliveries, send them signed, record every attempt.

Two roads, as for notifications (app/notifications/delivery.py), made safe together by the
claim: a due PENDING row is locked with FOR UPDATE SKIP LOCKED and leased until
`now + LEASE`, so whoever claimed it is the only one sending it until the lease ends.
- `deliver_event`: the job each event queues in its own transaction, so it is sent within
  seconds of the commit. It sends the event's deliveries at once, side by side, and skips
  endpoints that are failing (a delivery of theirs waits for a retry): those are the
  sweep's, so a dead endpoint never ties up the job queue with timeouts.
- `deliver_due`: the sweep, every minute: retries, and whatever a job missed. It sends
  each endpoint's due deliveries one after another, oldest first, endpoints side by side;
  at an endpoint's first failure it stops for that endpoint and lets the rest wait for the
  failed one's retry. A failing endpoint costs one attempt per sweep and delays nobody
  else's deliveries.

Sending happens outside any transaction; each attempt is then recorded (the attempt row
and the delivery's status) in its own short transaction. A worker that dies in between
leaves the lease to run out, and the delivery is sent again: at least once, never lost.
Receivers tell repeats apart by the webhook-id header, which is the event's id.

A failed attempt is retried after `retry_delay` (exponential, with jitter) until an
attempt fails `RETRY_PERIOD` after the event; then the delivery is FAILED.
"""

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import text

from app.clock import utc_now
from app.db import Database
from app.organizations import repository as organizations
from app.webhooks import addresses, signing
from app.webhooks.models import DeliveryStatus

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
LEASE = timedelta(minutes=2)
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=4)
# Retries go on until an attempt fails this long after the event.
RETRY_PERIOD = timedelta(hours=24)
BATCH_SIZE = 100
MAX_BATCHES = 10
MAX_ERROR_LENGTH = 300
USER_AGENT = "bookings-webhooks/1"


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, other: "DeliveryReport") -> None:
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.failed += other.failed

    def count(self, status: DeliveryStatus) -> None:
        match status:
            case DeliveryStatus.DELIVERED:
                self.delivered += 1
            case DeliveryStatus.FAILED:
                self.failed += 1
            case _:
                self.retrying += 1


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    endpoint_id: int
    event_id: str
    payload: str
    attempts: int
    created_at: datetime
    url: str
    secret: str
    old_secret: str | None
    old_secret_expires_at: datetime | None

    def signing_secrets(self, at: datetime) -> list[str]:
        """The secrets that sign an attempt made at `at`: the endpoint's, and the one its
        last rotation replaced until that one expires."""
        if self.old_secret is None or self.old_secret_expires_at <= at:
            return [self.secret]
        return [self.secret, self.old_secret]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt came to: a status code if the receiver answered, else an error."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(attempts: int, *, jitter: Callable[[], float] = random.random) -> timedelta:
    """After the n-th failed attempt: 1, 2, 4, ... minutes, 4 hours at most, each between
    half and all of that at random, so that deliveries failed together do not all come back
    at the same moment."""
    ceiling = min(FIRST_RETRY_DELAY * 2 ** min(attempts - 1, 20), MAX_RETRY_DELAY)
    return ceiling / 2 + ceiling / 2 * jitter()


async def deliver_event(db: Database, organization_id: int, event_id: str, *, now: datetime,
                        production: bool, client: httpx.AsyncClient | None = None,
                        timeout: float = TIMEOUT_SECONDS) -> DeliveryReport:
    """Sends an event's waiting deliveries now, those of failing endpoints excepted. Without
    a `client`, with one of its own."""
    async with db.transaction(organization_id) as session:
        claimed = await _claim(session, organization_id, now=now, limit=BATCH_SIZE,
                               event_id=event_id)
    report = DeliveryReport()
    if not claimed:
        return report
    async with _client_or_own(client, timeout) as sending:
        statuses = await asyncio.gather(*(
            _send_and_record(db, organization_id, sending, delivery, now=now,
                             production=production) for delivery in claimed))
    for status, _ in statuses:
        report.count(status)
    return report


async def deliver_due(db: Database, *, now: datetime, production: bool,
                      organization_ids: Collection[int] | None = None,
                      client: httpx.AsyncClient | None = None,
                      timeout: float = TIMEOUT_SECONDS) -> DeliveryReport:
    """The sweep: sends the deliveries due at `now` of every organization (or those asked)."""
    async with db.transaction(None, read_only=True) as session:
        existing = await organizations.get_all_ids(session)
    report = DeliveryReport()
    async with _client_or_own(client, timeout) as sending:
        for organization_id in existing:
            if organization_ids is None or organization_id in organization_ids:
                report.add(await _deliver_due_of_organization(
                    db, organization_id, sending, now=now, production=production))
    return report


async def _deliver_due_of_organization(db: Database, organization_id: int,
                                       client: httpx.AsyncClient, *, now: datetime,
                                       production: bool) -> DeliveryReport:
    report = DeliveryReport()
    for _ in range(MAX_BATCHES):
        async with db.transaction(organization_id) as session:
            claimed = await _claim(session, organization_id, now=now, limit=BATCH_SIZE)
        by_endpoint = [list(group) for _, group in
                       groupby(sorted(claimed, key=lambda d: (d.endpoint_id, d.id)),
                               key=lambda d: d.endpoint_id)]
        for statuses in await asyncio.gather(*(
                _send_in_turn(db, organization_id, client, deliveries, now=now,
                              production=production) for deliveries in by_endpoint)):
            for status in statuses:
                report.count(status)
        if len(claimed) < BATCH_SIZE:
            break
    return report


async def _send_in_turn(db: Database, organization_id: int, client: httpx.AsyncClient,
                        deliveries: list[ClaimedDelivery], *, now: datetime,
                        production: bool) -> list[DeliveryStatus]:
    """One endpoint's deliveries, oldest first, until one fails: the rest wait for its retry,
    no attempt counted. A chain that would outlast the claim's lease stops in time and leaves
    the rest due at once: past the lease another worker may claim them, and would send them
    a second time."""
    send_until = time.monotonic() + (LEASE.total_seconds() - 2 * client.timeout.read)
    statuses = []
    for index, delivery in enumerate(deliveries):
        if index > 0 and time.monotonic() > send_until:
            await _postpone(db, organization_id, deliveries[index:], until=now)
            break
        status, retry_at = await _send_and_record(db, organization_id, client, delivery, now=now,
                                                  production=production)
        statuses.append(status)
        if status is not DeliveryStatus.DELIVERED:
            await _postpone(db, organization_id, deliveries[index + 1:], until=retry_at or now)
            break
    return statuses


async def _postpone(db: Database, organization_id: int, deliveries: list[ClaimedDelivery], *,
                    until: datetime) -> None:
    """Ends the lease of claimed deliveries not sent, without counting an attempt."""
    if deliveries:
        async with db.transaction(organization_id) as session:
            await session.execute(_POSTPONE, {"organization_id": organization_id,
                                              "ids": [delivery.id for delivery in deliveries],
                                              "until": until})


_CLAIM = text(
    """
    WITH due AS (
        SELECT delivery.id
        FROM webhook_deliveries AS delivery
        JOIN webhook_endpoints AS endpoint
          ON endpoint.organization_id = delivery.organization_id
         AND endpoint.id = delivery.endpoint_id
        WHERE delivery.organization_id = :organization_id
          AND delivery.status = 'PENDING'
          AND endpoint.active
          AND (CAST(:event_id AS text) IS NULL OR delivery.event_id = :event_id)
          -- An event's own job: due by the database's clock too, which stamped the row when
          -- it was written (a worker whose clock lags still sends it at once), and not to a
          -- failing endpoint, which is the sweep's.
          AND delivery.next_attempt_at <= CASE WHEN CAST(:event_id AS text) IS NULL THEN :now
                                               ELSE greatest(:now, statement_timestamp()) END
          AND (CAST(:event_id AS text) IS NULL OR NOT EXISTS (
                SELECT FROM webhook_deliveries AS failing
                WHERE failing.organization_id = delivery.organization_id
                  AND failing.endpoint_id = delivery.endpoint_id
                  AND failing.status = 'PENDING' AND failing.attempts > 0))
        ORDER BY delivery.next_attempt_at, delivery.id
        LIMIT :limit
        FOR UPDATE OF delivery SKIP LOCKED
    )
    UPDATE webhook_deliveries AS delivery
    SET next_attempt_at = :lease_until, updated_at = now()
    FROM due, webhook_endpoints AS endpoint
    WHERE delivery.organization_id = :organization_id
      AND delivery.id = due.id
      AND endpoint.organization_id = delivery.organization_id
      AND endpoint.id = delivery.endpoint_id
    RETURNING delivery.id, delivery.endpoint_id, delivery.event_id, delivery.payload,
              delivery.attempts, delivery.created_at, endpoint.url, endpoint.secret,
              endpoint.old_secret, endpoint.old_secret_expires_at
    """
)


async def _claim(session, organization_id: int, *, now: datetime, limit: int,
                 event_id: str | None = None) -> list[ClaimedDelivery]:
    rows = await session.execute(_CLAIM, {
        "organization_id": organization_id, "event_id": event_id, "now": now,
        "lease_until": now + LEASE, "limit": limit})
    return [ClaimedDelivery(*row) for row in rows.all()]


_POSTPONE = text(
    """
    UPDATE webhook_deliveries SET next_attempt_at = :until, updated_at = now()
    WHERE organization_id = :organization_id AND id = ANY(:ids) AND status = 'PENDING'
    """
)

_RECORD = text(
    """
    WITH attempt AS (
        INSERT INTO webhook_attempts (organization_id, delivery_id, attempted_at, status_code,
                                      error, duration_ms)
        VALUES (:organization_id, :id, :now, :status_code, :error, :duration_ms)
    )
    UPDATE webhook_deliveries
    SET status = :status, attempts = attempts + 1, last_status_code = :status_code,
        last_error = :error, next_attempt_at = :next_attempt_at,
        delivered_at = CASE WHEN :status = 'DELIVERED' THEN CAST(:now AS timestamptz) END,
        updated_at = now()
    WHERE organization_id = :organization_id AND id = :id
    """
)


async def _send_and_record(db: Database, organization_id: int, client: httpx.AsyncClient,
                           delivery: ClaimedDelivery, *, now: datetime,
                           production: bool) -> tuple[DeliveryStatus, datetime | None]:
    """Sends one delivery and records the attempt; its status, and when it is retried."""
    attempt = await send(client, delivery, production=production)
    retry_at = None
    if attempt.succeeded:
        status = DeliveryStatus.DELIVERED
    elif now - delivery.created_at >= RETRY_PERIOD:
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
        retry_at = now + retry_delay(delivery.attempts + 1)
    if not attempt.succeeded:
        logger.warning("webhook delivery %s of organization %s to endpoint %s: attempt %s "
                       "failed (%s)", delivery.id, organization_id, delivery.endpoint_id,
                       delivery.attempts + 1, attempt.error)
    async with db.transaction(organization_id) as session:
        await session.execute(_RECORD, {
            "organization_id": organization_id, "id": delivery.id, "now": now,
            "status": status.value, "status_code": attempt.status_code, "error": attempt.error,
            "duration_ms": attempt.duration_ms, "next_attempt_at": retry_at or now})
    return status, retry_at


def new_client(timeout: float = TIMEOUT_SECONDS) -> httpx.AsyncClient:
    """The HTTP client deliveries go out with; a worker keeps one for all its jobs."""
    # Redirects are not followed: a receiver answers where it was registered, and a
    # redirect could point anywhere, past the address check.
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                             headers={"user-agent": USER_AGENT})


@asynccontextmanager
async def _client_or_own(client: httpx.AsyncClient | None,
                         timeout: float) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    async with new_client(timeout) as own:
        yield own


async def send(client: httpx.AsyncClient, delivery: ClaimedDelivery, *,
               production: bool) -> Attempt:
    """One signed POST of the delivery's payload, to an address checked just now: the request
    goes to that very address (the name is not looked up again in between), with the URL's
    host in the Host header and TLS's server name."""
    started = time.monotonic()

    def attempt(status_code: int | None, error: str | None = None) -> Attempt:
        return Attempt(status_code, None if error is None else error[:MAX_ERROR_LENGTH],
                       round((time.monotonic() - started) * 1000))

    try:
        resolved = await addresses.check_addresses(delivery.url, production=production)
    except addresses.UnsafeAddress as error:
        return attempt(None, f"not sent: {error}")
    body = delivery.payload.encode()
    # Signed when sent, not when the event happened: receivers refuse old timestamps.
    sent_at = utc_now()
    headers = signing.signed_headers(delivery.signing_secrets(sent_at), delivery.event_id,
                                     sent_at, body)
    parts = urlsplit(delivery.url)
    headers["host"] = parts.netloc
    failure = "no address to send to"
    for address in resolved:
        pinned = urlunsplit(parts._replace(netloc=_netloc(address, parts.port)))
        try:
            response = await client.post(pinned, content=body, headers=headers,
                                         extensions={"sni_hostname": parts.hostname})
        except httpx.ConnectError as error:
            failure = f"could not connect to {address}: {error or type(error).__name__}"
            continue
        except httpx.TimeoutException:
            return attempt(None, f"no answer within {client.timeout.read:g} s")
        except httpx.HTTPError as error:
            return attempt(None, f"{type(error).__name__}: {error}")
        if response.is_redirect:
            return attempt(response.status_code,
                           f"redirect to {response.headers.get('location')!r} not followed")
        error = None if response.is_success else f"HTTP {response.status_code}"
        return attempt(response.status_code, error)
    return attempt(None, failure)


def _netloc(address: str, port: int | None) -> str:
    host = f"[{address}]" if ":" in address else address
    return host if port is None else f"{host}:{port}"
