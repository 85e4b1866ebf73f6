"""With organization A's tokens, every ID of organization B is NOT_FOUND, and B does not change.

B's IDs are tried through `node`, in every ID argument of every mutation (each on its
own, the other arguments valid in A), and in the ID arguments and filters of queries.
A guard fails when the schema grows an ID argument this table does not try. B's rows
are read before and after with the superuser connection (no row-level security), so
a change anywhere in B would show.
"""

from collections.abc import Callable
from typing import Any

import pytest

from app import global_ids as ids
from app.api.schema import schema
from tests.security.support import World, organization_rows
from tests.support import error_codes

NODE = "query($id: ID!) { node(id: $id) { id } }"
NODE_KINDS = ["User", "Professional", "Student", "TimeSlot", "AvailabilityRule", "TimeOff",
              "Appointment", "CreditTransaction", "Organization", "AppointmentSeries",
              "CreditPackage", "WebhookEndpoint", "WebhookDelivery"]


async def ids_of(world: World) -> dict[str, str]:
    """One ID of every kind (and a few states) in the world's organization."""
    return {
        "User": world.org.client.id,
        "Professional": world.org.professional_id,
        "Student": world.org.student_id,
        "TimeSlot": await world.slot(),
        "BlockedTimeSlot": await world.blocked_slot(),
        "AvailabilityRule": await world.rule(),
        "TimeOff": await world.time_off(),
        "Appointment": await world.appointment(),
        "CreditTransaction": await world.purchase(pending=True),
        "CreditPackage": await world.package(),
        "WebhookEndpoint": await world.webhook_endpoint(),
        "WebhookDelivery": await world.webhook_delivery(),
        "Organization": world.organization(),
        "UserWithoutProfile": await world.professional_user_without_profile(),
        "InvitedUser": await world.invited_user(),
        # A series of the client's, and an occurrence of it (B's, to end A's series from).
        **await series_ids(world),
        "SeriesSlot": await world.weekly_slots(),  # the first of weekly slots, for a series
    }


async def series_ids(world: World) -> dict[str, str]:
    made = await world.booked_series()
    return {"AppointmentSeries": ids.encode("AppointmentSeries", made.series.id),
            "SeriesAppointment": ids.encode("Appointment", made.appointments[-1].id)}


# (mutation, argument path) -> (input type, the argument names ID kinds, every field of the
# input as kinds of IDs or plain values). Kinds are resolved in A, except the attacked one.
# Without an input type the values are the mutation's own arguments, typed as the schema
# declares them.
def _ref(kind: str) -> tuple[str, str]:
    return ("id", kind)


