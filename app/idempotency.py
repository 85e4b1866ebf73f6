"""Idempotency keys: a retried request with the same key has its effect exactly once (docs/rules.md: idempotency).

A key is scoped to (organization, caller). The first request claims the key,
performs its work and stores its result in the same transaction, so the key
exists exactly when the effects do: a refused or failed request leaves no key
and may simply be retried.

The claim is `INSERT ... ON CONFLICT DO NOTHING`. A concurrent duplicate
blocks on the primary key until the first transaction ends: if it committed,
the duplicate reads the stored result; if it rolled back, the duplicate's
insert succeeds and it does the work itself. Claim the key before taking any
other lock, so that a waiting duplicate holds nothing the first one needs.

What a request made is a dataclass whose fields are ORM objects (or None), lists of
them, or plain numbers: an appointment and its ledger entry, say, or a series with its
booked occurrences. It is stored as a snapshot of each object (`app.orm.snapshot`), and a
replay is answered from those snapshots: the answer of the first request, as it was then,
even if the objects have changed since.
"""

import dataclasses
import hashlib
import json
import types
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from sqlalchemy import BigInteger, DateTime, delete, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.errors import IdempotencyKeyReused, ValidationFailed
from app.orm import Base, from_snapshot, snapshot
from app.tenancy import current_organization_id

RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 200

Result = dict[str, Any]
Made = TypeVar("Made")


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(primary_key=True)
    operation: Mapped[str]
    fingerprint: Mapped[str]
    result: Mapped[Result | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def fingerprint(operation: str, request: Mapping[str, Any]) -> str:
    """A digest of the operation and its input; equal inputs give equal digests."""
    canonical = json.dumps({"operation": operation, "input": request}, sort_keys=True,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_once(
    session: AsyncSession,
    *,
    caller_id: int,
    key: str | None,
    operation: str,
    request: Mapping[str, Any],
    perform: Callable[[], Awaitable[Made]],
    made: type[Made],
    field: str = "idempotency_key",
) -> Made:
    """What `perform()` made (a `made` dataclass), its effects made at most once per `key`.

    The first request with a key stores snapshots of what it made with its effects. A later
    one with the same key and input writes nothing and gets those snapshots back, as a
    `made`. The same key with another input (or operation) is IDEMPOTENCY_KEY_REUSED.
    Without a key, `perform` simply runs. `field` is the caller's name of its key argument,
    for the refusals.
    """
    if key is None:
        return await perform()
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValidationFailed(f"An idempotency key has 1 to {MAX_KEY_LENGTH} characters.",
                               field=field)
    organization_id = current_organization_id(session)
    digest = fingerprint(operation, request)
    claimed = await session.scalar(
        insert(IdempotencyKey)
        .values(organization_id=organization_id, user_id=caller_id, key=key,
                operation=operation, fingerprint=digest)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    scope = (IdempotencyKey.organization_id == organization_id,
             IdempotencyKey.user_id == caller_id, IdempotencyKey.key == key)
    if claimed is None:
        stored = (await session.execute(
            select(IdempotencyKey.fingerprint, IdempotencyKey.result).where(*scope)
        )).one()
        if stored.fingerprint != digest:
            raise IdempotencyKeyReused(
                "This idempotency key was already used with a different input.", field=field
            )
        return replay(made, stored.result)
    result = await perform()
    await session.execute(update(IdempotencyKey).where(*scope).values(result=record(result)))
    return result


def record(made: Any) -> Result:
    """A result as JSON: a snapshot of each of its objects (null for a missing one)."""
    return {part.name: _recorded(getattr(made, part.name)) for part in dataclasses.fields(made)}


def _recorded(value: Any) -> Any:
    if value is None or isinstance(value, int | str):
        return value
    if isinstance(value, list):
        return [snapshot(item) for item in value]
    return snapshot(value)


# Results stored before the snapshot codec was shared named these parts differently;
# keys live RETENTION long, so a replay across an upgrade still finds them.
_EARLIER_NAMES = {"transaction": "credit_transaction", "balance": "credit_balance"}


def replay(made: type[Made], recorded: Result) -> Made:
    """The result a `record` stored: detached objects, as they were then."""
    hints = get_type_hints(made)
    parts = {}
    for part in dataclasses.fields(made):
        stored = recorded.get(part.name, recorded.get(_EARLIER_NAMES.get(part.name, "")))
        hint = hints[part.name]
        if stored is None or isinstance(stored, int | str):
            parts[part.name] = stored
        elif get_origin(hint) is list:
            (model,) = get_args(hint)
            parts[part.name] = [from_snapshot(model, item) for item in stored]
        else:
            parts[part.name] = from_snapshot(_model(hint), stored)
    return made(**parts)


def _model(hint: Any) -> type[Base]:
    """`Model` of a `Model` or `Model | None` annotation."""
    if get_origin(hint) in (Union, types.UnionType):
        (hint,) = [arg for arg in get_args(hint) if arg is not type(None)]
    return hint


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    """Deletes the organization's keys older than the retention period; returns how many."""
    deleted = await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.organization_id == current_organization_id(session),
            IdempotencyKey.created_at < now - RETENTION,
        )
    )
    return deleted.rowcount
