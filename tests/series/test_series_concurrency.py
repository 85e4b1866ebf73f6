"""Series racing other bookings over real, separate connections and committed transactions
(docs/rules.md: recurring series, races).

Every race is run for several rounds, each on fresh slots (its own local hour), with the
racers started in a shuffled order. After each round the database is the judge: no slot has
two live appointments, every payload says exactly what its caller got, and no balance ever
went below zero. Each test ends with the ledger invariants (`bookings check-ledger`).

A series takes many slots and debits one balance in one transaction, so it must keep the
lock order of app/appointments (slots, then the balance) across all its weeks, or a booking
of the same client holding a later week's slot while it waits for that balance deadlocks
with it. The last tests stage exactly that interleaving, waiting on the database's own view
of who waits for a lock.
"""

import asyncio
import random
import time
from datetime import time as clock
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from app.appointments import booking, cancellation, series
from app.appointments.changes import AppointmentChange
from app.appointments.models import Appointment, AppointmentSeries, AppointmentState, SeriesSkip
from app.auth import Role
from app.credits import invariants, ledger
from app.credits.models import CreditBalance, CreditTransaction, TransactionType
from app.errors import UserError
from app.jobs import work
from app.people import service as people
from app.scheduling.models import TimeSlot, TimeSlotStatus
from tests.jobs.support import NOW, give_credits, principal, slots_of, work_every_day
from tests.support import Member

NEW_YORK = ZoneInfo("America/New_York")
ROUNDS = 5
JITTER = 0.03
TUESDAY, WEDNESDAY = 2, 3
# Inside the 30-day window from NOW (Monday 3 March 2031): Tuesdays 4 March to 1 April.
WEEKS = 5


# ---- setting up ---------------------------------------------------------------------


async def ready(db, org) -> dict[tuple[int, int], list[TimeSlot]]:
    """The professional works 9-14 every day (one-hour slots, New York), slots through the
    window; the slots by (ISO weekday, local hour), each column in time order."""
    await work_every_day(db, org, org.professional_profile.id, clock(9), clock(14))
    await work.fill_booking_windows(db, now=NOW, organization_ids=[org.id])
    columns: dict[tuple[int, int], list[TimeSlot]] = {}
    for slot in await slots_of(db, org, org.professional_profile.id):
        local = slot.starts_at.astimezone(NEW_YORK)
        columns.setdefault((local.isoweekday(), local.hour), []).append(slot)
    assert all(len(columns[TUESDAY, 9 + r]) == WEEKS for r in range(ROUNDS))
    return columns


async def new_clients(db, org, tenants, count: int, credits: int) -> list[Member]:
    async with db.transaction(org.id) as session:
        users = [await people.register_user(
            session, email=f"racer{n}@{org.slug}.example", first_name="Racer", last_name=str(n),
            phone="+1 555 7777", role=Role.CLIENT, password=None) for n in range(count)]
    members = [Member(user=user, token=tenants.token_for(user)) for user in users]
    for member in members:
        await give_credits(db, org, member, credits)
    return members


# ---- racing -------------------------------------------------------------------------


async def attempt(db, org, work):
    """The result of `work` in its own committed transaction, or the code of its refusal."""
    try:
        async with db.transaction(org.id) as session:
            return await work(session)
    except UserError as error:
        return error.code.value


async def race(rng: random.Random, attempts: dict[str, object], *,
               head_start: str | None = None) -> dict[str, object]:
    """Runs the named attempts at once, started in a shuffled order and each after a random
    delay of up to JITTER seconds (so each racer gets to be first in some rounds), but
    `head_start` at once; their outcomes by name."""
    names = list(attempts)
    rng.shuffle(names)

    async def after_a_while(name):
        await asyncio.sleep(0 if name == head_start else rng.uniform(0, JITTER))
        return await attempts[name]

    outcomes = await asyncio.gather(*[after_a_while(name) for name in names])
    return dict(zip(names, outcomes, strict=True))


def book_series(org, member: Member, slot: TimeSlot, **options):
    return lambda session: series.book_series(
        session, principal(member), slot_id=slot.id, interval_weeks=1, now=NOW, **options)


def book_single(org, member: Member, slot: TimeSlot):
    return lambda session: booking.book_time_slot(
        session, principal(member), slot_id=slot.id, now=NOW)


# ---- what the database says ---------------------------------------------------------


