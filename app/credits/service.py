"""Credits as callers may see and move them (docs/rules.md: roles, credits): checks, then the ledger.

| action                          | ADMIN   | STAFF   | PROFESSIONAL | CLIENT |
| see balance and transactions    | anyone's| anyone's| FORBIDDEN    | own    |
| record a purchase, settle it    | yes     | yes     | FORBIDDEN    | FORBIDDEN |
| adjust credits                  | yes     | FORBIDDEN | FORBIDDEN  | FORBIDDEN |
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency, pagination, validation
from app.auth import Principal, Role
from app.clock import utc_now
from app.credits import ledger, repository
from app.credits.ledger import Posting
from app.credits.models import CreditBalance, CreditTransaction, TransactionStatus, TransactionType
from app.errors import Forbidden, NotFound, ValidationFailed
from app.organizations import repository as organizations
from app.people import repository as people
from app.people.models import User

MAX_CREDITS = 100_000
MAX_CENTS = 2**31 - 1  # the API's Int

# ---- reading --------------------------------------------------------------------


def can_see_credits_of(principal: Principal, user_id: int) -> bool:
    """STAFF and ADMIN see anyone's balance and transactions; a CLIENT only their own."""
    return principal.is_staff_or_admin or (
        principal.role is Role.CLIENT and principal.user_id == user_id
    )


async def get_balance(
    session: AsyncSession, principal: Principal, user_id: int | None = None
) -> CreditBalance:
    """Gets a client's balance (default: the caller's); zero if they never had credits."""
    holder_id, holder = await _balance_holder(session, principal, user_id)
    balance = await repository.get_balance(session, holder_id)
    return balance or empty_balance(holder or await people.get_user(session, holder_id))


async def get_balance_json(
    session: AsyncSession, principal: Principal, user_id: int | None, statement: Select,
) -> str | None:
    """As `get_balance`, the balance as JSON text, made by a `repository.balance_json_query`;
    None for someone who never had credits (no row to render)."""
    if user_id is None or user_id == principal.user_id:  # as `_balance_holder`
        _check_may_see_credits(principal)
        holder_id = principal.user_id
    else:
        holder_id = await _visible_user_id(session, principal, user_id, field="user_id")
    return await repository.get_balance_json(session, holder_id, statement)


async def _balance_holder(session: AsyncSession, principal: Principal,
                          user_id: int | None) -> tuple[int, User | None]:
    """Whose balance is asked, by id, with their user row if it was read: the caller's own
    (the default; resolving the principal already found them, so their row is not read), or
    someone the caller may see (NOT_FOUND otherwise)."""
    if user_id is None or user_id == principal.user_id:
        _check_may_see_credits(principal)
        return principal.user_id, None
    user = await _visible_user(session, principal, user_id, field="user_id")
    return user.id, user


async def list_transactions_json(
    session: AsyncSession,
    principal: Principal,
    pages: pagination.JsonPages,
    *,
    user_id: int | None = None,
    types: Sequence[TransactionType] | None = None,
    statuses: Sequence[TransactionStatus] | None = None,
    first: int | None = None,
    after: str | None = None,
) -> pagination.Page[str]:
    """As `list_transactions`, each entry as JSON text, by a `repository.ledger_json_pages`."""
    if user_id is not None:
        await _visible_user_id(session, principal, user_id, field="user_id")
    request = pagination.page_request(first, after, repository.TRANSACTION_SORT_KEY)
    return await repository.get_ledger_json_page(
        session, pages, request, user_id=_listed_user(principal, user_id), types=types,
        statuses=statuses)


def empty_balance(user: User) -> CreditBalance:
    """The balance of someone who never had credits (not stored)."""
    return CreditBalance(
        organization_id=user.organization_id, user_id=user.id, balance=0, lifetime_purchased=0,
        lifetime_used=0, lifetime_refunded=0, lifetime_expired=0,
        created_at=user.created_at, updated_at=user.created_at,
    )


