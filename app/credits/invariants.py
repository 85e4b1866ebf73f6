"""Checks of the ledger invariants (docs/rules.md: credits), for the tests and `bookings check-ledger`.

Per client, the balance row agrees with the ledger and with the lots:
- balance = the sum of the amounts of COMPLETED entries;
- lifetimePurchased = COMPLETED purchases + positive adjustments; lifetimeUsed =
  debits + negative adjustments; lifetimeRefunded = refunds; lifetimeExpired =
  expirations;
- balance = the credits left in the lots (an expired lot has none left).
And the lots agree with the entries:
- every COMPLETED grant (purchase, positive adjustment) has exactly one lot of
  its amount, owner and expiry, and nothing else has a lot;
- every COMPLETED removal (debit, negative adjustment, expiration) drew exactly
  its amount from lots of its own client, and nothing else drew;
- a lot's remainder = its original amount - its draws + the draws of debits
  that were refunded;
- a refund reverses a COMPLETED debit of the same client, for its full amount.
"""

from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.organizations.models import Organization
from app.tenancy import current_organization_id


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


@dataclass
class LedgerReport:
    """The result of checking one organization's ledger."""

    organization: str
    clients: int = 0
    entries: int = 0
    lots: int = 0
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


_BALANCES = text(
    """
    WITH ledger AS (
        SELECT user_id,
               sum(amount) AS balance,
               coalesce(sum(amount) FILTER (WHERE type = 'PURCHASE'
                   OR (type = 'ADMIN_ADJUSTMENT' AND amount > 0)), 0) AS purchased,
               coalesce(-sum(amount) FILTER (WHERE type = 'APPOINTMENT_DEBIT'
                   OR (type = 'ADMIN_ADJUSTMENT' AND amount < 0)), 0) AS used,
               coalesce(sum(amount) FILTER (WHERE type = 'CANCELLATION_REFUND'), 0) AS refunded,
               coalesce(-sum(amount) FILTER (WHERE type = 'EXPIRATION'), 0) AS expired
        FROM credit_transactions
        WHERE organization_id = :org AND status = 'COMPLETED'
        GROUP BY user_id
    ), lots AS (
        SELECT user_id, sum(remaining) AS remaining
        FROM credit_lots WHERE organization_id = :org GROUP BY user_id
    ), balances AS (
        SELECT * FROM credit_balances WHERE organization_id = :org
    )
    SELECT coalesce(b.user_id, l.user_id, k.user_id) AS user_id, b.user_id IS NOT NULL AS stored,
           coalesce(b.balance, 0) AS balance, coalesce(l.balance, 0) AS ledger_balance,
           coalesce(k.remaining, 0) AS lots_remaining,
           coalesce(b.lifetime_purchased, 0) AS lifetime_purchased,
           coalesce(l.purchased, 0) AS purchased,
           coalesce(b.lifetime_used, 0) AS lifetime_used, coalesce(l.used, 0) AS used,
           coalesce(b.lifetime_refunded, 0) AS lifetime_refunded,
           coalesce(l.refunded, 0) AS refunded,
           coalesce(b.lifetime_expired, 0) AS lifetime_expired, coalesce(l.expired, 0) AS expired
    FROM balances b
    FULL JOIN ledger l ON l.user_id = b.user_id
    FULL JOIN lots k ON k.user_id = coalesce(b.user_id, l.user_id)
    ORDER BY 1
    """
)

_GRANTS = (
    "(t.status = 'COMPLETED'"
    " AND (t.type = 'PURCHASE' OR (t.type = 'ADMIN_ADJUSTMENT' AND t.amount > 0)))"
)