async def holders(db, org, slots: list[TimeSlot]) -> dict[int, Appointment]:
    """The live (not CANCELLED) appointment holding each of `slots`, by slot id."""
    async with db.transaction(org.id, read_only=True) as session:
        live = list(await session.scalars(select(Appointment).where(
            Appointment.organization_id == org.id,
            Appointment.time_slot_id.in_([slot.id for slot in slots]),
            Appointment.state != AppointmentState.CANCELLED)))
    return {appointment.time_slot_id: appointment for appointment in live}


async def assert_no_slot_booked_twice(db, org) -> None:
    """At most one live appointment per slot, and a slot is BOOKED exactly when it has one."""
    async with db.transaction(org.id, read_only=True) as session:
        doubled = (await session.execute(
            select(Appointment.time_slot_id, func.count())
            .where(Appointment.organization_id == org.id,
                   Appointment.state != AppointmentState.CANCELLED)
            .group_by(Appointment.time_slot_id).having(func.count() > 1))).all()
        held = set(await session.scalars(select(Appointment.time_slot_id).where(
            Appointment.organization_id == org.id,
            Appointment.state != AppointmentState.CANCELLED)))
        booked = set(await session.scalars(select(TimeSlot.id).where(
            TimeSlot.organization_id == org.id, TimeSlot.status == TimeSlotStatus.BOOKED)))
    assert doubled == []
    assert held == booked


async def assert_ledger_holds(db, org) -> None:
    """The ledger invariants of `bookings check-ledger`; no entry ever left a balance below
    zero, and every live appointment has exactly one debit."""
    async with db.transaction(org.id, read_only=True) as session:
        report = await invariants.check(session)
        overdrawn = await session.scalar(select(func.count()).select_from(CreditTransaction).where(
            CreditTransaction.organization_id == org.id, CreditTransaction.balance_after < 0))
        negative = await session.scalar(select(func.count()).select_from(CreditBalance).where(
            CreditBalance.organization_id == org.id, CreditBalance.balance < 0))
        debits = func.count(CreditTransaction.id).filter(
            CreditTransaction.type == TransactionType.APPOINTMENT_DEBIT)
        undebited = (await session.execute(
            select(Appointment.id, debits)
            .outerjoin(CreditTransaction,
                       (CreditTransaction.organization_id == Appointment.organization_id)
                       & (CreditTransaction.appointment_id == Appointment.id))
            .where(Appointment.organization_id == org.id,
                   Appointment.state != AppointmentState.CANCELLED)
            .group_by(Appointment.id).having(debits != 1))).all()
    assert [str(violation) for violation in report.violations] == []
    assert (overdrawn, negative, undebited) == (0, 0, [])


async def balance_now(db, org, member: Member) -> int:
    async with db.transaction(org.id, read_only=True) as session:
        return await session.scalar(select(CreditBalance.balance).where(
            CreditBalance.organization_id == org.id, CreditBalance.user_id == member.user.id))


async def assert_series_says_what_it_got(
        db, org, made: series.SeriesBooking, member: Member, wanted: list[TimeSlot],
        *, skip_code: str) -> dict[int, Appointment]:
    """A series booked on `wanted` (its occurrences in order, all inside the window): its
    appointments are its client's live appointments on their slots in the database, its
    skips are exactly the other occurrences, each with `skip_code`, and the stored series and
    skips agree. Returns the holders of `wanted`."""
    held = await holders(db, org, wanted)
    async with db.transaction(org.id, read_only=True) as session:
        stored = await session.get(AppointmentSeries, (org.id, made.series.id))
        own = list(await session.scalars(select(Appointment).where(
            Appointment.organization_id == org.id, Appointment.series_id == made.series.id)))
        skips = list(await session.scalars(select(SeriesSkip).where(
            SeriesSkip.organization_id == org.id, SeriesSkip.series_id == made.series.id)))
    position = {slot.id: index for index, slot in enumerate(wanted)}

    booked = {position[appointment.time_slot_id] for appointment in made.appointments}
    skipped = {skip.occurrence for skip in made.skipped}
    assert len(booked) == len(made.appointments) and len(skipped) == len(made.skipped)
    assert 0 in booked  # the first occurrence is always booked, or nothing is
    assert booked | skipped == set(range(len(wanted))) and not booked & skipped
    assert stored.next_occurrence == made.series.next_occurrence == len(wanted)
    # Its appointments are really its own: live, its client's, on the slots it says.
    assert {a.id for a in own} == {a.id for a in made.appointments}
    for appointment in made.appointments:
        assert held[appointment.time_slot_id].id == appointment.id
        assert held[appointment.time_slot_id].client_id == member.user.id
        assert held[appointment.time_slot_id].state is AppointmentState.PRE_CONFIRMED
    # Its skips are exactly the occurrences somebody else holds (or nobody, for credits).
    for skip in made.skipped:
        slot = wanted[skip.occurrence]
        assert (skip.code, skip.starts_at) == (skip_code, slot.starts_at)
        assert slot.id not in held or held[slot.id].series_id != made.series.id
    assert sorted((s.occurrence, s.code, s.starts_at) for s in skips) == sorted(
        (s.occurrence, s.code, s.starts_at) for s in made.skipped)
    return held