def transactions_query(
    session: AsyncSession,
    principal: Principal,
    *,
    user_id: int | None,
    types: Sequence[TransactionType] | None = None,
    statuses: Sequence[TransactionStatus] | None = None,
) -> Select:
    """Entries the caller may list: a client's own; STAFF and ADMIN anyone's (all, by default)."""
    return repository.transactions_query(session, user_id=_listed_user(principal, user_id),
                                         types=types, statuses=statuses)


def _listed_user(principal: Principal, user_id: int | None) -> int | None:
    """Whose entries a list holds: a client's own; STAFF and ADMIN anyone's (all, by
    default, None)."""
    _check_may_see_credits(principal)
    if not principal.is_staff_or_admin:
        return principal.user_id if user_id is None else user_id
    return user_id


async def list_transactions(
    session: AsyncSession,
    principal: Principal,
    *,
    user_id: int | None = None,
    types: Sequence[TransactionType] | None = None,
    statuses: Sequence[TransactionStatus] | None = None,
    first: int | None = None,
    after: str | None = None,
) -> pagination.Page[CreditTransaction]:
    """Gets one page of ledger entries, newest first."""
    if user_id is not None:
        await _visible_user(session, principal, user_id, field="user_id")
    request = pagination.page_request(first, after, repository.TRANSACTION_SORT_KEY)
    statement = transactions_query(session, principal, user_id=user_id, types=types,
                                   statuses=statuses)
    return await pagination.fetch_page(session, statement, request,
                                       repository.TRANSACTION_SORT_KEY, descending=True)


async def get_transaction(
    session: AsyncSession, principal: Principal, transaction_id: int
) -> CreditTransaction:
    """Gets one ledger entry the caller may see; anything else is NOT_FOUND."""
    _check_may_see_credits(principal)
    entry = await repository.get_transaction(session, transaction_id)
    if entry is None or not can_see_credits_of(principal, entry.user_id):
        raise NotFound("No such credit transaction.")
    return entry


# ---- moving credits -----------------------------------------------------------------


