"""Appointments: booking, the appointment lifecycle, cancellation with refunds, and rescheduling (docs/rules.md: appointments).

One module per use case:
- `reading`: the appointments a caller may see, and what cancelling one would return;
- `booking`: booking a slot, and the checks a booking passes;
- `lifecycle`: confirming, executing, marking no-show, and the notes an action leaves;
- `cancellation`: cancelling with a refund, and expiring unconfirmed bookings;
- `rescheduling`: moving to another slot, and settling a price change;
over what they share:
- `changes`: locking an appointment the caller may see, and AppointmentChange (what a change
  returns);
- `slots`: taking a slot for an appointment and freeing it again;
- `policy`: who may do what, the transitions, and the one cancellation decision;
- `messages`, `repository`, `models`, and `demo` (the demo organization's appointments).

Each operation runs inside the caller's one transaction, so a slot, an
appointment and the credits it moved change together or not at all.
Concurrency is settled by the database:
- a slot is taken with a guarded `UPDATE ... WHERE status = 'AVAILABLE'`
  (its row lock makes racing bookings take turns; losers see BOOKED), and a
  partial unique index allows one live appointment per slot;
- credits move through the ledger's guarded balance update;
- every change of an existing appointment first locks its row, so a cancel
  and a reschedule of one appointment run one after the other.
Lock order: idempotency key, appointment, slots, then the client's balance.
"""