# (rule, query returning one row per violation with a `detail` column)
_ROW_CHECKS = [
    (
        "grant without its lot",
        f"""SELECT 'transaction ' || t.id AS detail FROM credit_transactions t
            WHERE t.organization_id = :org AND {_GRANTS} AND NOT EXISTS (
                SELECT 1 FROM credit_lots lot WHERE lot.organization_id = t.organization_id
                AND lot.source_transaction_id = t.id)""",
    ),
    (
        "lot unlike its grant",
        f"""SELECT 'lot ' || lot.id || ' of transaction ' || t.id AS detail
            FROM credit_lots lot JOIN credit_transactions t
                ON t.organization_id = lot.organization_id AND t.id = lot.source_transaction_id
            WHERE lot.organization_id = :org AND NOT ({_GRANTS}
                AND lot.original_amount = t.amount AND lot.user_id = t.user_id
                AND lot.expires_at IS NOT DISTINCT FROM t.expires_at)""",
    ),
    (
        "removal not drawn exactly from lots",
        """SELECT 'transaction ' || t.id || ' amount ' || t.amount || ' drew '
                  || coalesce(sum(d.amount), 0) AS detail
           FROM credit_transactions t LEFT JOIN credit_lot_draws d
               ON d.organization_id = t.organization_id AND d.transaction_id = t.id
           WHERE t.organization_id = :org
           GROUP BY t.id, t.amount, t.status
           HAVING coalesce(sum(d.amount), 0)
               <> CASE WHEN t.status = 'COMPLETED' AND t.amount < 0 THEN -t.amount ELSE 0 END""",
    ),
    (
        "draw from another client's lot",
        """SELECT 'transaction ' || t.id || ' lot ' || lot.id AS detail
           FROM credit_lot_draws d
           JOIN credit_transactions t
               ON t.organization_id = d.organization_id AND t.id = d.transaction_id
           JOIN credit_lots lot ON lot.organization_id = d.organization_id AND lot.id = d.lot_id
           WHERE d.organization_id = :org AND t.user_id <> lot.user_id""",
    ),
    (
        "lot remainder disagrees with its draws and refunds",
        """SELECT 'lot ' || lot.id || ' remaining ' || lot.remaining || ' expected '
                  || (lot.original_amount - coalesce(sum(d.amount) FILTER (WHERE r.id IS NULL), 0))
                  AS detail
           FROM credit_lots lot
           LEFT JOIN credit_lot_draws d
               ON d.organization_id = lot.organization_id AND d.lot_id = lot.id
           LEFT JOIN credit_transactions r ON r.organization_id = d.organization_id
               AND r.reverses_id = d.transaction_id AND r.status = 'COMPLETED'
           WHERE lot.organization_id = :org
           GROUP BY lot.id, lot.remaining, lot.original_amount
           HAVING lot.remaining
               <> lot.original_amount - coalesce(sum(d.amount) FILTER (WHERE r.id IS NULL), 0)""",
    ),
    (
        "expired lot with credits left",
        """SELECT 'lot ' || lot.id AS detail FROM credit_lots lot
           WHERE lot.organization_id = :org AND lot.expired_at IS NOT NULL
             AND lot.remaining <> 0""",
    ),
    (
        "refund does not reverse a debit of its client in full",
        """SELECT 'refund ' || r.id AS detail
           FROM credit_transactions r LEFT JOIN credit_transactions d
               ON d.organization_id = r.organization_id AND d.id = r.reverses_id
           WHERE r.organization_id = :org AND r.type = 'CANCELLATION_REFUND'
             AND (d.id IS NULL OR d.type <> 'APPOINTMENT_DEBIT' OR d.status <> 'COMPLETED'
                  OR d.user_id <> r.user_id OR r.amount <> -d.amount)""",
    ),
]

_COUNTS = text(
    """SELECT (SELECT count(*) FROM credit_balances WHERE organization_id = :org),
              (SELECT count(*) FROM credit_transactions WHERE organization_id = :org),
              (SELECT count(*) FROM credit_lots WHERE organization_id = :org)"""
)

_COUNTERS = [
    ("balance", "ledger_balance", "balance = sum of COMPLETED amounts"),
    ("balance", "lots_remaining", "balance = credits left in unexpired lots"),
    ("lifetime_purchased", "purchased", "lifetimePurchased = purchases + positive adjustments"),
    ("lifetime_used", "used", "lifetimeUsed = debits + negative adjustments"),
    ("lifetime_refunded", "refunded", "lifetimeRefunded = refunds"),
    ("lifetime_expired", "expired", "lifetimeExpired = expirations"),
]


async def check(session: AsyncSession, organization: str = "") -> LedgerReport:
    """Every invariant of the session's organization; an empty `violations` means all hold."""
    org = {"org": current_organization_id(session)}
    clients, entries, lots = (await session.execute(_COUNTS, org)).one()
    report = LedgerReport(organization=organization or str(org["org"]), clients=clients,
                          entries=entries, lots=lots)
    for row in (await session.execute(_BALANCES, org)).mappings():
        if not row["stored"]:
            report.violations.append(Violation("missing balance row", f"user {row['user_id']}"))
        for stored, derived, rule in _COUNTERS:
            if row[stored] != row[derived]:
                report.violations.append(Violation(
                    rule, f"user {row['user_id']}: {stored} {row[stored]} != {row[derived]}"
                ))
    for rule, query in _ROW_CHECKS:
        for (detail,) in await session.execute(text(query), org):
            report.violations.append(Violation(rule, detail))
    return report


async def check_every_organization(db: Database) -> list[LedgerReport]:
    """Checks each organization inside its own tenant transaction."""
    async with db.transaction(None, read_only=True) as session:
        organizations = (await session.execute(
            select(Organization.id, Organization.slug).order_by(Organization.id)
        )).all()
    reports = []
    for organization_id, slug in organizations:
        async with db.transaction(organization_id, read_only=True) as session:
            reports.append(await check(session, slug))
    return reports