def is_refusal(outcome) -> bool:
    return isinstance(outcome, str)


# ---- a. two series over the same slots ----------------------------------------------


async def test_two_clients_booking_overlapping_series_at_once_share_the_weeks(db, org):
    """Two clients book a weekly series at the same weekday and time at once, starting in
    the same or different weeks: each week goes to one of them, and each payload lists the
    weeks it got as appointments and the others as skips (or is refused outright when the
    other took its first week)."""
    columns = await ready(db, org)
    one, other = org.client, org.other_client
    await give_credits(db, org, one, WEEKS * ROUNDS)
    await give_credits(db, org, other, WEEKS * ROUNDS)
    rng = random.Random(20310303)
    starts = [(0, 0), (0, 1), (1, 0), (0, 2), (1, 1)]
    tally: list[str] = []

    started = time.perf_counter()
    for round_, (first_one, first_other) in enumerate(starts):
        column = columns[TUESDAY, 9 + round_]
        outcomes = await race(rng, {
            "one": attempt(db, org, book_series(org, one, column[first_one])),
            "other": attempt(db, org, book_series(org, other, column[first_other])),
        })

        held = await holders(db, org, column)
        for name, member, first in [("one", one, first_one), ("other", other, first_other)]:
            made = outcomes[name]
            rival = other if member is one else one
            if is_refusal(made):
                # Refused outright: its first week went to the other, and it has nothing here.
                assert made == "SLOT_UNAVAILABLE"
                assert held[column[first].id].client_id == rival.user.id
                assert all(a.client_id == rival.user.id for a in held.values())
                tally.append("refused")
                continue
            await assert_series_says_what_it_got(db, org, made, member, column[first:],
                                                 skip_code="SLOT_UNAVAILABLE")
            for skip in made.skipped:  # what it did not get, the other got
                assert held[column[first + skip.occurrence].id].client_id == rival.user.id
            assert made.balance.balance == await balance_now(db, org, member)
            tally.append(f"{len(made.appointments)} booked, {len(made.skipped)} skipped")
        # Every week from the earlier start on went to exactly one of them.
        assert set(held) == {slot.id for slot in column[min(first_one, first_other):]}
        await assert_no_slot_booked_twice(db, org)
    elapsed = time.perf_counter() - started

    print(f"\n{ROUNDS} rounds of two racing series: {elapsed:.3f} s; {tally}")
    async with db.transaction(org.id, read_only=True) as session:
        stored = await session.scalar(select(func.count()).select_from(AppointmentSeries))
    assert stored == ROUNDS * 2 - tally.count("refused")  # a refused series left no row
    await assert_ledger_holds(db, org)


# ---- b. a series against single bookings --------------------------------------------


