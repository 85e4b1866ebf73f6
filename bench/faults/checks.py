"""What must hold after a fault run, read from the database as its superuser (no row-level
security) and from what the clients, the receiver and the workers' logs saw.

Each check returns a `Check`: its name, whether it held, and what it found.
"""

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import global_ids
from bench.faults.clients import Acknowledged, Sent

LIVE = "state <> 'CANCELLED'"  # as the unique index of live appointments says


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _pk(global_id: str) -> int:
    return global_ids.parse(global_id)[1]


async def acknowledged_are_stored(connection: AsyncConnection,
                                  acknowledged: list[Acknowledged]) -> Check:
    """Nothing a client saw succeed is lost, and its latest effect is what is stored."""
    appointments = {row.id: row for row in await connection.execute(text(
        "SELECT id, state, time_slot_id, confirmed_at FROM appointments"))}
    transactions = {row.id: row for row in await connection.execute(text(
        "SELECT id, status FROM credit_transactions"))}
    problems = []
    last_slot: dict[int, int] = {}
    for ack in sorted(acknowledged, key=lambda ack: ack.at):
        payload, given = ack.payload, ack.variables["input"]
        match ack.kind:
            case "book" | "cancel" | "reschedule" | "confirm":
                # A confirmation may be acknowledged as already done: its payload is empty.
                global_id = (given["appointmentId"] if ack.kind == "confirm"
                             else payload["appointment"]["id"])
                appointment = appointments.get(_pk(global_id))
                if appointment is None:
                    problems.append(f"{ack.kind} {global_id}: not stored")
                elif ack.kind == "cancel" and appointment.state != "CANCELLED":
                    problems.append(f"cancel of {appointment.id}: {appointment.state}")
                elif ack.kind == "confirm" and appointment.confirmed_at is None:
                    problems.append(f"confirm of {appointment.id}: never confirmed")
                elif ack.kind in ("book", "reschedule"):
                    last_slot[appointment.id] = _pk(payload["appointment"]["timeSlot"]["id"])
            case "series":
                for occurrence in payload["appointments"]:
                    appointment = appointments.get(_pk(occurrence["id"]))
                    if appointment is None:
                        problems.append(f"series occurrence {occurrence['id']}: not stored")
                    else:
                        last_slot[appointment.id] = _pk(occurrence["timeSlot"]["id"])
            case "purchase" | "settle":
                global_id = (given["transactionId"] if ack.kind == "settle"
                             else payload["creditTransaction"]["id"])
                entry = transactions.get(_pk(global_id))
                if entry is None:
                    problems.append(f"{ack.kind} {global_id}: not stored")
                elif ack.kind == "settle" and entry.status != "COMPLETED":
                    problems.append(f"settle of {entry.id}: {entry.status}")
    for appointment_id, slot_id in last_slot.items():
        if appointments[appointment_id].time_slot_id != slot_id:
            problems.append(f"appointment {appointment_id}: in slot "
                            f"{appointments[appointment_id].time_slot_id}, acknowledged {slot_id}")
    return Check("nothing acknowledged is lost", not problems,
                 f"{len(acknowledged)} acknowledged mutations" + _listed(problems))