async def purchase_credits(
    session: AsyncSession,
    principal: Principal,
    *,
    user_id: int | None,
    credits: int,
    amount_paid_cents: int,
    currency: str | None = None,
    payment_reference: str | None = None,
    status: TransactionStatus = TransactionStatus.COMPLETED,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Posting:
    """Records a client's purchase (STAFF, ADMIN): COMPLETED now, or PENDING a payment."""
    if not principal.is_staff_or_admin:
        raise Forbidden("Only STAFF or ADMIN may record credit purchases.")
    user_id = principal.user_id if user_id is None else user_id
    now = utc_now(now)

    async def perform() -> Posting:
        client = await client_of(session, user_id)
        if status is TransactionStatus.FAILED:
            raise ValidationFailed("A purchase starts COMPLETED or PENDING.", field="status")
        organization = await organizations.get_current(session)
        days = organization.credit_expiry_days
        posting = await ledger.purchase(
            session,
            user_id=client.id,
            credits=validation.int_between(credits, 1, MAX_CREDITS, "credits"),
            amount_paid_cents=validation.int_between(amount_paid_cents, 0, MAX_CENTS,
                                                     "amount_paid_cents"),
            currency=validation.currency_code(currency or organization.currency, "currency"),
            payment_reference=validation.optional_text(
                payment_reference, "payment_reference", max_length=200
            ),
            pending=status is TransactionStatus.PENDING,
            now=now,
            expires_at=None if days is None else now + timedelta(days=days),
            created_by_id=principal.user_id,
        )
        return posting

    request = {"user_id": user_id, "credits": credits, "amount_paid_cents": amount_paid_cents,
               "currency": currency, "payment_reference": payment_reference, "status": status}
    return await idempotency.run_once(
        session, caller_id=principal.user_id, key=idempotency_key, operation="purchaseCredits",
        request=request, perform=perform, made=Posting)


async def complete_purchase(
    session: AsyncSession,
    principal: Principal,
    transaction_id: int,
    *,
    failure_reason: str | None = None,
    now: datetime | None = None,
) -> Posting:
    """Credits a PENDING purchase once its payment arrived (STAFF, ADMIN)."""
    _check_may_settle(principal)
    if failure_reason is not None:
        raise ValidationFailed("A completed purchase has no failure reason.",
                               field="failure_reason")
    return await ledger.complete_purchase(session, transaction_id=transaction_id,
                                          now=utc_now(now))


async def fail_purchase(
    session: AsyncSession,
    principal: Principal,
    transaction_id: int,
    *,
    failure_reason: str | None = None,
    now: datetime | None = None,
) -> Posting:
    """Marks a PENDING purchase FAILED: its credits are never granted (STAFF, ADMIN)."""
    _check_may_settle(principal)
    return await ledger.fail_purchase(
        session,
        transaction_id=transaction_id,
        now=utc_now(now),
        failure_reason=validation.optional_text(failure_reason, "failure_reason",
                                                max_length=500),
    )


async def adjust_credits(
    session: AsyncSession,
    principal: Principal,
    *,
    user_id: int,
    amount: int,
    reason: str,
    expires_at: datetime | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Posting:
    """Adds or removes credits with a reason (ADMIN only); never below zero."""
    if not principal.is_admin:
        raise Forbidden("Only an ADMIN may adjust credits.")
    now = utc_now(now)

    async def perform() -> Posting:
        client = await client_of(session, user_id)
        if amount == 0 or abs(amount) > MAX_CREDITS:
            raise ValidationFailed(f"Adjust by 1 to {MAX_CREDITS} credits, up or down.",
                                   field="amount")
        if expires_at is not None and (amount < 0 or expires_at <= now):
            raise ValidationFailed("Only added credits expire, and only in the future.",
                                   field="expires_at")
        posting = await ledger.adjust(
            session,
            user_id=client.id,
            amount=amount,
            reason=validation.required_text(reason, "reason", max_length=500),
            expires_at=expires_at,
            now=now,
            created_by_id=principal.user_id,
        )
        return posting

    request = {"user_id": user_id, "amount": amount, "reason": reason, "expires_at": expires_at}
    return await idempotency.run_once(
        session, caller_id=principal.user_id, key=idempotency_key, operation="adjustCredits",
        request=request, perform=perform, made=Posting)


# ---- helpers --------------------------------------------------------------------------


def _check_may_see_credits(principal: Principal) -> None:
    if principal.role is Role.PROFESSIONAL:
        raise Forbidden("Professionals cannot see credit balances or transactions.")


def _check_may_settle(principal: Principal) -> None:
    if not principal.is_staff_or_admin:
        raise Forbidden("Only STAFF or ADMIN may settle credit purchases.")


async def _visible_user(
    session: AsyncSession, principal: Principal, user_id: int | None, *, field: str
) -> User:
    _check_may_see_credits(principal)
    user_id = principal.user_id if user_id is None else user_id
    user = await people.get_user(session, user_id)
    if user is None or not can_see_credits_of(principal, user_id):
        raise NotFound("No such user.", field=field)
    return user


async def _visible_user_id(
    session: AsyncSession, principal: Principal, user_id: int, *, field: str
) -> int:
    """`_visible_user` without loading the user: for the compiled reads, whose
    `driver_sql.DriverSession` loads no models."""
    _check_may_see_credits(principal)
    if not await people.user_exists(session, user_id) or not can_see_credits_of(principal,
                                                                                 user_id):
        raise NotFound("No such user.", field=field)
    return user_id


async def client_of(session: AsyncSession, user_id: int) -> User:
    """The user who holds the credits: NOT_FOUND if there is none, VALIDATION_FAILED for
    anyone but a CLIENT."""
    user = await people.get_user(session, user_id)
    if user is None:
        raise NotFound("No such user.", field="user_id")
    if user.role is not Role.CLIENT:
        raise ValidationFailed("Only clients hold credits.", field="user_id")
    return user

