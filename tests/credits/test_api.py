"""Credits over GraphQL: who sees and moves what (docs/rules.md: roles), settlement, lists and bad input."""

from datetime import UTC, datetime, timedelta

import pytest

from app import global_ids as ids
from tests.credits.support import balance_of, grant
from tests.support import error_codes

PURCHASE = """
mutation Purchase($input: PurchaseCreditsInput!) {
  purchaseCredits(input: $input) {
    creditTransaction {
      id type status amount balanceAfter amountPaidCents currency paymentReference
      expiresAt description failureReason processedAt user { id } createdBy { id } reverses { id }
    }
    creditBalance {
      balance lifetimePurchased lifetimeUsed lifetimeRefunded lifetimeExpired user { id }
    }
    userErrors { code field }
  }
}
"""

SETTLE = """
mutation Settle($complete: SettleCreditPurchaseInput!, $fail: SettleCreditPurchaseInput!,
                $doComplete: Boolean!) {
  completeCreditPurchase(input: $complete) @include(if: $doComplete) {
    creditTransaction { status balanceAfter failureReason }
    creditBalance { balance }
    userErrors { code field }
  }
  failCreditPurchase(input: $fail) @skip(if: $doComplete) {
    creditTransaction { status balanceAfter failureReason }
    creditBalance { balance }
    userErrors { code field }
  }
}
"""

ADJUST = """
mutation Adjust($input: AdjustCreditsInput!) {
  adjustCredits(input: $input) {
    creditTransaction { type amount description expiresAt }
    creditBalance { balance }
    userErrors { code field }
  }
}
"""

BALANCE = """
query Balance($userId: ID) {
  creditBalance(userId: $userId) { balance lifetimePurchased user { id } }
}
"""

TRANSACTIONS = """
query Transactions($userId: ID, $types: [CreditTransactionType!],
                   $statuses: [CreditTransactionStatus!], $first: Int, $after: String) {
  creditTransactions(userId: $userId, types: $types, statuses: $statuses, first: $first,
                     after: $after) {
    edges { node { amount type status user { id } } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}
"""


async def purchase(api, org, *, as_=None, **fields):
    variables = {"input": {"userId": org.client.id, "credits": 10, "amountPaidCents": 4000,
                           **fields}}
    return (await api.data(PURCHASE, variables, as_=as_ or org.staff))["purchaseCredits"]


async def settle(api, member, transaction_id, *, complete: bool, failure_reason=None):
    settle_input = {"transactionId": transaction_id, "failureReason": failure_reason}
    data = await api.data(SETTLE, {"complete": settle_input, "fail": settle_input,
                                   "doComplete": complete}, as_=member)
    return data["completeCreditPurchase" if complete else "failCreditPurchase"]


# ---- moving credits -------------------------------------------------------------


async def test_staff_records_a_paid_purchase_for_a_client(api, org):
    payload = await purchase(api, org, currency="eur", paymentReference=" POS-77 ")

    entry = payload["creditTransaction"]
    assert payload["userErrors"] == []
    assert {key: entry[key] for key in entry if key not in ("id", "processedAt")} == {
        "type": "PURCHASE", "status": "COMPLETED", "amount": 10, "balanceAfter": 10,
        "amountPaidCents": 4000, "currency": "EUR", "paymentReference": "POS-77",
        "expiresAt": None, "description": "Purchase of 10 credits", "failureReason": None,
        "user": {"id": org.client.id}, "createdBy": {"id": org.staff.id}, "reverses": None,
    }
    assert payload["creditBalance"] == {
        "balance": 10, "lifetimePurchased": 10, "lifetimeUsed": 0, "lifetimeRefunded": 0,
        "lifetimeExpired": 0, "user": {"id": org.client.id}}


async def test_a_purchase_expires_after_the_organizations_credit_expiry_days(api, org):
    await api.data("mutation { updateOrganizationSettings(input: {creditExpiryDays: 30}) "
                   "{ userErrors { code } } }", as_=org.admin)
    before = datetime.now(UTC)

    payload = await purchase(api, org)

    expires_at = datetime.fromisoformat(payload["creditTransaction"]["expiresAt"])
    assert before + timedelta(days=30) <= expires_at <= datetime.now(UTC) + timedelta(days=30)