MUTATION_ARGUMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "updateUser.input.id": ("UpdateUserInput", {"id": _ref("User"), "firstName": "X"}),
    "createStudent.input.guardianId": ("CreateStudentInput", {
        "guardianId": _ref("User"), "firstName": "A", "lastName": "B"}),
    "updateStudent.input.id": ("UpdateStudentInput", {"id": _ref("Student"), "active": False}),
    "createProfessional.input.userId": ("CreateProfessionalInput", {
        "userId": _ref("UserWithoutProfile")}),
    "updateProfessional.input.id": ("UpdateProfessionalInput", {
        "id": _ref("Professional"), "bio": "X"}),
    "createAvailabilityRule.input.professionalId": ("CreateAvailabilityRuleInput", {
        "professionalId": _ref("Professional"), "weekday": "SUNDAY", "startTime": "20:00",
        "endTime": "21:00"}),
    "updateAvailabilityRule.input.id": ("UpdateAvailabilityRuleInput", {
        "id": _ref("AvailabilityRule"), "active": False}),
    "deleteAvailabilityRule.id": ("", {"id": _ref("AvailabilityRule")}),
    "createTimeOff.input.professionalId": ("CreateTimeOffInput", {
        "professionalId": _ref("Professional"), "startsAt": "2030-02-01T09:00:00+00:00",
        "endsAt": "2030-02-01T12:00:00+00:00"}),
    "deleteTimeOff.id": ("", {"id": _ref("TimeOff")}),
    "generateTimeSlots.input.professionalId": ("GenerateTimeSlotsInput", {
        "professionalId": _ref("Professional"), "from": "2030-01-01", "to": "2030-01-07"}),
    "blockTimeSlot.id": ("", {"id": _ref("TimeSlot")}),
    "unblockTimeSlot.id": ("", {"id": _ref("BlockedTimeSlot")}),
    "bookTimeSlot.input.timeSlotId": ("BookTimeSlotInput", {
        "timeSlotId": _ref("TimeSlot"), "clientId": _ref("User")}),
    "bookTimeSlot.input.clientId": ("BookTimeSlotInput", {
        "timeSlotId": _ref("TimeSlot"), "clientId": _ref("User")}),
    "bookTimeSlot.input.studentId": ("BookTimeSlotInput", {
        "timeSlotId": _ref("TimeSlot"), "clientId": _ref("User"), "studentId": _ref("Student")}),
    # Were B's slot, client or student taken, a series (and its appointments) would be made.
    "bookSeries.input.timeSlotId": ("BookSeriesInput", {
        "timeSlotId": _ref("SeriesSlot"), "frequency": "WEEKLY", "count": 3,
        "clientId": _ref("User")}),
    "bookSeries.input.clientId": ("BookSeriesInput", {
        "timeSlotId": _ref("SeriesSlot"), "frequency": "WEEKLY", "count": 3,
        "clientId": _ref("User")}),
    "bookSeries.input.studentId": ("BookSeriesInput", {
        "timeSlotId": _ref("SeriesSlot"), "frequency": "WEEKLY", "count": 3,
        "clientId": _ref("User"), "studentId": _ref("Student")}),
    # Were B's series or occurrence taken, B's occurrences would be cancelled.
    "cancelSeries.input.seriesId": ("CancelSeriesInput", {
        "seriesId": _ref("AppointmentSeries"), "reason": "Attack"}),
    "cancelSeries.input.fromAppointmentId": ("CancelSeriesInput", {
        "seriesId": _ref("AppointmentSeries"), "fromAppointmentId": _ref("SeriesAppointment"),
        "reason": "Attack"}),
    "confirmAppointment.input.appointmentId": ("AppointmentActionInput", {
        "appointmentId": _ref("Appointment")}),
    "cancelAppointment.input.appointmentId": ("CancelAppointmentInput", {
        "appointmentId": _ref("Appointment")}),
    "rescheduleAppointment.input.appointmentId": ("RescheduleAppointmentInput", {
        "appointmentId": _ref("Appointment"), "newTimeSlotId": _ref("TimeSlot")}),
    "rescheduleAppointment.input.newTimeSlotId": ("RescheduleAppointmentInput", {
        "appointmentId": _ref("Appointment"), "newTimeSlotId": _ref("TimeSlot")}),
    "executeAppointment.input.appointmentId": ("AppointmentActionInput", {
        "appointmentId": _ref("Appointment")}),
    "markNoShow.input.appointmentId": ("AppointmentActionInput", {
        "appointmentId": _ref("Appointment")}),
    "purchaseCredits.input.userId": ("PurchaseCreditsInput", {
        "userId": _ref("User"), "credits": 5, "amountPaidCents": 500}),
    "completeCreditPurchase.input.transactionId": ("SettleCreditPurchaseInput", {
        "transactionId": _ref("CreditTransaction")}),
    "failCreditPurchase.input.transactionId": ("SettleCreditPurchaseInput", {
        "transactionId": _ref("CreditTransaction")}),
    "adjustCredits.input.userId": ("AdjustCreditsInput", {
        "userId": _ref("User"), "amount": 5, "reason": "Attack"}),
    "updateCreditPackage.input.id": ("UpdateCreditPackageInput", {
        "id": _ref("CreditPackage"), "priceCents": 1, "active": False}),
    "startCheckout.input.packageId": ("StartCheckoutInput", {
        "packageId": _ref("CreditPackage"), "userId": _ref("User"),
        "successUrl": "https://app.example.com/", "cancelUrl": "https://app.example.com/"}),
    "startCheckout.input.userId": ("StartCheckoutInput", {
        "packageId": _ref("CreditPackage"), "userId": _ref("User"),
        "successUrl": "https://app.example.com/", "cancelUrl": "https://app.example.com/"}),
    "updateWebhookEndpoint.input.id": ("UpdateWebhookEndpointInput", {
        "id": _ref("WebhookEndpoint"), "url": "http://127.0.0.1:9/attack", "active": False}),
    "deleteWebhookEndpoint.id": ("", {"id": _ref("WebhookEndpoint")}),
    "rotateWebhookSecret.id": ("", {"id": _ref("WebhookEndpoint")}),
    "redeliverWebhook.deliveryId": ("", {"deliveryId": _ref("WebhookDelivery")}),
    # An invited user: were B's user found, an invitation would be sent (and seen below).
    "resendInvitation.userId": ("", {"userId": _ref("InvitedUser")}),
    "revokeSessions.userId": ("", {"userId": _ref("User")}),
}


def mutation_document(mutation: str, input_type: str, values: dict[str, Any]) -> tuple[str, dict]:
    """The document and variables of a mutation given an input, or its own arguments."""
    if input_type:
        document = (f"mutation($input: {input_type}!) {{ {mutation}(input: $input) "
                    f"{{ userErrors {{ code field }} }} }}")
        return document, {"input": values}
    arguments = schema._schema.mutation_type.fields[mutation].args
    declared = ", ".join(f"${name}: {arguments[name].type}" for name in values)
    passed = ", ".join(f"{name}: ${name}" for name in values)
    document = f"mutation({declared}) {{ {mutation}({passed}) {{ userErrors {{ code field }} }} }}"
    return document, values