async def one_effect_per_key(connection: AsyncConnection, organization_id: int,
                             sent: list[Sent], acknowledged: list[Acknowledged],
                             servers: list[str], since) -> Check:
    """Every key that took effect answers its first answer again, and the run's new
    appointments and purchases are exactly those the keys made: one effect per key."""
    stored = {(row.user_id, row.key) for row in await connection.execute(text(
        "SELECT user_id, key FROM idempotency_keys WHERE organization_id = :org"),
        {"org": organization_id})}
    first_answer = {ack.key: ack.payload for ack in acknowledged if ack.key}
    problems = []
    made_appointments, made_purchases = Counter(), Counter()
    async with httpx.AsyncClient(timeout=30) as http:
        for request in sent:
            if (request.caller_id, request.key) not in stored:
                if request.key in first_answer:
                    problems.append(f"{request.kind} {request.key}: acknowledged, no key stored")
                continue
            response = await http.post(f"{servers[0]}/graphql", json={
                "query": request.document, "variables": request.variables},
                headers={"Authorization": f"Bearer {request.token}"})
            [payload] = response.json()["data"].values()
            if request.key in first_answer and payload != first_answer[request.key]:
                problems.append(f"{request.kind} {request.key}: replay answered {payload}, "
                                f"first {first_answer[request.key]}")
            if request.kind == "book" and payload.get("appointment"):
                made_appointments[_pk(payload["appointment"]["id"])] += 1
            if request.kind == "series":
                made_appointments.update(_pk(occurrence["id"])
                                         for occurrence in payload["appointments"])
            if request.kind == "purchase" and payload.get("creditTransaction"):
                made_purchases[_pk(payload["creditTransaction"]["id"])] += 1
    booked = {row.id for row in await connection.execute(text(
        "SELECT id FROM appointments WHERE organization_id = :org AND booked_at >= :since"),
        {"org": organization_id, "since": since})}
    bought = {row.id for row in await connection.execute(text(
        "SELECT id FROM credit_transactions WHERE organization_id = :org AND type = 'PURCHASE' "
        "AND created_at >= :since"), {"org": organization_id, "since": since})}
    problems += [f"appointment {id_} booked by no key" for id_ in booked - set(made_appointments)]
    problems += [f"purchase {id_} made by no key" for id_ in bought - set(made_purchases)]
    problems += [f"appointment {id_} answered to {n} keys" for id_, n in made_appointments.items()
                 if n > 1]
    keyed = sum(1 for request in sent if (request.caller_id, request.key) in stored)
    return Check("one effect per key, and replays answer the first answer", not problems,
                 f"{keyed} keys took effect, each replayed; {len(booked)} bookings and "
                 f"{len(bought)} purchases in the run" + _listed(problems))


async def slots_are_booked_once(connection: AsyncConnection) -> Check:
    doubled = (await connection.execute(text(
        f"SELECT organization_id, time_slot_id FROM appointments WHERE {LIVE} "
        "GROUP BY 1, 2 HAVING count(*) > 1"))).all()
    booked_without = (await connection.execute(text(
        f"""SELECT slot.id FROM time_slots AS slot WHERE slot.status = 'BOOKED'
            AND (SELECT count(*) FROM appointments AS live WHERE {LIVE.replace('state', 'live.state')}
                 AND live.organization_id = slot.organization_id
                 AND live.time_slot_id = slot.id) <> 1"""))).all()
    live_elsewhere = (await connection.execute(text(
        f"""SELECT live.id FROM appointments AS live JOIN time_slots AS slot
              ON slot.organization_id = live.organization_id AND slot.id = live.time_slot_id
            WHERE {LIVE.replace('state', 'live.state')} AND slot.status <> 'BOOKED'"""))).all()
    problems = ([f"slot {row.time_slot_id}: booked twice" for row in doubled]
                + [f"BOOKED slot {row.id} without exactly one live appointment"
                   for row in booked_without]
                + [f"live appointment {row.id} in a slot not BOOKED" for row in live_elsewhere])
    return Check("no slot double-booked; each BOOKED slot has one live appointment",
                 not problems, "checked every slot" + _listed(problems))


def ledger_is_clean(database_url: str, env: dict[str, str]) -> Check:
    run = subprocess.run([sys.executable, "-m", "app.cli", "check-ledger"],
                         env={**env, "DATABASE_URL": database_url}, capture_output=True,
                         text=True, timeout=300, check=False)
    return Check("every balance equals its ledger (bookings check-ledger)", run.returncode == 0,
                 (run.stdout.strip().splitlines() or ["(no output)"])[-1]
                 + ("" if run.returncode == 0 else "\n" + run.stdout + run.stderr))