async def test_a_series_racing_single_bookings_of_its_slots_never_double_books(
        db, org, tenants):
    """A weekly series races two single bookings by other clients for each of its weeks:
    every week goes to the series or to one single booking, and both kinds of payload agree
    with the database."""
    columns = await ready(db, org)
    racers = await new_clients(db, org, tenants, 2 * WEEKS, credits=ROUNDS)
    await give_credits(db, org, org.client, WEEKS * ROUNDS)
    rng = random.Random(1789)
    tally: list[str] = []

    started = time.perf_counter()
    for round_ in range(ROUNDS):
        column = columns[TUESDAY, 9 + round_]
        first = round_ // 2 % 2  # some rounds, the singles also race for a week before it
        attempts = {"series": attempt(db, org, book_series(org, org.client, column[first]))}
        for n, racer in enumerate(racers):
            attempts[f"single {n}"] = attempt(db, org, book_single(org, racer, column[n % WEEKS]))
        # Every other round the series starts first: it then meets the singles mid-way.
        outcomes = await race(rng, attempts, head_start="series" if round_ % 2 else None)

        held = await holders(db, org, column)
        # Every week is booked, by exactly one of the racers.
        assert set(held) == {slot.id for slot in column}
        singles_by_slot: dict[int, list[Appointment]] = {}
        for n, racer in enumerate(racers):
            made = outcomes[f"single {n}"]
            slot = column[n % WEEKS]
            if is_refusal(made):
                assert made == "SLOT_UNAVAILABLE"
                assert held[slot.id].client_id != racer.user.id
                continue
            assert isinstance(made, AppointmentChange)
            assert made.appointment.time_slot_id == slot.id
            assert held[slot.id].id == made.appointment.id
            assert (held[slot.id].client_id, held[slot.id].series_id) == (racer.user.id, None)
            assert made.transaction.amount == -1 and made.balance.balance >= 0
            singles_by_slot.setdefault(slot.id, []).append(made.appointment)
        assert all(len(won) == 1 for won in singles_by_slot.values())

        made = outcomes["series"]
        if is_refusal(made):
            # Its first week went to a single booking: nothing of the series remains.
            assert made == "SLOT_UNAVAILABLE"
            assert column[first].id in singles_by_slot
            assert all(a.series_id is None for a in held.values())
            tally.append("refused")
        else:
            await assert_series_says_what_it_got(db, org, made, org.client, column[first:],
                                                 skip_code="SLOT_UNAVAILABLE")
            skipped = {column[first + skip.occurrence].id for skip in made.skipped}
            assert skipped == set(singles_by_slot) - {slot.id for slot in column[:first]}
            assert made.balance.balance == await balance_now(db, org, org.client)
            tally.append(f"{len(made.appointments)} booked, {len(made.skipped)} skipped")
        # The weeks the series does not hold, single bookings do, and the other way round.
        assert {slot_id for slot_id, a in held.items() if a.series_id is None} == set(
            singles_by_slot)
        await assert_no_slot_booked_twice(db, org)
    elapsed = time.perf_counter() - started

    print(f"\n{ROUNDS} rounds of a series against {len(racers)} single bookings: "
          f"{elapsed:.3f} s; series: {tally}")
    await assert_ledger_holds(db, org)


# ---- c. a series against debits for the last credits --------------------------------


async def test_a_series_racing_debits_for_the_last_credits_never_overdraws(db, org):
    """The client has 3 credits; a weekly series of 5 weeks, two other debits and two single
    bookings of other slots, all theirs, race for them. Exactly 3 succeed, whichever they
    are; the series books the weeks it paid for and skips the rest with
    INSUFFICIENT_CREDITS, leaving those slots free; the balance never goes below zero."""
    columns = await ready(db, org)
    client = org.client
    credits = 3
    rng = random.Random(42)
    tally: list[str] = []

    started = time.perf_counter()
    for round_ in range(ROUNDS):
        assert (await balance_now(db, org, client) or 0) == 0
        await give_credits(db, org, client, credits)
        column = columns[TUESDAY, 9 + round_]
        elsewhere = columns[WEDNESDAY, 9 + round_][:2]
        async with db.transaction(org.id, read_only=True) as session:
            last_entry = await session.scalar(select(func.max(CreditTransaction.id)))

        attempts = {"series": attempt(db, org, book_series(org, client, column[0]))}
        for n in range(2):
            attempts[f"debit {n}"] = attempt(db, org, lambda session: ledger.debit(
                session, user_id=client.user.id, amount=1, now=NOW, description="Racing"))
            attempts[f"single {n}"] = attempt(db, org, book_single(org, client, elsewhere[n]))
        outcomes = await race(rng, attempts)

        succeeded = 0
        for name, made in outcomes.items():
            if name == "series":
                continue
            if is_refusal(made):
                assert made == "INSUFFICIENT_CREDITS"
            else:
                succeeded += 1
                assert made.balance.balance >= 0
        made = outcomes["series"]
        held = await holders(db, org, column)
        if is_refusal(made):
            # The others took every credit before its first week: nothing of it remains.
            assert made == "INSUFFICIENT_CREDITS"
            assert held == {}
            tally.append("refused")
        else:
            await assert_series_says_what_it_got(db, org, made, client, column,
                                                 skip_code="INSUFFICIENT_CREDITS")
            succeeded += len(made.appointments)
            # A week skipped for credits left its slot on offer.
            assert set(held) == {a.time_slot_id for a in made.appointments}
            assert made.balance.balance >= 0
            tally.append(f"{len(made.appointments)} booked, {len(made.skipped)} skipped")
        async with db.transaction(org.id, read_only=True) as session:
            free = set(await session.scalars(select(TimeSlot.id).where(
                TimeSlot.id.in_([slot.id for slot in column]),
                TimeSlot.status == TimeSlotStatus.AVAILABLE)))
            after = list(await session.scalars(
                select(CreditTransaction.balance_after)
                .where(CreditTransaction.user_id == client.user.id,
                       CreditTransaction.type == TransactionType.APPOINTMENT_DEBIT,
                       CreditTransaction.id > last_entry)))
        assert free == {slot.id for slot in column} - set(held)
        # Exactly the credits there were, each debit taking turns on the balance.
        assert succeeded == credits
        assert sorted(after) == list(range(credits))
        assert await balance_now(db, org, client) == 0
        await assert_no_slot_booked_twice(db, org)
    elapsed = time.perf_counter() - started

    print(f"\n{ROUNDS} rounds of a series against 4 debits for 3 credits: {elapsed:.3f} s; "
          f"series: {tally}")
    await assert_ledger_holds(db, org)