async def test_a_pending_purchase_is_credited_when_completed_and_only_once(api, org):
    pending = await purchase(api, org, status="PENDING")
    assert pending["creditTransaction"]["status"] == "PENDING"
    assert pending["creditBalance"]["balance"] == 0
    transaction_id = pending["creditTransaction"]["id"]

    completed = await settle(api, org.staff, transaction_id, complete=True)
    again = await settle(api, org.admin, transaction_id, complete=True)
    failed_late = await settle(api, org.admin, transaction_id, complete=False)

    assert completed == {"creditTransaction": {"status": "COMPLETED", "balanceAfter": 10,
                                               "failureReason": None},
                         "creditBalance": {"balance": 10}, "userErrors": []}
    refused = {"creditTransaction": None, "creditBalance": None,
               "userErrors": [{"code": "INVALID_STATE_TRANSITION",
                               "field": ["input", "transactionId"]}]}
    assert again == refused
    assert failed_late == refused


async def test_a_failed_purchase_is_never_credited_and_cannot_be_completed(api, org):
    pending = await purchase(api, org, status="PENDING")
    transaction_id = pending["creditTransaction"]["id"]

    failed = await settle(api, org.staff, transaction_id, complete=False,
                          failure_reason="Card declined")
    completed = await settle(api, org.staff, transaction_id, complete=True)

    assert failed == {"creditTransaction": {"status": "FAILED", "balanceAfter": None,
                                            "failureReason": "Card declined"},
                      "creditBalance": {"balance": 0}, "userErrors": []}
    assert completed["userErrors"] == [{"code": "INVALID_STATE_TRANSITION",
                                        "field": ["input", "transactionId"]}]


async def test_admin_adjusts_up_with_an_expiry_and_down_with_a_reason(api, org):
    expires_at = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    up = await api.data(ADJUST, {"input": {"userId": org.client.id, "amount": 5,
                                           "reason": " Goodwill ", "expiresAt": expires_at}},
                        as_=org.admin)
    down = await api.data(ADJUST, {"input": {"userId": org.client.id, "amount": -2,
                                             "reason": "Correction"}}, as_=org.admin)

    assert up["adjustCredits"] == {
        "creditTransaction": {"type": "ADMIN_ADJUSTMENT", "amount": 5, "description": "Goodwill",
                              "expiresAt": expires_at},
        "creditBalance": {"balance": 5}, "userErrors": []}
    assert down["adjustCredits"]["creditBalance"] == {"balance": 3}


async def test_an_adjustment_below_zero_is_insufficient_credits(api, org):
    down = await api.data(ADJUST, {"input": {"userId": org.client.id, "amount": -1,
                                             "reason": "Correction"}}, as_=org.admin)
    assert down["adjustCredits"]["userErrors"] == [
        {"code": "INSUFFICIENT_CREDITS", "field": ["input", "amount"]}]


# ---- who may do what ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["client", "professional"])
async def test_only_staff_and_admin_record_or_settle_purchases(api, db, org, role):
    member = getattr(org, role)
    pending = await grant(db, org.id, org.client.user.id, 3, pending=True)
    transaction_id = ids.encode("CreditTransaction", pending.transaction.id)

    bought = await api.post(PURCHASE, {"input": {"userId": org.client.id, "credits": 1,
                                                 "amountPaidCents": 0}}, as_=member)
    settle_input = {"transactionId": transaction_id}
    settled = await api.post(SETTLE, {"complete": settle_input, "fail": settle_input,
                                      "doComplete": True}, as_=member)

    assert error_codes(bought) == ["FORBIDDEN"]
    assert error_codes(settled) == ["FORBIDDEN"]
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 0


@pytest.mark.parametrize("role", ["staff", "professional", "client"])
async def test_only_an_admin_adjusts_credits(api, org, role):
    body = await api.post(ADJUST, {"input": {"userId": org.client.id, "amount": 5,
                                             "reason": "Because"}}, as_=getattr(org, role))
    assert error_codes(body) == ["FORBIDDEN"]


async def test_a_client_sees_only_their_own_balance_and_transactions(api, db, org):
    await grant(db, org.id, org.client.user.id, 4)
    await grant(db, org.id, org.other_client.user.id, 7)

    own = await api.data(BALANCE, as_=org.client)
    own_list = await api.data(TRANSACTIONS, as_=org.client)
    other = await api.post(BALANCE, {"userId": org.other_client.id}, as_=org.client)
    other_list = await api.post(TRANSACTIONS, {"userId": org.other_client.id}, as_=org.client)

    assert own == {"creditBalance": {"balance": 4, "lifetimePurchased": 4,
                                     "user": {"id": org.client.id}}}
    assert [edge["node"]["user"]["id"] for edge in own_list["creditTransactions"]["edges"]] == [
        org.client.id]
    assert error_codes(other) == ["NOT_FOUND"]
    assert error_codes(other_list) == ["NOT_FOUND"]