NOTIFICATION_SENT = re.compile(r"notification (notification-\d+-\d+) to ")


def notification_sends(logs: Iterable[Path]) -> Counter:
    sends: Counter = Counter()
    for log in logs:
        sends.update(NOTIFICATION_SENT.findall(log.read_text(errors="replace")))
    return sends


async def outbox_delivered(connection: AsyncConnection, sends: Counter,
                           webhook_arrivals: Counter) -> Check:
    """Every message and webhook delivered, none lost; resends (a worker killed between
    sending and recording) are counted, each carrying the same reference or webhook-id."""
    messages = (await connection.execute(text(
        "SELECT organization_id, id, status FROM notification_outbox"))).all()
    deliveries = (await connection.execute(text(
        "SELECT event_id, status FROM webhook_deliveries"))).all()
    problems = [f"message {row.id}: {row.status}" for row in messages if row.status != "SENT"]
    problems += [f"message {row.id}: SENT but never seen sent" for row in messages
                 if row.status == "SENT"
                 and sends[f"notification-{row.organization_id}-{row.id}"] == 0]
    problems += [f"webhook {row.event_id}: {row.status}" for row in deliveries
                 if row.status != "DELIVERED"]
    problems += [f"webhook {row.event_id}: never arrived" for row in deliveries
                 if webhook_arrivals[row.event_id] == 0]
    resent_messages = sum(count - 1 for count in sends.values() if count > 1)
    resent_webhooks = sum(count - 1 for count in webhook_arrivals.values() if count > 1)
    return Check("every outbox message and webhook delivered, none lost", not problems,
                 f"{len(messages)} messages, {len(deliveries)} webhook deliveries; sent again "
                 f"after a worker died mid-send: {resent_messages} messages, {resent_webhooks} "
                 "webhooks (same reference / webhook-id)" + _listed(problems))


async def periodic_jobs_ran(connection: AsyncConnection, tasks: dict[str, int],
                            window: tuple[float, float]) -> Check:
    """Each periodic task did the work of every tick of the window: a run succeeded that
    started at or after the tick, within two periods or the outage that delayed it; and no
    tick ran twice. (A tick's own run may be missing: the previous run, retried after an
    outage, still held the queueing lock; or failed as superseded, after its worker died,
    by the next run. Either way a later run did the work.)"""
    start, end = window
    problems = []
    ticks_checked = 0
    for task, every_seconds in tasks.items():
        runs = (await connection.execute(text(
            """SELECT (job.args->>'timestamp')::bigint AS tick, job.status::text AS status,
                      extract(epoch FROM (SELECT max(event.at) FROM procrastinate_events AS event
                                          WHERE event.job_id = job.id
                                            AND event.type = 'started')) AS started
               FROM procrastinate_jobs AS job WHERE job.task_name = :task"""),
            {"task": task})).all()
        succeeded = sorted(float(run.started) for run in runs
                           if run.status == "succeeded" and run.started is not None)
        ran = Counter(run.tick for run in runs if run.status == "succeeded")
        problems += [f"{task} at {tick}: ran {count} times" for tick, count in ran.items()
                     if count > 1]
        first = int(start // every_seconds + 1) * every_seconds
        for tick in range(first, int(end), every_seconds):
            ticks_checked += 1
            # Two periods, plus what a fault may add: a worker's death noticed (45 s) or
            # a restart's retries (about 30 s).
            latest = tick + 2 * every_seconds + 90
            if not any(tick - 1 <= started <= latest for started in succeeded):
                problems.append(f"{task} at {tick}: no run did its work")
    return Check("every periodic job of the window ran, and no tick twice", not problems,
                 f"{ticks_checked} ticks of {len(tasks)} tasks" + _listed(problems))


def _listed(problems: list[str], most: int = 10) -> str:
    if not problems:
        return ""
    shown = "\n    ".join(problems[:most])
    more = f"\n    ... and {len(problems) - most} more" if len(problems) > most else ""
    return f"\n    {shown}{more}"
