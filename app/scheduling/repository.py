"""SQL for availability rules, time off and time slots, scoped to the session's tenant."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    DateTime,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app import driver_sql, json_sql
from app.people.models import Professional
from app.scheduling.events import SlotChange
from app.scheduling.generation import SlotPeriod
from app.scheduling.models import (
    AvailabilityRule,
    BlockReason,
    TimeOff,
    TimeSlot,
    TimeSlotStatus,
)
from app.tenancy import current_organization_id

# ---- locking ----------------------------------------------------------------


async def lock_schedule(session: AsyncSession, professional_id: int) -> None:
    """Serializes writers of one professional's schedule until the transaction ends.

    Generation checks "no overlapping slot, no time off" and then inserts;
    time off blocks the slots it sees. Without the lock, two generators (or a
    generator and a new time off) could each miss the other's uncommitted rows.
    """
    key = f"schedule:{current_organization_id(session)}:{professional_id}"
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
    )


# ---- availability rules -----------------------------------------------------


async def get_rule(session: AsyncSession, rule_id: int) -> AvailabilityRule | None:
    return await session.get(AvailabilityRule, (current_organization_id(session), rule_id))


async def get_rules_of_professionals(
    session: AsyncSession, professional_ids: Iterable[int]
) -> list[AvailabilityRule]:
    """All rules (active or not) of these professionals, by weekday and start time."""
    statement = (
        select(AvailabilityRule)
        .where(
            AvailabilityRule.organization_id == current_organization_id(session),
            AvailabilityRule.professional_id.in_(set(professional_ids)),
        )
        .order_by(
            AvailabilityRule.professional_id,
            _weekday_order(),
            AvailabilityRule.start_time,
            AvailabilityRule.id,
        )
    )
    return list(await session.scalars(statement))


async def get_active_rules(session: AsyncSession, professional_id: int) -> list[AvailabilityRule]:
    statement = select(AvailabilityRule).where(
        AvailabilityRule.organization_id == current_organization_id(session),
        AvailabilityRule.professional_id == professional_id,
        AvailabilityRule.active,
    )
    return list(await session.scalars(statement))


def _weekday_order():
    return func.array_position(
        text("ARRAY['MONDAY','TUESDAY','WEDNESDAY','THURSDAY','FRIDAY','SATURDAY','SUNDAY']"),
        AvailabilityRule.weekday,
    )


# ---- time off ---------------------------------------------------------------


async def get_time_off(session: AsyncSession, time_off_id: int) -> TimeOff | None:
    return await session.get(TimeOff, (current_organization_id(session), time_off_id))


async def get_time_off_of_professionals(
    session: AsyncSession, professional_ids: Iterable[int], starts: datetime, ends: datetime
) -> list[TimeOff]:
    """Time off of these professionals overlapping [starts, ends), in time order."""
    statement = (
        select(TimeOff)
        .where(
            TimeOff.organization_id == current_organization_id(session),
            TimeOff.professional_id.in_(set(professional_ids)),
            TimeOff.period.op("&&")(_period(starts, ends)),
        )
        .order_by(TimeOff.professional_id, TimeOff.starts_at, TimeOff.id)
    )
    return list(await session.scalars(statement))


# ---- time slots -------------------------------------------------------------


async def get_slot(session: AsyncSession, slot_id: int) -> TimeSlot | None:
    return await session.get(TimeSlot, (current_organization_id(session), slot_id))


async def get_slots(session: AsyncSession, ids: Iterable[int]) -> list[TimeSlot]:
    statement = select(TimeSlot).where(
        TimeSlot.organization_id == current_organization_id(session), TimeSlot.id.in_(set(ids))
    )
    return list(await session.scalars(statement))


async def get_slots_of_professional(
    session: AsyncSession,
    professional_id: int,
    starts: datetime,
    ends: datetime,
    status: TimeSlotStatus | None = None,
) -> list[TimeSlot]:
    """Slots of one professional overlapping [starts, ends), in time order."""
    statement = select(TimeSlot).where(
        TimeSlot.organization_id == current_organization_id(session),
        TimeSlot.professional_id == professional_id,
        TimeSlot.period.op("&&")(_period(starts, ends)),
    )
    if status is not None:
        statement = statement.where(TimeSlot.status == status)
    return list(await session.scalars(statement.order_by(TimeSlot.starts_at)))


_INSERT_SLOTS = text(
    """
    INSERT INTO time_slots (organization_id, professional_id, rule_id, starts_at, ends_at, status)
    SELECT :organization_id, :professional_id, candidate.rule_id, candidate.starts_at,
           candidate.ends_at, 'AVAILABLE'
    FROM unnest(:rule_ids, :starts, :ends) AS candidate (rule_id, starts_at, ends_at)
    WHERE NOT EXISTS (
            SELECT 1 FROM time_slots AS slot
            WHERE slot.organization_id = :organization_id
              AND slot.professional_id = :professional_id
              AND slot.period && tstzrange(candidate.starts_at, candidate.ends_at, '[)'))
      AND NOT EXISTS (
            SELECT 1 FROM time_off
            WHERE time_off.organization_id = :organization_id
              AND time_off.professional_id = :professional_id
              AND time_off.period && tstzrange(candidate.starts_at, candidate.ends_at, '[)'))
    RETURNING id
    """
).bindparams(
    bindparam("rule_ids", type_=ARRAY(BigInteger)),
    bindparam("starts", type_=ARRAY(DateTime(timezone=True))),
    bindparam("ends", type_=ARRAY(DateTime(timezone=True))),
)


async def insert_available_slots(
    session: AsyncSession, professional_id: int, candidates: Sequence[tuple[int, SlotPeriod]]
) -> list[SlotChange]:
    """Inserts the candidate (rule id, period) slots that overlap no slot and no time off;
    returns the slots it made.

    One statement whatever the count. The caller holds `lock_schedule`, so no
    concurrent writer can slip an overlapping row in between check and insert;
    the exclusion constraint would refuse it anyway.
    """
    if not candidates:
        return []
    result = await session.execute(
        _INSERT_SLOTS,
        {
            "organization_id": current_organization_id(session),
            "professional_id": professional_id,
            "rule_ids": [rule_id for rule_id, _ in candidates],
            "starts": [period.starts_at for _, period in candidates],
            "ends": [period.ends_at for _, period in candidates],
        },
    )
    return [(slot_id, professional_id) for slot_id in result.scalars()]


async def get_future_available_slots_of_rule(
    session: AsyncSession, rule_id: int, now: datetime
) -> list[TimeSlot]:
    statement = select(TimeSlot).where(
        TimeSlot.organization_id == current_organization_id(session),
        TimeSlot.rule_id == rule_id,
        TimeSlot.status == TimeSlotStatus.AVAILABLE,
        TimeSlot.starts_at >= now,
    )
    return list(await session.scalars(statement))


async def delete_available_slots(session: AsyncSession,
                                 slot_ids: Sequence[int]) -> list[SlotChange]:
    """Deletes these slots if they are still AVAILABLE (a booked slot always stays)."""
    if not slot_ids:
        return []
    result = await session.execute(
        delete(TimeSlot)
        .where(
            TimeSlot.organization_id == current_organization_id(session),
            TimeSlot.id.in_(slot_ids),
            TimeSlot.status == TimeSlotStatus.AVAILABLE,
        )
        .returning(TimeSlot.id, TimeSlot.professional_id)
        .execution_options(synchronize_session=False)
    )
    return [(slot_id, professional_id) for slot_id, professional_id in result.all()]


async def block_slots_for_time_off(
    session: AsyncSession, professional_id: int, starts: datetime, ends: datetime
) -> list[SlotChange]:
    """BLOCKs the AVAILABLE slots overlapping a new time off; booked ones stay as they are."""
    result = await session.execute(
        update(TimeSlot)
        .where(
            TimeSlot.organization_id == current_organization_id(session),
            TimeSlot.professional_id == professional_id,
            TimeSlot.status == TimeSlotStatus.AVAILABLE,
            TimeSlot.period.op("&&")(_period(starts, ends)),
        )
        .values(
            status=TimeSlotStatus.BLOCKED, block_reason=BlockReason.TIME_OFF, updated_at=func.now()
        )
        .returning(TimeSlot.id, TimeSlot.professional_id)
        .execution_options(synchronize_session=False)
    )
    return [(slot_id, professional_id) for slot_id, professional_id in result.all()]


async def unblock_slots_of_time_off(
    session: AsyncSession, professional_id: int, starts: datetime, ends: datetime
) -> list[SlotChange]:
    """Frees the slots a removed time off blocked, unless another time off still covers them."""
    other_time_off = (
        select(TimeOff.id)
        .where(
            TimeOff.organization_id == TimeSlot.organization_id,
            TimeOff.professional_id == TimeSlot.professional_id,
            TimeOff.period.op("&&")(TimeSlot.period),
        )
        .exists()
    )
    result = await session.execute(
        update(TimeSlot)
        .where(
            TimeSlot.organization_id == current_organization_id(session),
            TimeSlot.professional_id == professional_id,
            TimeSlot.block_reason == BlockReason.TIME_OFF,
            TimeSlot.period.op("&&")(_period(starts, ends)),
            ~other_time_off,
        )
        .values(status=TimeSlotStatus.AVAILABLE, block_reason=None, updated_at=func.now())
        .returning(TimeSlot.id, TimeSlot.professional_id)
        .execution_options(synchronize_session=False)
    )
    return [(slot_id, professional_id) for slot_id, professional_id in result.all()]


async def overlaps_time_off(session: AsyncSession, slot: TimeSlot) -> bool:
    statement = select(
        select(TimeOff.id)
        .where(
            TimeOff.organization_id == current_organization_id(session),
            TimeOff.professional_id == slot.professional_id,
            TimeOff.period.op("&&")(_period(slot.starts_at, slot.ends_at)),
        )
        .exists()
    )
    return bool(await session.scalar(statement))


# Built once (with an expanding IN): building it on each call cost more than running it.
_SET_SLOT_STATUS = (
    update(TimeSlot)
    .where(
        TimeSlot.organization_id == bindparam("tenant"),
        TimeSlot.id == bindparam("slot"),
        TimeSlot.status.in_(bindparam("when_status_in", expanding=True)),
    )
    .values(status=bindparam("new_status"), block_reason=bindparam("new_block_reason"),
            updated_at=func.now())
    .returning(TimeSlot)
    .execution_options(populate_existing=True, synchronize_session=False)
)


async def set_slot_status(
    session: AsyncSession,
    slot_id: int,
    *,
    status: TimeSlotStatus,
    block_reason: BlockReason | None,
    when_status_in: Sequence[TimeSlotStatus],
) -> TimeSlot | None:
    """A guarded status change, applied only while the status is one of `when_status_in`;
    the changed slot, or None if its status was another."""
    return await session.scalar(_SET_SLOT_STATUS, {
        "tenant": current_organization_id(session), "slot": slot_id,
        "when_status_in": list(when_status_in), "new_status": status,
        "new_block_reason": block_reason,
    })


_AVAILABLE_SLOTS = text(
    """
    SELECT slot.id, slot.professional_id, slot.starts_at, slot.ends_at, slot.status
    FROM unnest(:professional_ids, :lowers, :uppers) AS window_ (professional_id, lower_, upper_)
    CROSS JOIN (
        -- What a booking may take now: past the minimum notice, within the booking window
        -- (whole days of 24 hours, whatever the session's zone).
        SELECT :now + make_interval(mins => organization.minimum_notice_minutes) AS earliest,
               :now + make_interval(hours => 24 * organization.booking_window_days) AS latest
        FROM organizations AS organization
        WHERE organization.id = :organization_id
    ) AS bookable
    JOIN time_slots AS slot
      ON slot.organization_id = :organization_id
     AND slot.professional_id = window_.professional_id
     AND slot.status = 'AVAILABLE'
     AND slot.starts_at >= greatest(window_.lower_, bookable.earliest)
     AND slot.starts_at < window_.upper_
     AND slot.starts_at <= bookable.latest
    WHERE NOT EXISTS (
        SELECT 1 FROM time_off
        WHERE time_off.organization_id = :organization_id
          AND time_off.professional_id = slot.professional_id
          AND time_off.period && slot.period)
    ORDER BY slot.professional_id, slot.starts_at
    """
).bindparams(
    bindparam("professional_ids", type_=ARRAY(BigInteger)),
    bindparam("lowers", type_=ARRAY(DateTime(timezone=True))),
    bindparam("uppers", type_=ARRAY(DateTime(timezone=True))),
    bindparam("now", type_=DateTime(timezone=True)),
).columns(*(TimeSlot.__table__.c[name]
            for name in ("id", "professional_id", "starts_at", "ends_at", "status")))


async def get_bookable_slots(
    session: AsyncSession,
    windows: Sequence[tuple[int, datetime, datetime]],
    *,
    now: datetime,
) -> list[Row]:
    """AVAILABLE slots outside time off, starting in each professional's [lower, upper) window
    and bookable at `now` (past the organization's minimum notice, within its booking
    window); one statement for any number of professionals and slots.

    Rows (id, professional_id, starts_at, ends_at, status), not TimeSlot objects: a calendar
    asks for hundreds, and building ORM objects cost more than the rest of the request.
    """
    if not windows:
        return []
    result = await session.execute(
        _AVAILABLE_SLOTS,
        {
            "organization_id": current_organization_id(session),
            "professional_ids": [professional_id for professional_id, _, _ in windows],
            "lowers": [lower for _, lower, _ in windows],
            "uppers": [upper for _, _, upper in windows],
            "now": now,
        },
    )
    return list(result)


def _period(starts: datetime, ends: datetime):
    return func.tstzrange(starts, ends, "[)")


# ---- availability as JSON (the hot road) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class AvailabilityJson:
    """The JSON of `availability`, as the client selected it: (key, part) pairs, in order,
    for each professional's entry and for each of its days.

    Entry parts: a `json_sql.Projection` (the professional), "time_zone", "days", or a
    `json_sql.Constant`. Day parts: "date", a `json_sql.Projection` (its slots), or a
    `json_sql.Constant`.
    """

    entry: tuple[tuple[str, object], ...]
    day: tuple[tuple[str, object], ...]

    def statement(self) -> Select:
        """Built once per shape (the caller keeps it): one statement for the whole answer."""
        return _availability_json_statement(self)


# Every local date lies within a day of the same date in UTC (zones are at most 14 hours
# off UTC): the slots are found in that wider span, then kept by their local date.
_ZONE_MARGIN = timedelta(days=1)


async def get_bookable_slots_json(
    session: AsyncSession,
    statement: Select,
    professional_ids: Sequence[int],
    first_day: date,
    last_day: date,
    *,
    zone: str | None,
    now: datetime,
) -> str | None:
    """The JSON of each professional's bookable slots (as `get_bookable_slots` finds them),
    grouped by local date in `zone` or the professional's own; None if a professional is
    not found. `statement` is an `AvailabilityJson.statement()`."""
    lower = datetime.combine(first_day, time(0), UTC) - _ZONE_MARGIN
    upper = datetime.combine(last_day + timedelta(days=1), time(0), UTC) + _ZONE_MARGIN
    return await driver_sql.scalar(session, statement, {
        "organization_id": current_organization_id(session),
        "wanted": list(professional_ids),
        "professional_ids": list(professional_ids),
        "lowers": [lower] * len(professional_ids),
        "uppers": [upper] * len(professional_ids),
        "now": now,
        "zone": zone,
        "first_day": first_day,
        "last_day": last_day,
    })


def _availability_json_statement(shape: AvailabilityJson) -> Select:
    professionals = Professional.__table__
    wanted = (func.unnest(bindparam("wanted", type_=ARRAY(BigInteger)))
              .table_valued("pk", with_ordinality="ord").render_derived("wanted"))
    entry = (select(professionals, wanted.c.ord,
                    func.coalesce(bindparam("zone", type_=Text),
                                  professionals.c.time_zone).label("zone"))
             .join_from(wanted, professionals, professionals.c.id == wanted.c.pk)
             .cte("entry"))
    # The bookable slots: the very statement of `get_bookable_slots`, so the rule has one home.
    slot = _AVAILABLE_SLOTS.subquery("slot")
    local_date = cast(func.timezone(entry.c.zone, slot.c.starts_at), Date)
    slot_parts = next((part for _, part in shape.day if isinstance(part, tuple)), ())
    day_slots = (select(slot.c.professional_id, local_date.label("local_date"),
                        json_sql.array_json(json_sql.row_json(slot_parts, slot),
                                            slot.c.starts_at).label("slots"))
                 .join_from(slot, entry, and_(entry.c.id == slot.c.professional_id,
                                              entry.c.active))
                 .group_by(slot.c.professional_id, local_date)
                 .cte("day_slots"))
    day = (func.generate_series(cast(bindparam("first_day", type_=Date), DateTime),
                                cast(bindparam("last_day", type_=Date), DateTime),
                                literal_column("interval '1 day'"))
           .table_valued("day").render_derived("days"))
    day_date = cast(day.c.day, Date)

    def day_part(part: object) -> object:
        if part == "date":
            return json_sql.value_json(day_date)
        if isinstance(part, tuple):
            return func.coalesce(day_slots.c.slots, json_sql.constant("[]"))
        return json_sql.constant(json_sql.json_string(part.value))

    days_json = (select(json_sql.array_json(
                     json_sql.object_json([(key, day_part(part)) for key, part in shape.day]),
                     day.c.day))
                 .select_from(day.outerjoin(day_slots, and_(
                     day_slots.c.professional_id == entry.c.id,
                     day_slots.c.local_date == day_date)))
                 .scalar_subquery())

    def entry_part(part: object) -> object:
        if part == "time_zone":
            return json_sql.value_json(entry.c.zone)
        if part == "days":
            return days_json
        if isinstance(part, tuple):
            return json_sql.row_json(part, entry)
        return json_sql.constant(json_sql.json_string(part.value))

    answer = json_sql.array_json(
        json_sql.object_json([(key, entry_part(part)) for key, part in shape.entry]),
        entry.c.ord)
    everyone_found = func.count() == func.cardinality(bindparam("wanted"))
    return select(case((everyone_found, answer), else_=None)).select_from(entry)
