"""docs/rules.md: roles ("Who may do what") as a table, checked for every operation and every role.

`MATRIX` encodes the domain's matrix: one row per operation of the schema (some
operations have several rows, `operation[case]`, for their interesting targets
and for fields only some roles may see), and one expected outcome per caller:

- `ok`: served;
- an error code: refused with it, top-level (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND
  for what the caller may not even see) or as the payload's first userError;
- `visible` / `hidden`: a restricted field has its value / is null or empty;
- for lists, which of the organization's objects come back.

Every case runs in a fresh organization (tests/support.py: an admin, staff, two
professionals, two clients, a student), so no case sees another's writes. The
guard below fails when the served schema has an operation without a row.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.api.schema import schema
from app.auth import Role
from app.people.account_tokens import TokenPurpose
from tests.security.support import World
from tests.support import PASSWORD

ADMIN, STAFF, PROFESSIONAL, CLIENT, ANONYMOUS = "ADMIN", "STAFF", "PROFESSIONAL", "CLIENT", "-"
ROLES = (ADMIN, STAFF, PROFESSIONAL, CLIENT, ANONYMOUS)
MEMBER_OF_ROLE = {ADMIN: "admin", STAFF: "staff", PROFESSIONAL: "professional", CLIENT: "client"}

OK, VISIBLE, HIDDEN = "ok", "visible", "hidden"
FORBIDDEN, NOT_FOUND, UNAUTHENTICATED = "FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"
VALIDATION_FAILED, CONFLICT = "VALIDATION_FAILED", "CONFLICT"
INVALID_TOKEN, WEAK_PASSWORD = "INVALID_TOKEN", "WEAK_PASSWORD"
# Execute and no-show need the start time to have passed; before it, a caller who may act
# gets past the permission check to the state check.
INVALID_STATE_TRANSITION = "INVALID_STATE_TRANSITION"
MAY_ACT_LATER = INVALID_STATE_TRANSITION
NONE = "none"  # an empty list


def row(admin: Any, staff: Any, professional: Any, client: Any,
        anonymous: Any = UNAUTHENTICATED) -> dict[str, Any]:
    return {ADMIN: admin, STAFF: staff, PROFESSIONAL: professional, CLIENT: client,
            ANONYMOUS: anonymous}


def public(outcome: str) -> dict[str, Any]:
    """The same for every caller, logged in or not: a mutation that needs no login."""
    return row(outcome, outcome, outcome, outcome, anonymous=outcome)


EVERYONE = row(OK, OK, OK, OK)
SCHEDULE_KEEPERS = row(OK, OK, OK, FORBIDDEN)  # the professional: their own schedule
FRONT_DESK = row(OK, OK, FORBIDDEN, FORBIDDEN)
ADMIN_ONLY = row(OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)
APPOINTMENT_PARTIES = row(OK, OK, OK, OK)  # ADMIN, STAFF and the appointment's own
NOT_THEIRS = row(OK, OK, NOT_FOUND, NOT_FOUND)  # another client's, with another professional
ALL_USERS = "admin client other_client other_professional professional staff"

MATRIX: dict[str, dict[str, Any]] = {
    # ---- queries ------------------------------------------------------------------------
    "node[Organization]": EVERYONE,
    "node[User: another client]": row(OK, OK, NOT_FOUND, NOT_FOUND),
    "node[User: a client of the professional]": row(OK, OK, OK, OK),  # the client: self
    "node[Student: of the client]": row(OK, OK, NOT_FOUND, OK),
    "node[Professional]": EVERYONE,
    "node[AvailabilityRule]": EVERYONE,
    "node[TimeOff]": EVERYONE,
    "node[TimeSlot]": EVERYONE,
    "node[Appointment: the client's with the professional]": APPOINTMENT_PARTIES,
    "node[Appointment: another client's]": NOT_THEIRS,
    "node[CreditTransaction: the client's]": row(OK, OK, FORBIDDEN, OK),
    "node[CreditTransaction: another client's]": row(OK, OK, FORBIDDEN, NOT_FOUND),
    "node[CreditPackage]": EVERYONE,
    "node[CreditPackage: retired]": row(OK, OK, NOT_FOUND, NOT_FOUND),
    # Series are seen as their appointments are (docs/rules.md: recurring series).
    "node[AppointmentSeries: the client's with the professional]": APPOINTMENT_PARTIES,
    "node[AppointmentSeries: another client's]": NOT_THEIRS,
    "node[WebhookEndpoint]": ADMIN_ONLY,
    "node[WebhookDelivery]": ADMIN_ONLY,
    "me": EVERYONE,
    "organization": EVERYONE,
    "users": row(ALL_USERS, ALL_USERS, "client professional", "client"),
    "professionals": EVERYONE,
    "availability": EVERYONE,
    "timeSlots": EVERYONE,
    "appointments": row("another client's + the client's", "another client's + the client's",
                        "the client's", "the client's"),
    "appointmentSeries": row("another client's + the client's",
                             "another client's + the client's", "the client's", "the client's"),
    # Anyone may name any professional: the list is still only what the caller may see.
    "appointmentSeries[filtered by the other professional]": row(
        "another client's", "another client's", NONE, NONE),
    # A client the caller may not see is NOT_FOUND, as in the `appointments` filter.
    "appointmentSeries[filtered by another client]": row(
        "another client's", "another client's", NOT_FOUND, NOT_FOUND),
    "creditBalance[own]": row(OK, OK, FORBIDDEN, OK),
    "creditBalance[the client's]": row(OK, OK, FORBIDDEN, OK),
    "creditBalance[another client's]": row(OK, OK, FORBIDDEN, NOT_FOUND),
    "creditTransactions[own]": row(OK, OK, FORBIDDEN, OK),
    "creditTransactions[another client's]": row(OK, OK, FORBIDDEN, NOT_FOUND),
    "creditPackages": EVERYONE,
    "creditPackages[includeInactive]": FRONT_DESK,
    "webhookEndpoints": ADMIN_ONLY,
    "organizationReport": row(OK, OK, OK, FORBIDDEN),
    # ---- restricted fields --------------------------------------------------------------
    "Professional.licenseNumber[the professional's]": row(VISIBLE, VISIBLE, VISIBLE, HIDDEN),
    "Professional.licenseNumber[another professional's]": row(VISIBLE, VISIBLE, HIDDEN, HIDDEN),
    "Appointment.privateNotes": row(VISIBLE, HIDDEN, VISIBLE, HIDDEN),
    "Appointment.creditTransactions": row(VISIBLE, VISIBLE, HIDDEN, VISIBLE),
    "User.creditBalance[the client's]": row(VISIBLE, VISIBLE, HIDDEN, VISIBLE),
    "User.calendarFeedUrl[own]": row(VISIBLE, VISIBLE, VISIBLE, VISIBLE),
    "User.calendarFeedUrl[the client's]": row(HIDDEN, HIDDEN, HIDDEN, VISIBLE),
    "User.students[the client's]": row(VISIBLE, VISIBLE, HIDDEN, VISIBLE),
    "TimeSlot.appointment[the client's]": row(VISIBLE, VISIBLE, VISIBLE, VISIBLE),
    "TimeSlot.appointment[another client's]": row(VISIBLE, VISIBLE, HIDDEN, HIDDEN),
    "TimeOff.reason": row(VISIBLE, VISIBLE, VISIBLE, HIDDEN),
    "OrganizationReport.credits": row(VISIBLE, VISIBLE, HIDDEN, FORBIDDEN),
    "CreditTransaction.createdBy[staff, seen by the client]": row(VISIBLE, VISIBLE, FORBIDDEN,
                                                                   HIDDEN),
    # Through Professional.user, which everyone may see: false (hidden) unless STAFF/ADMIN.
    "User.invitationPending[an invited professional's]": row(VISIBLE, VISIBLE, HIDDEN, HIDDEN),
    # Whoever sees an occurrence sees its series, and its parties see its occurrences.
    "Appointment.series[the client's]": row(VISIBLE, VISIBLE, VISIBLE, VISIBLE),
    "AppointmentSeries.appointments[the client's]": row(VISIBLE, VISIBLE, VISIBLE, VISIBLE),
    # ---- mutations ----------------------------------------------------------------------
    "login": row(OK, OK, OK, OK, anonymous=OK),
    # Accounts (docs/rules.md: accounts). The ways in need no login: a token, if any, is
    # not looked at, and the answer is the same for everyone.
    "signUp[the organization allows it]": public(OK),
    "signUp[the organization does not]": public(VALIDATION_FAILED),
    "acceptInvitation": public(OK),
    "acceptInvitation[an unknown token]": public(INVALID_TOKEN),
    "acceptInvitation[a password reset's token]": public(INVALID_TOKEN),
    "requestPasswordReset": public(OK),
    "requestPasswordReset[an email nobody has]": public(OK),  # the same answer: no enumeration
    "resetPassword": public(OK),
    "resetPassword[an unknown token]": public(INVALID_TOKEN),
    "resetPassword[an invitation's token]": public(INVALID_TOKEN),
    # Looked up first (NOT_FOUND for whom the caller may not see), then ADMIN any role,
    # STAFF clients only.
    "resendInvitation[an invited client]": row(OK, OK, NOT_FOUND, NOT_FOUND),
    "resendInvitation[an invited STAFF member]": row(OK, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "resendInvitation[the client, who has a password]": row(CONFLICT, CONFLICT, FORBIDDEN,
                                                            FORBIDDEN),
    "changePassword": EVERYONE,  # the caller's own
    "changePassword[a wrong current password]": row(*[VALIDATION_FAILED] * 4),
    "changePassword[a common new password]": row(*[WEAK_PASSWORD] * 4),
    # Ends the caller's own token too: harmless, as a logged-in caller's case has an
    # organization of its own and the token is sent once.
    "revokeSessions[own]": EVERYONE,
    "revokeSessions[another client's]": ADMIN_ONLY,
    "revokeSessions[another organization's user]": row(NOT_FOUND, FORBIDDEN, FORBIDDEN,
                                                       FORBIDDEN),
    "updateOrganizationSettings": ADMIN_ONLY,
    "updateOrganizationSettings[allowClientSignup]": ADMIN_ONLY,
    "createUser[CLIENT]": FRONT_DESK,
    "createUser[ADMIN]": ADMIN_ONLY,
    "updateUser[own name]": EVERYONE,
    # For an ADMIN that is no change (so nothing to refuse); for anyone else a promotion.
    "updateUser[own role to ADMIN]": row(OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "updateUser[another client's name]": row(OK, OK, NOT_FOUND, NOT_FOUND),
    "updateUser[another client's role]": row(OK, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "updateUser[deactivate another client]": row(OK, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "createStudent[for the client]": row(OK, OK, FORBIDDEN, OK),
    "createStudent[for another client]": row(OK, OK, FORBIDDEN, FORBIDDEN),
    "updateStudent[the client's]": row(OK, OK, NOT_FOUND, OK),
    "updateStudent[another client's]": row(OK, OK, NOT_FOUND, NOT_FOUND),
    "createProfessional": FRONT_DESK,
    "updateProfessional[bio]": SCHEDULE_KEEPERS,
    "updateProfessional[creditCost]": FRONT_DESK,
    "updateProfessional[another professional's bio]": FRONT_DESK,
    "createAvailabilityRule": SCHEDULE_KEEPERS,
    "createAvailabilityRule[another professional's]": FRONT_DESK,
    "updateAvailabilityRule": SCHEDULE_KEEPERS,
    "deleteAvailabilityRule": SCHEDULE_KEEPERS,
    "createTimeOff": SCHEDULE_KEEPERS,
    "deleteTimeOff": SCHEDULE_KEEPERS,
    "generateTimeSlots": SCHEDULE_KEEPERS,
    "generateTimeSlots[another professional's]": FRONT_DESK,
    "blockTimeSlot": SCHEDULE_KEEPERS,
    "unblockTimeSlot": SCHEDULE_KEEPERS,
    "bookTimeSlot[for the client]": EVERYONE,
    "bookTimeSlot[for another client]": row(OK, OK, OK, FORBIDDEN),
    "bookTimeSlot[for the client, another professional's slot]": row(OK, OK, FORBIDDEN, OK),
    # Who may book a series is who may book its first slot (docs/rules.md: recurring series).
    "bookSeries[for the client]": EVERYONE,
    "bookSeries[for another client]": row(OK, OK, OK, FORBIDDEN),
    "bookSeries[for the client, another professional's slot]": row(OK, OK, FORBIDDEN, OK),
    "bookSeries[for the client's student]": EVERYONE,
    # The student must be the client's own, whoever books.
    "bookSeries[for the client, another client's student]": row(*[NOT_FOUND] * 4),
    # A series is seen as its appointments are, then cancelled as they are.
    "cancelSeries": APPOINTMENT_PARTIES,
    "cancelSeries[another client's]": NOT_THEIRS,
    "cancelSeries[already cancelled]": row(*[INVALID_STATE_TRANSITION] * 4),
    "cancelSeries[from an occurrence of another series]": row(*[NOT_FOUND] * 4),
    "confirmAppointment": APPOINTMENT_PARTIES,
    "confirmAppointment[another client's]": NOT_THEIRS,
    "cancelAppointment": APPOINTMENT_PARTIES,
    "cancelAppointment[another client's]": NOT_THEIRS,
    "rescheduleAppointment": APPOINTMENT_PARTIES,
    "rescheduleAppointment[another client's]": NOT_THEIRS,
    "executeAppointment": row(MAY_ACT_LATER, FORBIDDEN, MAY_ACT_LATER, FORBIDDEN),
    "markNoShow": row(MAY_ACT_LATER, MAY_ACT_LATER, MAY_ACT_LATER, FORBIDDEN),
    "purchaseCredits": FRONT_DESK,
    "completeCreditPurchase": FRONT_DESK,
    "failCreditPurchase": FRONT_DESK,
    "adjustCredits": ADMIN_ONLY,
    "createCreditPackage": ADMIN_ONLY,
    "updateCreditPackage": ADMIN_ONLY,
    "rotateCalendarFeed": EVERYONE,
    "createWebhookEndpoint": ADMIN_ONLY,
    "updateWebhookEndpoint": ADMIN_ONLY,
    "deleteWebhookEndpoint": ADMIN_ONLY,
    "rotateWebhookSecret": ADMIN_ONLY,
    "redeliverWebhook": ADMIN_ONLY,
    # Past the permission check, a server without Stripe says so (tests/payments: with it);
    # STAFF and ADMIN hold no credits themselves.
    "startCheckout": row(VALIDATION_FAILED, VALIDATION_FAILED, FORBIDDEN,
                         "PAYMENT_UNAVAILABLE"),
    "startCheckout[for another client]": row("PAYMENT_UNAVAILABLE", "PAYMENT_UNAVAILABLE",
                                             FORBIDDEN, FORBIDDEN),
}


# ---- how each row is asked --------------------------------------------------------------


@dataclass
class Call:
    document: str
    variables: dict[str, Any] = field(default_factory=dict)
    judge: Callable[[dict], Any] | None = None  # default: `outcome`


def outcome(body: dict) -> str:
    """A top-level error's code, else the payload's first userError code, else `ok`."""
    if body.get("errors"):
        return body["errors"][0].get("extensions", {}).get("code") or body["errors"][0]["message"]
    [payload] = body["data"].values()
    if isinstance(payload, dict) and payload.get("userErrors"):
        return payload["userErrors"][0]["code"]
    return OK


def shown(*path: str | int) -> Callable[[dict], str]:
    """`visible` if the value at `path` under `data` is set (a non-empty list), else `hidden`."""

    def judge(body: dict) -> str:
        if body.get("errors"):
            return outcome(body)
        value: Any = body["data"]
        for step in path:
            value = value[step]
        return VISIBLE if value not in (None, []) else HIDDEN

    return judge


def mutation(name: str, input_type: str, values: dict[str, Any]) -> Call:
    return Call(f"mutation($input: {input_type}!) {{ {name}(input: $input) "
                f"{{ userErrors {{ code field }} }} }}", {"input": values})


def by_id(name: str, global_id: str) -> Call:
    return Call(f"mutation($id: ID!) {{ {name}(id: $id) {{ userErrors {{ code field }} }} }}",
                {"id": global_id})


def by_user_id(name: str, global_id: str | None) -> Call:
    """A mutation of one `userId: ID` argument (omitted when None)."""
    if global_id is None:
        return Call(f"mutation {{ {name} {{ userErrors {{ code field }} }} }}")
    return Call(f"mutation($userId: ID!) {{ {name}(userId: $userId) "
                f"{{ userErrors {{ code field }} }} }}", {"userId": global_id})


def logs_in(name: str, input_type: str, values: dict[str, Any]) -> Call:
    """A mutation answering with a LoginPayload: `ok` only with a token."""
    def judge(body: dict) -> str:
        if body.get("errors") or body["data"][name]["userErrors"]:
            return outcome(body)
        return OK if body["data"][name]["token"] else "no token"

    return Call(f"mutation($input: {input_type}!) {{ {name}(input: $input) "
                f"{{ token userErrors {{ code field }} }} }}", {"input": values}, judge)


def true_at(*path: str | int) -> Callable[[dict], str]:
    """`visible` if the boolean at `path` under `data` is true, `hidden` if false."""

    def judge(body: dict) -> str:
        if body.get("errors"):
            return outcome(body)
        value: Any = body["data"]
        for step in path:
            value = value[step]
        return VISIBLE if value is True else HIDDEN

    return judge


NODE = "query($id: ID!) { node(id: $id) { id } }"
REPORT = """{ organizationReport(from: "2026-01-01", to: "2026-01-31") {
    professionals { offeredMinutes } credits { outstanding } } }"""


def node(global_id: str) -> Call:
    return Call(NODE, {"id": global_id})


async def users_case(w: World) -> Call:
    await w.appointment()  # the professional sees the clients they have appointments with
    names = {getattr(w.org, key).user.email: key for key in ALL_USERS.split()}
    return Call("{ users(first: 100) { edges { node { email } } } }", judge=lambda body: (
        outcome(body) if body.get("errors") else " ".join(sorted(
            names[edge["node"]["email"]] for edge in body["data"]["users"]["edges"]))))


async def appointments_case(w: World) -> Call:
    labels = {await w.appointment(): "the client's",
              await w.appointment("other_client", "other_professional"): "another client's"}
    return Call("{ appointments(first: 100) { edges { node { id } } } }", judge=lambda body: (
        outcome(body) if body.get("errors") else " + ".join(sorted(
            labels[edge["node"]["id"]] for edge in body["data"]["appointments"]["edges"]))))


async def availability_case(w: World) -> Call:
    return Call("""query($ids: [ID!]!, $from: Date!, $to: Date!) {
        availability(professionalIds: $ids, from: $from, to: $to) { days { slots { id } } } }""",
                {"ids": [await w.professional()], "from": "2030-01-01", "to": "2030-01-31"})


async def time_slots_case(w: World) -> Call:
    await w.slot()
    return Call("""query($id: ID!) { timeSlots(professionalId: $id,
        from: "2030-01-01T00:00:00+00:00", to: "2030-01-31T00:00:00+00:00") { id status } }""",
                {"id": await w.professional()})


BALANCE = "query($userId: ID) { creditBalance(userId: $userId) { balance } }"
TRANSACTIONS = "query($userId: ID) { creditTransactions(userId: $userId) { totalCount } }"


async def login_case(w: World) -> Call:
    return logs_in("login", "LoginInput", {
        "organization": w.org.slug, "email": w.org.client.user.email, "password": PASSWORD})


NEW_PASSWORD = "a much longer new passphrase 42"


async def sign_up_case(w: World, *, allowed: bool) -> Call:
    await w.allow_client_signup(allowed)
    return logs_in("signUp", "SignUpInput", {
        "organization": w.org.slug, "email": "signed.up@example.com", "password": NEW_PASSWORD,
        "firstName": "Signed", "lastName": "Up", "phone": "+1 555 3333"})


async def password_reset_request_case(w: World, email: str | None = None) -> Call:
    def judge(body: dict) -> str:
        if body.get("errors") or body["data"]["requestPasswordReset"]["userErrors"]:
            return outcome(body)
        return OK if body["data"]["requestPasswordReset"]["accepted"] else "not accepted"

    return Call("""mutation($input: RequestPasswordResetInput!) {
        requestPasswordReset(input: $input) { accepted userErrors { code field } } }""",
                {"input": {"organization": w.org.slug,
                           "email": email or w.org.client.user.email}}, judge)


async def accept_invitation_case(w: World, token: Awaitable[str]) -> Call:
    return logs_in("acceptInvitation", "AcceptInvitationInput",
                   {"token": await token, "password": NEW_PASSWORD})


async def reset_password_case(w: World, token: Awaitable[str]) -> Call:
    return logs_in("resetPassword", "ResetPasswordInput",
                   {"token": await token, "newPassword": NEW_PASSWORD})


async def unknown_token() -> str:
    return "an-unknown-token-of-the-right-shape-000000000"


def change_password(current: str, new: str) -> Call:
    return mutation("changePassword", "ChangePasswordInput",
                    {"currentPassword": current, "newPassword": new})


def new_user(role: str) -> dict[str, Any]:
    return {"email": f"new.{role.lower()}@example.com", "firstName": "New", "lastName": "Person",
            "phone": "+1 555 2222", "role": role}


def appointment_action(name: str, input_type: str = "AppointmentActionInput"):
    async def case(w: World) -> Call:
        return mutation(name, input_type, {"appointmentId": await w.appointment()})

    return case


def another_clients_appointment_action(name: str, input_type: str = "AppointmentActionInput"):
    async def case(w: World) -> Call:
        return mutation(name, input_type, {
            "appointmentId": await w.appointment("other_client", "other_professional")})

    return case


async def rule_input(w: World, professional: str = "professional") -> dict[str, Any]:
    return {"professionalId": await w.professional(professional), "weekday": "SUNDAY",
            "startTime": "20:00", "endTime": "21:00"}


async def generate_input(w: World, professional: str = "professional") -> dict[str, Any]:
    await w.rule(professional)
    return {"professionalId": await w.professional(professional), "from": "2030-01-01",
            "to": "2030-01-14"}


async def own_name_case(w: World) -> Call:
    me = w.caller or w.org.client
    return mutation("updateUser", "UpdateUserInput", {"id": me.id, "firstName": "Renamed"})


async def own_role_case(w: World) -> Call:
    me = w.caller or w.org.client
    return mutation("updateUser", "UpdateUserInput", {"id": me.id, "role": "ADMIN"})


async def slot_of_another_clients_appointment(w: World) -> Call:
    return Call("query($id: ID!) { node(id: $id) { ... on TimeSlot { appointment { id } } } }",
                {"id": await w.booked_slot("other_client", "other_professional")},
                shown("node", "appointment"))


async def reschedule_case(w: World) -> Call:
    return mutation("rescheduleAppointment", "RescheduleAppointmentInput", {
        "appointmentId": await w.appointment(), "newTimeSlotId": await w.slot()})


async def reschedule_another_clients_case(w: World) -> Call:
    return mutation("rescheduleAppointment", "RescheduleAppointmentInput", {
        "appointmentId": await w.appointment("other_client", "other_professional"),
        "newTimeSlotId": await w.slot("other_professional")})


def confirmed_appointment_action(name: str):
    async def case(w: World) -> Call:
        return mutation(name, "AppointmentActionInput",
                        {"appointmentId": await w.appointment(confirmed=True)})

    return case


SERIES_LIST = """query($clientId: ID, $professionalId: ID) {
    appointmentSeries(clientId: $clientId, professionalId: $professionalId, first: 100) {
        edges { node { id } } } }"""


async def series_list_case(w: World, client: str | None = None,
                           professional: str | None = None) -> Call:
    """`appointmentSeries` (filtered by `client` or `professional`), judged by which of the
    client's series with the professional and another client's with the other
    professional come back."""
    labels = {await w.series(): "the client's",
              await w.series("other_client", "other_professional"): "another client's"}
    variables = {"clientId": w.member(client).id if client else None,
                 "professionalId": await w.professional(professional) if professional else None}
    return Call(SERIES_LIST, variables, judge=lambda body: (
        outcome(body) if body.get("errors") else " + ".join(sorted(
            labels[edge["node"]["id"]] for edge in body["data"]["appointmentSeries"]["edges"]))
        or NONE))


def books_series(body: dict) -> str:
    """`ok` only with a series and its first occurrence, both of the series."""
    if body.get("errors") or body["data"]["bookSeries"]["userErrors"]:
        return outcome(body)
    payload = body["data"]["bookSeries"]
    series_id = (payload["series"] or {}).get("id")
    booked = [appointment["series"]["id"] for appointment in payload["appointments"]]
    return OK if series_id and booked and set(booked) == {series_id} else f"not booked: {body}"


async def book_series_case(w: World, client: str, professional: str = "professional",
                           *, student: Awaitable[str] | None = None) -> Call:
    """Books a weekly series of 2 for `client` from a new slot of `professional`'s (the
    client has credits enough)."""
    await w.purchase(client)
    await w.purchase(client)
    values = {"timeSlotId": await w.weekly_slots(professional, weeks=2), "frequency": "WEEKLY",
              "count": 2, "clientId": w.member(client).id}
    if student is not None:
        values["studentId"] = await student
    return Call("""mutation($input: BookSeriesInput!) { bookSeries(input: $input) {
        series { id } appointments { id series { id } } userErrors { code field } } }""",
                {"input": values}, books_series)


def cancels_series(body: dict) -> str:
    """`ok` only with the series ended and its occurrences cancelled."""
    if body.get("errors") or body["data"]["cancelSeries"]["userErrors"]:
        return outcome(body)
    payload = body["data"]["cancelSeries"]
    cancelled = payload["series"]["cancelledAt"] and not payload["series"]["active"]
    return OK if cancelled and payload["cancelledAppointments"] else f"not cancelled: {body}"


async def cancel_series_case(w: World, client: str = "client",
                             professional: str = "professional", *, cancelled: bool = False,
                             from_another_series: bool = False) -> Call:
    values = {"seriesId": await w.series(client, professional, cancelled=cancelled)}
    if from_another_series:  # an occurrence of another series of the same client's
        values["fromAppointmentId"] = await w.series_occurrence(client, professional)
    return Call("""mutation($input: CancelSeriesInput!) { cancelSeries(input: $input) {
        series { active cancelledAt } cancelledAppointments { id } userErrors { code field } } }""",
                {"input": values}, cancels_series)


CASES: dict[str, Callable[[World], Awaitable[Call]]] = {
    "node[Organization]": lambda w: _ready(node(w.organization())),
    "node[User: another client]": lambda w: _ready(node(w.org.other_client.id)),
    "node[User: a client of the professional]": lambda w: _after(
        w.appointment(), node(w.org.client.id)),
    "node[Student: of the client]": lambda w: _after(w.appointment(), node(w.org.student_id)),
    "node[Professional]": lambda w: _ready(node(w.org.professional_id)),
    "node[AvailabilityRule]": lambda w: _call(node, w.rule()),
    "node[TimeOff]": lambda w: _call(node, w.time_off()),
    "node[TimeSlot]": lambda w: _call(node, w.slot()),
    "node[Appointment: the client's with the professional]": lambda w: _call(
        node, w.appointment()),
    "node[Appointment: another client's]": lambda w: _call(
        node, w.appointment("other_client", "other_professional")),
    "node[CreditTransaction: the client's]": lambda w: _call(node, w.purchase()),
    "node[CreditTransaction: another client's]": lambda w: _call(
        node, w.purchase("other_client")),
    "node[CreditPackage]": lambda w: _call(node, w.package()),
    "node[CreditPackage: retired]": lambda w: _call(node, w.package(active=False)),
    "node[AppointmentSeries: the client's with the professional]": lambda w: _call(
        node, w.series()),
    "node[AppointmentSeries: another client's]": lambda w: _call(
        node, w.series("other_client", "other_professional")),
    "node[WebhookEndpoint]": lambda w: _call(node, w.webhook_endpoint()),
    "node[WebhookDelivery]": lambda w: _call(node, w.webhook_delivery()),
    "me": lambda w: _ready(Call("{ me { id role } }")),
    "organization": lambda w: _ready(Call(
        "{ organization { slug settings { bookingWindowDays allowClientSignup } } }")),
    "users": users_case,
    "professionals": lambda w: _ready(Call("{ professionals { edges { node { id } } } }")),
    "availability": availability_case,
    "timeSlots": time_slots_case,
    "appointments": appointments_case,
    "appointmentSeries": series_list_case,
    "appointmentSeries[filtered by the other professional]": lambda w: series_list_case(
        w, professional="other_professional"),
    "appointmentSeries[filtered by another client]": lambda w: series_list_case(
        w, client="other_client"),
    "creditBalance[own]": lambda w: _ready(Call(BALANCE)),
    "creditBalance[the client's]": lambda w: _ready(Call(BALANCE, {"userId": w.org.client.id})),
    "creditBalance[another client's]": lambda w: _ready(
        Call(BALANCE, {"userId": w.org.other_client.id})),
    "creditTransactions[own]": lambda w: _ready(Call(TRANSACTIONS)),
    "creditPackages": lambda w: _after(w.package(), Call("{ creditPackages { id } }")),
    "creditPackages[includeInactive]": lambda w: _after(
        w.package(active=False), Call("{ creditPackages(includeInactive: true) { id } }")),
    "creditTransactions[another client's]": lambda w: _ready(
        Call(TRANSACTIONS, {"userId": w.org.other_client.id})),
    "webhookEndpoints": lambda w: _after(w.webhook_endpoint(), Call(
        "{ webhookEndpoints { id url deliveries { totalCount } } }")),
    "organizationReport": lambda w: _ready(Call(REPORT)),
    "OrganizationReport.credits": lambda w: _ready(Call(
        REPORT, judge=shown("organizationReport", "credits"))),

    "Professional.licenseNumber[the professional's]": lambda w: _ready(Call(
        "query($id: ID!) { node(id: $id) { ... on Professional { licenseNumber } } }",
        {"id": w.org.professional_id}, shown("node", "licenseNumber"))),
    "Professional.licenseNumber[another professional's]": lambda w: _call(
        lambda global_id: Call(
            "query($id: ID!) { node(id: $id) { ... on Professional { licenseNumber } } }",
            {"id": global_id}, shown("node", "licenseNumber")),
        w.professional("other_professional")),
    "Appointment.privateNotes": lambda w: _call(lambda global_id: Call(
        "query($id: ID!) { node(id: $id) { ... on Appointment { privateNotes } } }",
        {"id": global_id}, shown("node", "privateNotes")), w.appointment()),
    "Appointment.creditTransactions": lambda w: _call(lambda global_id: Call(
        "query($id: ID!) { node(id: $id) { ... on Appointment { creditTransactions { id } } } }",
        {"id": global_id}, shown("node", "creditTransactions")), w.appointment()),
    "User.creditBalance[the client's]": lambda w: _after(w.appointment(), Call(
        "query($id: ID!) { node(id: $id) { ... on User { creditBalance { balance } } } }",
        {"id": w.org.client.id}, shown("node", "creditBalance"))),
    "User.calendarFeedUrl[own]": lambda w: _ready(Call(
        "{ me { calendarFeedUrl } }", judge=shown("me", "calendarFeedUrl"))),
    "User.calendarFeedUrl[the client's]": lambda w: _after(w.appointment(), Call(
        "query($id: ID!) { node(id: $id) { ... on User { calendarFeedUrl } } }",
        {"id": w.org.client.id}, shown("node", "calendarFeedUrl"))),
    "User.students[the client's]": lambda w: _after(w.appointment(), Call(
        "query($id: ID!) { node(id: $id) { ... on User { students { id } } } }",
        {"id": w.org.client.id}, shown("node", "students"))),
    "TimeSlot.appointment[the client's]": lambda w: _call(lambda global_id: Call(
        "query($id: ID!) { node(id: $id) { ... on Appointment { timeSlot { appointment { id } } } } }",
        {"id": global_id}, shown("node", "timeSlot", "appointment")), w.appointment()),
    "TimeSlot.appointment[another client's]": slot_of_another_clients_appointment,
    "TimeOff.reason": lambda w: _call(lambda global_id: Call(
        "query($id: ID!) { node(id: $id) { ... on TimeOff { reason } } }",
        {"id": global_id}, shown("node", "reason")), w.time_off()),
    "CreditTransaction.createdBy[staff, seen by the client]": lambda w: _call(
        lambda global_id: Call(
            "query($id: ID!) { node(id: $id) { ... on CreditTransaction { createdBy { id } } } }",
            {"id": global_id}, shown("node", "createdBy")), w.purchase()),
    "User.invitationPending[an invited professional's]": lambda w: _call(lambda global_id: Call(
        "query($id: ID!) { node(id: $id) { ... on Professional { user { invitationPending } } } }",
        {"id": global_id}, true_at("node", "user", "invitationPending")),
        w.invited_professional()),

    "Appointment.series[the client's]": lambda w: _call(lambda global_id: Call(
        "query($id: ID!) { node(id: $id) { ... on Appointment { series { id } } } }",
        {"id": global_id}, shown("node", "series")), w.series_occurrence()),
    "AppointmentSeries.appointments[the client's]": lambda w: _call(lambda global_id: Call(
        "query($id: ID!) { node(id: $id) { ... on AppointmentSeries { "
        "appointments { edges { node { id } } } } } }",
        {"id": global_id}, shown("node", "appointments", "edges")), w.series()),

    "login": login_case,
    "signUp[the organization allows it]": lambda w: sign_up_case(w, allowed=True),
    "signUp[the organization does not]": lambda w: sign_up_case(w, allowed=False),
    "acceptInvitation": lambda w: accept_invitation_case(
        w, w.account_token(TokenPurpose.INVITATION)),
    "acceptInvitation[an unknown token]": lambda w: accept_invitation_case(w, unknown_token()),
    "acceptInvitation[a password reset's token]": lambda w: accept_invitation_case(
        w, w.account_token(TokenPurpose.PASSWORD_RESET)),
    "requestPasswordReset": password_reset_request_case,
    "requestPasswordReset[an email nobody has]": lambda w: password_reset_request_case(
        w, f"nobody@{w.org.slug}.example"),
    "resetPassword": lambda w: reset_password_case(
        w, w.account_token(TokenPurpose.PASSWORD_RESET)),
    "resetPassword[an unknown token]": lambda w: reset_password_case(w, unknown_token()),
    "resetPassword[an invitation's token]": lambda w: reset_password_case(
        w, w.account_token(TokenPurpose.INVITATION)),
    "resendInvitation[an invited client]": lambda w: _call(
        lambda global_id: by_user_id("resendInvitation", global_id), w.invited_user()),
    "resendInvitation[an invited STAFF member]": lambda w: _call(
        lambda global_id: by_user_id("resendInvitation", global_id), w.invited_user(Role.STAFF)),
    "resendInvitation[the client, who has a password]": lambda w: _after(  # seen by the
        w.appointment(), by_user_id("resendInvitation", w.org.client.id)),  # professional
    "changePassword": lambda w: _ready(change_password(PASSWORD, NEW_PASSWORD)),
    "changePassword[a wrong current password]": lambda w: _ready(change_password(
        "not the password at all", NEW_PASSWORD)),
    "changePassword[a common new password]": lambda w: _ready(change_password(
        PASSWORD, "password123")),
    "revokeSessions[own]": lambda w: _ready(by_user_id("revokeSessions", None)),
    "revokeSessions[another client's]": lambda w: _ready(by_user_id(
        "revokeSessions", w.org.other_client.id)),
    "revokeSessions[another organization's user]": lambda w: _call(
        lambda global_id: by_user_id("revokeSessions", global_id),
        w.user_of_another_organization()),
    "updateOrganizationSettings": lambda w: _ready(mutation(
        "updateOrganizationSettings", "UpdateOrganizationSettingsInput", {"bookingWindowDays": 14})),
    "updateOrganizationSettings[allowClientSignup]": lambda w: _ready(mutation(
        "updateOrganizationSettings", "UpdateOrganizationSettingsInput",
        {"allowClientSignup": True})),
    "createUser[CLIENT]": lambda w: _ready(mutation("createUser", "CreateUserInput",
                                                    new_user("CLIENT"))),
    "createUser[ADMIN]": lambda w: _ready(mutation("createUser", "CreateUserInput",
                                                   new_user("ADMIN"))),
    "updateUser[own name]": own_name_case,
    "updateUser[own role to ADMIN]": own_role_case,
    "updateUser[another client's name]": lambda w: _ready(mutation(
        "updateUser", "UpdateUserInput", {"id": w.org.other_client.id, "firstName": "Renamed"})),
    "updateUser[another client's role]": lambda w: _ready(mutation(
        "updateUser", "UpdateUserInput", {"id": w.org.other_client.id, "role": "STAFF"})),
    "updateUser[deactivate another client]": lambda w: _ready(mutation(
        "updateUser", "UpdateUserInput", {"id": w.org.other_client.id, "active": False})),
    "createStudent[for the client]": lambda w: _ready(mutation(
        "createStudent", "CreateStudentInput",
        {"guardianId": w.org.client.id, "firstName": "New", "lastName": "Student"})),
    "createStudent[for another client]": lambda w: _ready(mutation(
        "createStudent", "CreateStudentInput",
        {"guardianId": w.org.other_client.id, "firstName": "New", "lastName": "Student"})),
    "updateStudent[the client's]": lambda w: _call(lambda global_id: mutation(
        "updateStudent", "UpdateStudentInput", {"id": global_id, "firstName": "Renamed"}),
        w.student("client")),
    "updateStudent[another client's]": lambda w: _call(lambda global_id: mutation(
        "updateStudent", "UpdateStudentInput", {"id": global_id, "active": False}),
        w.student("other_client")),
    "createProfessional": lambda w: _call(lambda user_id: mutation(
        "createProfessional", "CreateProfessionalInput", {"userId": user_id}),
        w.professional_user_without_profile()),
    "updateProfessional[bio]": lambda w: _ready(mutation(
        "updateProfessional", "UpdateProfessionalInput",
        {"id": w.org.professional_id, "bio": "Updated"})),
    "updateProfessional[creditCost]": lambda w: _ready(mutation(
        "updateProfessional", "UpdateProfessionalInput",
        {"id": w.org.professional_id, "creditCost": 3})),
    "updateProfessional[another professional's bio]": lambda w: _call(lambda global_id: mutation(
        "updateProfessional", "UpdateProfessionalInput", {"id": global_id, "bio": "Updated"}),
        w.professional("other_professional")),
    "createAvailabilityRule": lambda w: _call(lambda values: mutation(
        "createAvailabilityRule", "CreateAvailabilityRuleInput", values), rule_input(w)),
    "createAvailabilityRule[another professional's]": lambda w: _call(lambda values: mutation(
        "createAvailabilityRule", "CreateAvailabilityRuleInput", values),
        rule_input(w, "other_professional")),
    "updateAvailabilityRule": lambda w: _call(lambda global_id: mutation(
        "updateAvailabilityRule", "UpdateAvailabilityRuleInput",
        {"id": global_id, "endTime": "23:00"}), w.rule()),
    "deleteAvailabilityRule": lambda w: _call(
        lambda global_id: by_id("deleteAvailabilityRule", global_id), w.rule()),
    "createTimeOff": lambda w: _call(lambda professional_id: mutation(
        "createTimeOff", "CreateTimeOffInput", {
            "professionalId": professional_id, "startsAt": "2030-02-01T09:00:00+00:00",
            "endsAt": "2030-02-01T12:00:00+00:00"}), w.professional()),
    "deleteTimeOff": lambda w: _call(lambda global_id: by_id("deleteTimeOff", global_id),
                                     w.time_off()),
    "generateTimeSlots": lambda w: _call(lambda values: mutation(
        "generateTimeSlots", "GenerateTimeSlotsInput", values), generate_input(w)),
    "generateTimeSlots[another professional's]": lambda w: _call(lambda values: mutation(
        "generateTimeSlots", "GenerateTimeSlotsInput", values),
        generate_input(w, "other_professional")),
    "blockTimeSlot": lambda w: _call(lambda global_id: by_id("blockTimeSlot", global_id),
                                     w.slot()),
    "unblockTimeSlot": lambda w: _call(lambda global_id: by_id("unblockTimeSlot", global_id),
                                       w.blocked_slot()),
    "bookTimeSlot[for the client]": lambda w: _call(lambda slot_id: mutation(
        "bookTimeSlot", "BookTimeSlotInput", {"timeSlotId": slot_id, "clientId": w.org.client.id}),
        _with_credits(w, "client", w.slot())),
    "bookTimeSlot[for another client]": lambda w: _call(lambda slot_id: mutation(
        "bookTimeSlot", "BookTimeSlotInput",
        {"timeSlotId": slot_id, "clientId": w.org.other_client.id}),
        _with_credits(w, "other_client", w.slot())),
    "bookTimeSlot[for the client, another professional's slot]": lambda w: _call(
        lambda slot_id: mutation("bookTimeSlot", "BookTimeSlotInput",
                                 {"timeSlotId": slot_id, "clientId": w.org.client.id}),
        _with_credits(w, "client", w.slot("other_professional"))),
    "bookSeries[for the client]": lambda w: book_series_case(w, "client"),
    "bookSeries[for another client]": lambda w: book_series_case(w, "other_client"),
    "bookSeries[for the client, another professional's slot]": lambda w: book_series_case(
        w, "client", "other_professional"),
    "bookSeries[for the client's student]": lambda w: book_series_case(
        w, "client", student=w.student("client")),
    "bookSeries[for the client, another client's student]": lambda w: book_series_case(
        w, "client", student=w.student("other_client")),
    "cancelSeries": cancel_series_case,
    "cancelSeries[another client's]": lambda w: cancel_series_case(
        w, "other_client", "other_professional"),
    "cancelSeries[already cancelled]": lambda w: cancel_series_case(w, cancelled=True),
    "cancelSeries[from an occurrence of another series]": lambda w: cancel_series_case(
        w, from_another_series=True),
    "confirmAppointment": appointment_action("confirmAppointment"),
    "confirmAppointment[another client's]": another_clients_appointment_action(
        "confirmAppointment"),
    "cancelAppointment": appointment_action("cancelAppointment", "CancelAppointmentInput"),
    "cancelAppointment[another client's]": another_clients_appointment_action(
        "cancelAppointment", "CancelAppointmentInput"),
    "rescheduleAppointment": reschedule_case,
    "rescheduleAppointment[another client's]": reschedule_another_clients_case,
    "executeAppointment": confirmed_appointment_action("executeAppointment"),
    "markNoShow": confirmed_appointment_action("markNoShow"),
    "purchaseCredits": lambda w: _ready(mutation("purchaseCredits", "PurchaseCreditsInput", {
        "userId": w.org.client.id, "credits": 5, "amountPaidCents": 5000})),
    "completeCreditPurchase": lambda w: _call(lambda global_id: mutation(
        "completeCreditPurchase", "SettleCreditPurchaseInput", {"transactionId": global_id}),
        w.purchase(pending=True)),
    "failCreditPurchase": lambda w: _call(lambda global_id: mutation(
        "failCreditPurchase", "SettleCreditPurchaseInput",
        {"transactionId": global_id, "failureReason": "Card declined"}),
        w.purchase(pending=True)),
    "adjustCredits": lambda w: _ready(mutation("adjustCredits", "AdjustCreditsInput", {
        "userId": w.org.client.id, "amount": 2, "reason": "Goodwill"})),
    "startCheckout": lambda w: _call(lambda global_id: mutation(
        "startCheckout", "StartCheckoutInput", {
            "packageId": global_id, "successUrl": "https://app.example.com/",
            "cancelUrl": "https://app.example.com/"}), w.package()),
    "startCheckout[for another client]": lambda w: _call(lambda global_id: mutation(
        "startCheckout", "StartCheckoutInput", {
            "packageId": global_id, "userId": w.org.other_client.id,
            "successUrl": "https://app.example.com/", "cancelUrl": "https://app.example.com/"}),
        w.package()),
    "rotateCalendarFeed": lambda w: _ready(Call(
        "mutation { rotateCalendarFeed { userErrors { code field } } }")),
    "createWebhookEndpoint": lambda w: _ready(mutation(
        "createWebhookEndpoint", "CreateWebhookEndpointInput",
        {"url": "http://127.0.0.1:9/hooks", "events": ["appointment.booked"]})),
    "updateWebhookEndpoint": lambda w: _call(lambda global_id: mutation(
        "updateWebhookEndpoint", "UpdateWebhookEndpointInput",
        {"id": global_id, "active": False}), w.webhook_endpoint()),
    "deleteWebhookEndpoint": lambda w: _call(
        lambda global_id: by_id("deleteWebhookEndpoint", global_id), w.webhook_endpoint()),
    "rotateWebhookSecret": lambda w: _call(
        lambda global_id: by_id("rotateWebhookSecret", global_id), w.webhook_endpoint()),
    "redeliverWebhook": lambda w: _call(lambda global_id: Call(
        "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { userErrors { code field } } }",
        {"id": global_id}), w.webhook_delivery()),
    "createCreditPackage": lambda w: _ready(mutation(
        "createCreditPackage", "CreateCreditPackageInput",
        {"name": "Five sessions", "credits": 5, "priceCents": 25000})),
    "updateCreditPackage": lambda w: _call(lambda global_id: mutation(
        "updateCreditPackage", "UpdateCreditPackageInput",
        {"id": global_id, "priceCents": 40000}), w.package()),
}


async def _ready(call: Call) -> Call:
    return call


async def _after(setup: Awaitable[Any], call: Call) -> Call:
    await setup
    return call


async def _call(make: Callable[[Any], Call], value: Awaitable[Any]) -> Call:
    return make(await value)


async def _with_credits(w: World, client: str, value: Awaitable[Any]) -> Any:
    await w.purchase(client)
    return await value


# ---- the test -------------------------------------------------------------------------

QUERY_FIELDS = {field["name"] for field in schema.execute_sync(
    "{ __schema { queryType { fields { name } } } }").data["__schema"]["queryType"]["fields"]}

# Reads change nothing, and an anonymous caller may change nothing but through the
# mutations served without a login (signing up, following an emailed link...), so the
# other cases share their organization (a row's, or one for every anonymous case) to keep
# the suite fast. Every other case gets an organization of its own.
_shared_worlds: dict[str, tuple[World, Call | None]] = {}


def _reads_only(operation: str) -> bool:
    return operation[0].isupper() or operation.split("[")[0] in QUERY_FIELDS


def _share_key(operation: str, role: str) -> str | None:
    if _reads_only(operation):
        return operation
    if role == ANONYMOUS and MATRIX[operation][ANONYMOUS] == UNAUTHENTICATED:
        return "anonymous"
    return None


async def _arrange(operation: str, role: str, tenants) -> tuple[World, Call]:
    caller_key = MEMBER_OF_ROLE.get(role)
    share_key = _share_key(operation, role)
    if share_key is None:
        world = World(tenants.db, await tenants.create())
        world.caller = getattr(world.org, caller_key) if caller_key else None
        return world, await CASES[operation](world)
    if share_key not in _shared_worlds:
        _shared_worlds[share_key] = (World(tenants.db, await tenants.create()), None)
    world, call = _shared_worlds[share_key]
    world.caller = getattr(world.org, caller_key) if caller_key else None
    if call is None or not _reads_only(operation):
        call = await CASES[operation](world)
        if _reads_only(operation):
            _shared_worlds[share_key] = (world, call)
    return world, call


@pytest.mark.parametrize(("operation", "role"),
                         [(operation, role) for operation in MATRIX for role in ROLES])
async def test_permission_matrix(api, tenants, operation, role):
    world, call = await _arrange(operation, role, tenants)

    body = await api.post(call.document, call.variables, as_=world.caller)

    assert (call.judge or outcome)(body) == MATRIX[operation][role], body


def test_every_operation_of_the_served_schema_has_a_row():
    introspected = schema.execute_sync(
        "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }")
    served = {field["name"] for root in ("queryType", "mutationType")
              for field in introspected.data["__schema"][root]["fields"]}
    rows = {operation.split("[")[0] for operation in MATRIX if operation[0].islower()}

    assert served - rows == set(), "operations without a row in MATRIX"
    assert rows - served == set(), "rows of operations the schema does not serve"
    assert set(CASES) == set(MATRIX), "every row needs a case, and every case a row"