async def test_a_client_cannot_fetch_another_clients_transaction_by_id(api, db, org):
    posting = await grant(db, org.id, org.other_client.user.id, 7)
    global_id = ids.encode("CreditTransaction", posting.transaction.id)
    query = "query($id: ID!) { node(id: $id) { ... on CreditTransaction { amount } } }"

    assert error_codes(await api.post(query, {"id": global_id}, as_=org.client)) == ["NOT_FOUND"]
    assert await api.data(query, {"id": global_id}, as_=org.staff) == {"node": {"amount": 7}}


async def test_staff_sees_every_clients_balance_and_transactions(api, db, org):
    await grant(db, org.id, org.client.user.id, 4)
    await grant(db, org.id, org.other_client.user.id, 7)

    listed = await api.data(TRANSACTIONS, as_=org.staff)
    balance = await api.data(BALANCE, {"userId": org.other_client.id}, as_=org.staff)
    users = await api.data("{ users(role: CLIENT) { edges { node { id creditBalance "
                           "{ balance } } } } }", as_=org.staff)

    assert [edge["node"]["amount"] for edge in listed["creditTransactions"]["edges"]] == [7, 4]
    assert balance["creditBalance"]["balance"] == 7
    assert {edge["node"]["id"]: edge["node"]["creditBalance"]
            for edge in users["users"]["edges"]} == {
        org.client.id: {"balance": 4}, org.other_client.id: {"balance": 7}}


async def test_a_professional_cannot_see_balances_or_transactions(api, db, org):
    await grant(db, org.id, org.client.user.id, 4)

    balance = await api.post(BALANCE, {"userId": org.client.id}, as_=org.professional)
    listed = await api.post(TRANSACTIONS, as_=org.professional)
    me = await api.data("{ me { creditBalance { balance } } }", as_=org.professional)

    assert error_codes(balance) == ["FORBIDDEN"]
    assert error_codes(listed) == ["FORBIDDEN"]
    assert me == {"me": {"creditBalance": None}}


async def test_a_client_without_credits_has_a_zero_balance(api, org):
    data = await api.data("{ me { creditBalance { balance lifetimeUsed expiringBefore } } }",
                          as_=org.client)
    assert data == {"me": {"creditBalance": {"balance": 0, "lifetimeUsed": 0,
                                             "expiringBefore": 0}}}


async def test_a_client_is_not_shown_which_staff_member_recorded_an_entry(api, db, org):
    await purchase(api, org)
    data = await api.data("{ creditTransactions { edges { node { createdBy { id } } } } }",
                          as_=org.client)
    assert data["creditTransactions"]["edges"] == [{"node": {"createdBy": None}}]


# ---- reading ---------------------------------------------------------------------------


async def test_transactions_are_listed_newest_first_filtered_and_paged(api, db, org):
    client = org.client.user
    for credits in (1, 2, 3):
        await grant(db, org.id, client.id, credits)
    await grant(db, org.id, client.id, 9, pending=True)

    first_page = await api.data(TRANSACTIONS, {"userId": org.client.id, "types": ["PURCHASE"],
                                               "statuses": ["COMPLETED"], "first": 2},
                                as_=org.staff)
    connection = first_page["creditTransactions"]
    second_page = await api.data(TRANSACTIONS, {"userId": org.client.id,
                                                "statuses": ["COMPLETED"], "first": 2,
                                                "after": connection["pageInfo"]["endCursor"]},
                                 as_=org.staff)
    pending = await api.data(TRANSACTIONS, {"statuses": ["PENDING"]}, as_=org.client)

    assert [edge["node"]["amount"] for edge in connection["edges"]] == [3, 2]
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["totalCount"] == 3
    assert [edge["node"]["amount"] for edge in second_page["creditTransactions"]["edges"]] == [1]
    assert [edge["node"]["amount"] for edge in pending["creditTransactions"]["edges"]] == [9]


