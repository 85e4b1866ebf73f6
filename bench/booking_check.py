"""Does the raw baseline book as our server does? One booking through each, compared.

Two bookings cannot answer the same bytes: each makes its own appointment (a new
global id) of its own slot. So the check books two slots of one professional for one
client, one through each server, and compares what can be compared: the answers'
JSON shape and status, and the rows each booking wrote (appointment, slot, ledger
entry, lot draws, outbox message), with the values that must differ (ids,
timestamps, the slot's date in the message, the balance after) masked.
"""

import re
from datetime import datetime

import orjson
from sqlalchemy import text

from app.db import Database
from bench import load
from bench.baseline import pk_of
from bench.scenarios import BASELINE_BOOK_PATH, Booking, Tokens, booking_request
from bench.servers import HOST, Server

# Values that differ between two bookings of two slots by one client, by design.
_PER_BOOKING = {"id", "time_slot_id", "appointment_id", "transaction_id", "lot_id", "rule_id",
                "period", "balance_after"}
_MASKS = {
    "dedupe_key": (re.compile(r"\d+"), "<id>"),
    "body": (re.compile(r" on .+ \("), " on <when> ("),
}
_WRITTEN = {  # table -> rows one booking wrote, found by its appointment's id
    "appointments": "SELECT * FROM appointments WHERE id = :appointment",
    "time_slots": "SELECT * FROM time_slots WHERE id = (SELECT time_slot_id FROM appointments"
                  " WHERE id = :appointment)",
    "credit_transactions": "SELECT * FROM credit_transactions WHERE appointment_id = :appointment",
    "credit_lot_draws": "SELECT * FROM credit_lot_draws WHERE transaction_id IN"
                        " (SELECT id FROM credit_transactions WHERE appointment_id = :appointment)",
    "notification_outbox": "SELECT * FROM notification_outbox WHERE appointment_id = :appointment",
}


async def same_booking(db: Database, ours: Server, baseline: Server, organization_id: int,
                       client_id: int, slots: list[int], tokens: Tokens) -> dict:
    """Books slots[0] through our server and slots[1] through the baseline, and compares."""
    answers = [await load.send_one(HOST, server.port, booking_request(
        Booking(organization_id, client_id, slot), tokens, path=path))
        for server, slot, path in ((ours, slots[0], "/graphql"),
                                   (baseline, slots[1], BASELINE_BOOK_PATH))]
    bodies = [orjson.loads(answer.body) for answer in answers]
    same_shape = (answers[0].status == answers[1].status == 200
                  and _shape(bodies[0]) == _shape(bodies[1]))
    differences = [] if same_shape else [f"answers differ: {bodies}"]
    written = []
    for body in bodies:
        appointment = (body.get("data") or {}).get("bookTimeSlot", {}).get("appointment")
        if appointment is None:
            return {"same_shape": same_shape, "write_differences": [f"not booked: {body}"]}
        written.append(await _rows_written(db, organization_id, pk_of(appointment["id"])))
    for table in _WRITTEN:
        if written[0][table] != written[1][table]:
            differences.append(f"{table}: ours {written[0][table]} baseline {written[1][table]}")
    return {"same_shape": same_shape, "write_differences": differences}


def _shape(value):
    """The JSON's keys and value types, without the values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


async def _rows_written(db: Database, organization_id: int, appointment_id: int) -> dict:
    async with db.transaction(organization_id, read_only=True) as session:
        found = {}
        for table, query in _WRITTEN.items():
            rows = (await session.execute(text(query), {"appointment": appointment_id}))
            found[table] = sorted((_masked(dict(row)) for row in rows.mappings()), key=repr)
        return found


def _masked(row: dict) -> dict:
    masked = {}
    for column, value in row.items():
        if value is None:
            masked[column] = None
        elif column in _PER_BOOKING or column.endswith("_at") or isinstance(value, datetime):
            masked[column] = "<varies>"
        elif column in _MASKS:
            pattern, replacement = _MASKS[column]
            masked[column] = pattern.sub(replacement, value)
        else:
            masked[column] = value
    return masked