# ---- d. the same client on both sides: lock order -----------------------------------


async def test_a_client_racing_their_own_series_with_bookings_of_its_weeks(db, org):
    """The client books a series, a second series a week later, and single bookings of the
    same weeks, all at once: no deadlock (every attempt succeeds or is refused), each week
    booked once, the payloads as the database has them."""
    columns = await ready(db, org)
    client = org.client
    await give_credits(db, org, client, 3 * WEEKS * ROUNDS)
    rng = random.Random(7)
    tally: list[str] = []

    started = time.perf_counter()
    for round_ in range(ROUNDS):
        column = columns[TUESDAY, 9 + round_]
        attempts = {"series": attempt(db, org, book_series(org, client, column[0])),
                    "later series": attempt(db, org, book_series(org, client, column[1]))}
        for week in range(2, WEEKS):
            attempts[f"single {week}"] = attempt(db, org, book_single(org, client, column[week]))
        outcomes = await race(rng, attempts, head_start="series" if round_ % 2 else None)

        held = await holders(db, org, column)
        assert set(held) == {slot.id for slot in column}  # each week went to one of them
        for week in range(2, WEEKS):
            made = outcomes[f"single {week}"]
            if is_refusal(made):
                assert made == "SLOT_UNAVAILABLE" and held[column[week].id].series_id is not None
            else:
                assert (held[column[week].id].id, held[column[week].id].series_id) == (
                    made.appointment.id, None)
        made_series = set()
        for name, first in [("series", 0), ("later series", 1)]:
            made = outcomes[name]
            if is_refusal(made):  # its first week is another's
                assert made == "SLOT_UNAVAILABLE" and column[first].id in held
            else:
                await assert_series_says_what_it_got(db, org, made, client, column[first:],
                                                     skip_code="SLOT_UNAVAILABLE")
                made_series.add(made.series.id)
        # A refused series holds nothing: every week is a single's or a made series'.
        assert {a.series_id for a in held.values()} - {None} <= made_series
        tally.append(", ".join(
            f"{name}: {made if is_refusal(made) else 'ok'}" for name, made in outcomes.items()
            if "series" in name))
        await assert_no_slot_booked_twice(db, org)
    elapsed = time.perf_counter() - started

    print(f"\n{ROUNDS} rounds of a client against themself: {elapsed:.3f} s; {tally}")
    await assert_ledger_holds(db, org)


async def backend_pid(session) -> int:
    return await session.scalar(text("SELECT pg_backend_pid()"))


async def until_waiting_for_a_lock(db, pid: int, *, unless: asyncio.Task | None = None) -> None:
    """Returns once backend `pid` waits for a lock (or `unless` has finished)."""
    for _ in range(500):
        if unless is not None and unless.done():
            return
        async with db.engine.connect() as connection:
            waiting = await connection.scalar(text(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid})
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for a lock")