async def test_expiring_before_counts_credits_left_in_lots_expiring_before_then(api, db, org):
    now = datetime.now(UTC)
    client = org.client.user
    await grant(db, org.id, client.id, 2, expires_at=now + timedelta(days=10), now=now)
    await grant(db, org.id, client.id, 3, expires_at=now + timedelta(days=40), now=now)
    await grant(db, org.id, client.id, 4, now=now)

    query = """query($at: DateTime) { creditBalance {
        balance default: expiringBefore soon: expiringBefore(at: $at) } }"""
    data = await api.data(query, {"at": (now + timedelta(days=5)).isoformat()}, as_=org.client)

    assert data == {"creditBalance": {"balance": 9, "default": 2, "soon": 0}}


async def test_a_refund_names_the_debit_it_reverses(api, db, org):
    from app.credits import ledger

    await grant(db, org.id, org.client.user.id, 2)
    async with db.transaction(org.id) as session:
        spent = await ledger.debit(session, user_id=org.client.user.id, amount=1,
                                   now=datetime.now(UTC))
        await ledger.refund_debit(session, debit_id=spent.transaction.id, now=datetime.now(UTC))

    data = await api.data('{ creditTransactions(types: [CANCELLATION_REFUND]) { edges { node '
                          '{ amount reverses { id amount type } } } } }', as_=org.client)

    assert data["creditTransactions"]["edges"] == [{"node": {"amount": 1, "reverses": {
        "id": ids.encode("CreditTransaction", spent.transaction.id), "amount": -1,
        "type": "APPOINTMENT_DEBIT"}}}]


# ---- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "field"), [
    ({"credits": 0}, "credits"),
    ({"credits": -5}, "credits"),
    ({"amountPaidCents": -1}, "amountPaidCents"),
    ({"currency": "ABC"}, "currency"),
    ({"currency": "XTS"}, "currency"),
    ({"currency": "US"}, "currency"),
    ({"status": "FAILED"}, "status"),
    ({"paymentReference": "x" * 201}, "paymentReference"),
])
async def test_a_purchase_with_bad_input_is_refused_and_changes_nothing(api, db, org, fields,
                                                                          field):
    payload = await purchase(api, org, **fields)

    assert payload == {"creditTransaction": None, "creditBalance": None,
                       "userErrors": [{"code": "VALIDATION_FAILED", "field": ["input", field]}]}
    assert await balance_of(db, org.id, org.client.user.id) is None


@pytest.mark.parametrize(("fields", "field"), [
    ({"reason": ""}, "reason"),
    ({"reason": "   "}, "reason"),
    ({"amount": 0}, "amount"),
    ({"amount": -1, "expiresAt": "2099-01-01T00:00:00+00:00"}, "expiresAt"),
    ({"expiresAt": "2001-01-01T00:00:00+00:00"}, "expiresAt"),
])
async def test_an_adjustment_with_bad_input_is_refused(api, org, fields, field):
    variables = {"input": {"userId": org.client.id, "amount": 2, "reason": "Why", **fields}}
    data = await api.data(ADJUST, variables, as_=org.admin)
    assert data["adjustCredits"]["userErrors"] == [
        {"code": "VALIDATION_FAILED", "field": ["input", field]}]


async def test_credits_belong_to_clients_only(api, org):
    payload = await purchase(api, org, userId=org.professional.id)
    assert payload["userErrors"] == [{"code": "VALIDATION_FAILED", "field": ["input", "userId"]}]


async def test_another_organizations_user_or_purchase_is_not_found(api, db, org, other_org):
    pending = await grant(db, other_org.id, other_org.client.user.id, 3, pending=True)
    foreign_purchase = ids.encode("CreditTransaction", pending.transaction.id)

    bought = await purchase(api, org, userId=other_org.client.id)
    adjusted = await api.data(ADJUST, {"input": {"userId": other_org.client.id, "amount": 1,
                                                 "reason": "x"}}, as_=org.admin)
    settled = await settle(api, org.staff, foreign_purchase, complete=True)
    balance = await api.post(BALANCE, {"userId": other_org.client.id}, as_=org.staff)

    assert bought["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "userId"]}]
    assert adjusted["adjustCredits"]["userErrors"] == [
        {"code": "NOT_FOUND", "field": ["input", "userId"]}]
    assert settled["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "transactionId"]}]
    assert error_codes(balance) == ["NOT_FOUND"]
    assert (await balance_of(db, other_org.id, other_org.client.user.id)).balance == 0


async def test_a_malformed_id_is_not_found(api, org):
    payload = await purchase(api, org, userId="not-an-id")
    assert payload["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "userId"]}]