# Query arguments and filters: (document, variables with the attacked value marked).
QUERY_ARGUMENTS: dict[str, tuple[str, Callable[[dict, dict], dict]]] = {
    "node.id": (NODE, lambda a, b: {"id": b["User"]}),
    "availability.professionalIds": (
        """query($ids: [ID!]!) { availability(professionalIds: $ids, from: "2030-01-01",
           to: "2030-01-07") { timeZone } }""",
        lambda a, b: {"ids": [a["Professional"], b["Professional"]]}),
    "timeSlots.professionalId": (
        """query($id: ID!) { timeSlots(professionalId: $id, from: "2030-01-01T00:00:00Z",
           to: "2030-01-07T00:00:00Z") { id } }""",
        lambda a, b: {"id": b["Professional"]}),
    "appointments.filter.professionalId": (
        "query($id: ID) { appointments(filter: {professionalId: $id}) { totalCount } }",
        lambda a, b: {"id": b["Professional"]}),
    "appointments.filter.clientId": (
        "query($id: ID) { appointments(filter: {clientId: $id}) { totalCount } }",
        lambda a, b: {"id": b["User"]}),
    "appointmentSeries.clientId": (
        "query($id: ID) { appointmentSeries(clientId: $id) { totalCount } }",
        lambda a, b: {"id": b["User"]}),
    "appointmentSeries.professionalId": (
        "query($id: ID) { appointmentSeries(professionalId: $id) { totalCount } }",
        lambda a, b: {"id": b["Professional"]}),
    "creditBalance.userId": (
        "query($id: ID) { creditBalance(userId: $id) { balance } }",
        lambda a, b: {"id": b["User"]}),
    "organizationReport.professionalIds": (
        """query($ids: [ID!]) { organizationReport(from: "2026-01-01", to: "2026-01-31",
           professionalIds: $ids) { professionals { offeredMinutes } } }""",
        lambda a, b: {"ids": [a["Professional"], b["Professional"]]}),
    "creditTransactions.userId": (
        "query($id: ID) { creditTransactions(userId: $id) { totalCount } }",
        lambda a, b: {"id": b["User"]}),
}


@pytest.fixture
async def attack(db, org, other_org):
    """A's admin, A's objects and B's objects."""
    mine, theirs = World(db, org), World(db, other_org)
    return org.admin, await ids_of(mine), await ids_of(theirs)


async def test_ids_of_another_organization_are_not_found_and_change_nothing(
        api, db, other_org, attack):
    admin, a, b = attack
    before = await organization_rows(db, other_org.id)
    outcomes: dict[str, Any] = {}

    for kind in NODE_KINDS:
        body = await api.post(NODE, {"id": b[kind]}, as_=admin)
        outcomes[f"node({kind})"] = (error_codes(body), body.get("data"))

    for path, (input_type, template) in MUTATION_ARGUMENTS.items():
        mutation, *argument = path.split(".")
        attacked = argument[-1]
        values = {name: (b if name == attacked else a)[value[1]]
                  if isinstance(value, tuple) else value for name, value in template.items()}
        document, variables = mutation_document(mutation, input_type, values)
        body = await api.post(document, variables, as_=admin)
        outcomes[path] = (error_codes(body), [error["code"] for error in
                                              (body.get("data") or {}).get(mutation, {}).get(
                                                  "userErrors", [])])

    for path, (document, variables) in QUERY_ARGUMENTS.items():
        body = await api.post(document, variables(a, b), as_=admin)
        outcomes[path] = (error_codes(body), body.get("data"))

    expected = {f"node({kind})": (["NOT_FOUND"], {"node": None}) for kind in NODE_KINDS}
    expected.update({path: ([], ["NOT_FOUND"]) for path in MUTATION_ARGUMENTS})
    expected.update({path: (["NOT_FOUND"], None) for path in QUERY_ARGUMENTS})
    expected["node.id"] = (["NOT_FOUND"], {"node": None})
    assert outcomes == expected
    assert await organization_rows(db, other_org.id) == before


def _id_arguments() -> set[str]:
    """Every argument (or input field) of a Query or Mutation field that takes IDs."""
    found = set()
    graphql_schema = schema._schema

    def takes_ids(type_) -> bool:
        while hasattr(type_, "of_type"):
            type_ = type_.of_type
        return type_.name == "ID"

    def visit(prefix: str, type_) -> None:
        while hasattr(type_, "of_type"):
            type_ = type_.of_type
        for name, input_field in getattr(type_, "fields", {}).items():
            if takes_ids(input_field.type):
                found.add(f"{prefix}.{name}")
            elif hasattr(input_field.type, "of_type") or hasattr(input_field.type, "fields"):
                visit(f"{prefix}.{name}", input_field.type)

    for root in (graphql_schema.query_type, graphql_schema.mutation_type):
        for field_name, field in root.fields.items():
            for argument_name, argument in field.args.items():
                if takes_ids(argument.type):
                    found.add(f"{field_name}.{argument_name}")
                else:
                    visit(f"{field_name}.{argument_name}", argument.type)
    return found


def test_every_id_argument_of_the_schema_is_attacked():
    assert _id_arguments() == set(MUTATION_ARGUMENTS) | set(QUERY_ARGUMENTS)