async def holding_a_row(db, org, table: str, row_id: int, held: asyncio.Event,
                        release: asyncio.Event) -> None:
    """Another transaction, row-locking one row until `release`."""
    async with db.transaction(org.id) as session:
        await session.execute(text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE"),
                              {"id": row_id})
        held.set()
        await release.wait()


async def test_a_series_waiting_on_a_week_does_not_deadlock_with_a_booking_of_a_later_week(
        db, org):
    """Staged: the series waits for week 1 (another transaction holds it); meanwhile the same
    client books week 2 alone. The series must not hold the balance while it waits for a
    slot, or that booking, holding week 2 and waiting for the balance, deadlocks with it."""
    columns = await ready(db, org)
    client = org.client
    await give_credits(db, org, client, 10)
    column = columns[TUESDAY, 9]
    held, release, pids = asyncio.Event(), asyncio.Event(), {}

    async def the_series(session):
        await held.wait()
        pids["series"] = await backend_pid(session)
        return await book_series(org, client, column[0])(session)

    async def the_booking(session):
        pids["booking"] = await backend_pid(session)
        return await book_single(org, client, column[2])(session)

    holder = asyncio.create_task(holding_a_row(db, org, "time_slots", column[1].id, held,
                                               release))
    series_task = asyncio.create_task(attempt(db, org, the_series))
    await held.wait()
    while "series" not in pids:
        await asyncio.sleep(0.005)
    await until_waiting_for_a_lock(db, pids["series"])
    booking_task = asyncio.create_task(attempt(db, org, the_booking))
    while "booking" not in pids:
        await asyncio.sleep(0.005)
    await until_waiting_for_a_lock(db, pids["booking"], unless=booking_task)
    release.set()
    await holder
    made, single = await series_task, await booking_task

    assert isinstance(single, AppointmentChange)
    await assert_series_says_what_it_got(db, org, made, client, column,
                                         skip_code="SLOT_UNAVAILABLE")
    assert [skip.occurrence for skip in made.skipped] == [2]
    assert (await holders(db, org, column))[column[2].id].id == single.appointment.id
    assert await balance_now(db, org, client) == 10 - 5
    await assert_no_slot_booked_twice(db, org)
    await assert_ledger_holds(db, org)


async def test_cancelling_a_series_does_not_deadlock_with_a_cancel_of_a_later_week(db, org):
    """Staged: cancelSeries waits for week 1 (another transaction holds its appointment);
    meanwhile the client cancels week 2 alone. cancelSeries must not hold the balance (of
    its first refund) while it waits for an appointment, or that cancel, holding week 2 and
    waiting for the balance, deadlocks with it."""
    columns = await ready(db, org)
    client = org.client
    await give_credits(db, org, client, 10)
    column = columns[TUESDAY, 10]
    async with db.transaction(org.id) as session:
        booked = await book_series(org, client, column[0])(session)
    weeks = sorted(booked.appointments, key=lambda appointment: appointment.starts_at)
    held, release, pids = asyncio.Event(), asyncio.Event(), {}

    async def cancel_all(session):
        await held.wait()
        pids["series"] = await backend_pid(session)
        return await series.cancel_series(session, principal(client), booked.series.id, now=NOW)

    async def cancel_one(session):
        pids["cancel"] = await backend_pid(session)
        return await cancellation.cancel_appointment(session, principal(client), weeks[2].id,
                                                     now=NOW)

    holder = asyncio.create_task(holding_a_row(db, org, "appointments", weeks[1].id, held,
                                               release))
    series_task = asyncio.create_task(attempt(db, org, cancel_all))
    await held.wait()
    while "series" not in pids:
        await asyncio.sleep(0.005)
    await until_waiting_for_a_lock(db, pids["series"])
    cancel_task = asyncio.create_task(attempt(db, org, cancel_one))
    while "cancel" not in pids:
        await asyncio.sleep(0.005)
    await until_waiting_for_a_lock(db, pids["cancel"], unless=cancel_task)
    release.set()
    await holder
    whole, one = await series_task, await cancel_task

    assert isinstance(one, AppointmentChange) and one.transaction.amount == 1
    assert sorted(a.id for a in whole.appointments) == sorted(
        a.id for a in weeks if a.id != weeks[2].id)
    assert whole.refunded == WEEKS - 1
    assert await holders(db, org, column) == {}
    assert await balance_now(db, org, client) == 10
    await assert_no_slot_booked_twice(db, org)
    await assert_ledger_holds(db, org)
