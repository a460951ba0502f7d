"""The Stripe stand-in itself, driven through the real `stripe` SDK as the app drives it."""

import json
import threading
import time
import urllib.request

import pytest
import stripe
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from tests.stripe_stub import StripeStub

SUCCESS = "http://app.test/billing/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://app.test/billing/cancel"


@pytest.fixture(scope="session")
def stub_server():
    stub = StripeStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def stub(stub_server):
    stub_server.reset()
    yield stub_server
    assert stub_server.server_errors == []
    stub_server.reset()


def make_client(stub, timeout=10, retries=2):
    http = stripe.RequestsClient(timeout=timeout)
    client = stripe.StripeClient(
        "sk_test_stub",
        base_addresses={"api": stub.base_url},
        max_network_retries=retries,
        http_client=http,
    )
    return client, http


@pytest.fixture
def client(stub):
    client, http = make_client(stub)
    yield client
    http.close()


@pytest.fixture
def inbox(stub):
    """Webhooks delivered to a callable, verified the way the app will verify them."""
    received = []

    def receive(payload, headers):
        event = stripe.Webhook.construct_event(
            payload, headers["Stripe-Signature"], stub.webhook_secret
        )
        assert headers["Content-Type"] == "application/json"
        received.append(event)
        return 200

    stub.deliver_to = receive
    return received


@pytest.fixture
def plans(client):
    product = client.v1.products.create(params={"name": "Supporter", "metadata": {"tier": "s"}})

    def price(amount, interval="month", key=None):
        params = {
            "product": product.id,
            "unit_amount": amount,
            "currency": "eur",
            "recurring": {"interval": interval},
        }
        if key:
            params["lookup_key"] = key
        return client.v1.prices.create(params=params)

    return {"monthly": price(1000, key="supporter_monthly"), "big": price(3000), "price": price}


def subscribe(client, stub, price, **extra):
    params = {
        "mode": "subscription",
        "line_items": [{"price": price.id, "quantity": 1}],
        "success_url": SUCCESS,
        "cancel_url": CANCEL,
        "customer_email": "reader@example.org",
        **extra,
    }
    session = client.v1.checkout.sessions.create(params=params)
    done = stub.complete_checkout(session.id)
    return client.v1.subscriptions.retrieve(done["subscription"])


def types(events):
    return [event["type"] for event in events]


# --- customers, auth, idempotency ------------------------------------------------------------


def test_customer_create_is_idempotent(client, stub):
    params = {"email": "a@example.org", "name": "Ada", "metadata": {"user_id": "7"}}
    first = client.v1.customers.create(params=params, options={"idempotency_key": "signup-7"})
    again = client.v1.customers.create(params=params, options={"idempotency_key": "signup-7"})
    assert first.id == again.id and first.id.startswith("cus_")
    assert first.object == "customer" and first.metadata["user_id"] == "7"
    assert len(client.v1.customers.list().data) == 1
    assert [r["idempotency_key"] for r in stub.requests[:2]] == ["signup-7", "signup-7"]
    assert stub.requests[0]["params"] == params
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(
            params={"email": "b@example.org"}, options={"idempotency_key": "signup-7"}
        )
    updated = client.v1.customers.update(
        first.id, params={"name": "Ada L.", "metadata": {"user_id": ""}}
    )
    assert updated.name == "Ada L." and updated.metadata.to_dict() == {}
    assert client.v1.customers.retrieve(first.id).name == "Ada L."


def test_unknown_ids_and_auth(client, stub):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.retrieve("cus_nope")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    bad, http = make_client(stub)
    try:
        with pytest.raises(stripe.AuthenticationError):
            bad.v1.customers.retrieve("cus_nope", options={"api_key": "pk_test_public"})
    finally:
        http.close()
    answer = Client(stub).get("/v1/customers/cus_x")
    assert answer.status_code == 401 and answer.json["error"]["type"] == "invalid_request_error"


# --- checkout --------------------------------------------------------------------------------


def test_checkout_session_create_validate_and_expand(client, stub, plans):
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": plans["monthly"].id, "quantity": 1}],
            "success_url": SUCCESS,
            "cancel_url": CANCEL,
            "client_reference_id": "user-7",
            "metadata": {"user_id": "7"},
            "subscription_data": {"metadata": {"user_id": "7"}},
            "customer_email": "reader@example.org",
        }
    )
    assert session.object == "checkout.session" and session.id.startswith("cs_test_")
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.url == f"{stub.base_url}/pay/{session.id}"
    assert session.amount_total == 1000 and session.currency == "eur"
    assert stub.requests[-1]["params"]["line_items"] == [
        {"price": plans["monthly"].id, "quantity": "1"}
    ]
    for missing, param in (
        ("line_items", "line_items"),
        ("mode", "mode"),
        ("success_url", "success_url"),
    ):
        params = {
            "mode": "payment",
            "success_url": SUCCESS,
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 500,
                        "product_data": {"name": "Gift"},
                    },
                    "quantity": 1,
                }
            ],
        }
        del params[missing]
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.checkout.sessions.create(params=params)
        assert refused.value.http_status == 400 and refused.value.param == param
    stub.complete_checkout(session.id)
    full = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["subscription", "line_items", "customer"]}
    )
    assert (
        full.subscription.object == "subscription" and full.subscription.metadata["user_id"] == "7"
    )
    assert full.customer.email == "reader@example.org"
    assert full.line_items.data[0].price.id == plans["monthly"].id
    assert full.client_reference_id == "user-7" and full.metadata["user_id"] == "7"


def test_inline_recurring_price_data(client, stub):
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 1200,
                        "product_data": {"name": "Patron"},
                        "recurring": {"interval": "year"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": SUCCESS,
            "customer": client.v1.customers.create(params={"email": "p@example.org"}).id,
        }
    )
    sub = client.v1.subscriptions.retrieve(stub.complete_checkout(session.id)["subscription"])
    item = sub["items"].data[0]
    assert item.price.recurring.interval == "year" and item.price.unit_amount == 1200
    assert 365 <= (item.current_period_end - item.current_period_start) // 86400 <= 366
    assert "current_period_end" not in sub


def test_complete_checkout_emits_signed_events_in_order(client, stub, plans, inbox):
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": plans["monthly"].id, "quantity": 1}],
            "success_url": SUCCESS,
            "customer_email": "new@example.org",
            "subscription_data": {"metadata": {"user_id": "9"}},
        }
    )
    done = stub.complete_checkout(session.id)
    assert types(stub.outbox) == [
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    ]
    assert inbox == []
    assert stub.deliver() == [200, 200, 200]
    assert stub.outbox == [] and types(inbox) == types(stub.events)
    sub, invoice, completed = (event.data.object for event in inbox)
    assert sub.status == "active" and sub.metadata["user_id"] == "9"
    assert sub["items"].data[0].price.id == plans["monthly"].id
    assert invoice.status == "paid" and invoice.billing_reason == "subscription_create"
    assert invoice.amount_paid == 1000
    # Since API 2025-03-31 the invoice names its subscription under `parent` only.
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.to_dict().get("subscription") is None
    assert completed.payment_status == "paid" and completed.subscription == sub.id
    assert completed.customer == sub.customer == done["customer"]
    assert client.v1.customers.retrieve(sub.customer).email == "new@example.org"
    assert [d.status for d in stub.deliveries] == [200, 200, 200]
    header = stub.sign(b"{}", timestamp=1_700_000_000, secret="whsec_x")
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64


def test_payment_mode_donation_and_async_payment(client, stub, inbox):
    params = {
        "mode": "payment",
        "submit_type": "donate",
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 2500,
                    "product_data": {"name": "Sponsorship"},
                },
                "quantity": 2,
            }
        ],
        "success_url": SUCCESS,
        "cancel_url": CANCEL,
        "payment_intent_data": {"metadata": {"sponsor": "yes"}},
        "metadata": {"kind": "sponsorship"},
    }
    session = client.v1.checkout.sessions.create(params=params)
    stub.auto_deliver = True
    done = stub.complete_checkout(session.id, email="guest@example.org", name="Guest")
    assert types(inbox) == [
        "payment_intent.succeeded",
        "charge.succeeded",
        "checkout.session.completed",
    ]
    assert done["payment_status"] == "paid" and done["amount_total"] == 5000
    assert done["customer"] is None and done["customer_details"]["email"] == "guest@example.org"
    intent = client.v1.payment_intents.retrieve(
        done["payment_intent"], params={"expand": ["latest_charge"]}
    )
    assert intent.status == "succeeded" and intent.metadata["sponsor"] == "yes"
    assert intent.latest_charge.paid and intent.latest_charge.amount == 5000

    later = client.v1.checkout.sessions.create(params=params)
    pending = stub.complete_checkout(later.id, paid=False)
    assert pending["status"] == "complete" and pending["payment_status"] == "unpaid"
    assert types(inbox)[-1] == "checkout.session.completed"
    stub.async_payment(later.id, succeeded=True)
    assert types(inbox)[-1] == "checkout.session.async_payment_succeeded"
    assert client.v1.checkout.sessions.retrieve(later.id).payment_status == "paid"
    third = client.v1.checkout.sessions.create(params=params)
    stub.complete_checkout(third.id, paid=False)
    stub.async_payment(third.id, succeeded=False)
    assert types(inbox)[-1] == "checkout.session.async_payment_failed"


# --- subscriptions and previews --------------------------------------------------------------


def test_subscription_cancel_at_period_end_and_price_change(client, stub, plans):
    sub = subscribe(client, stub, plans["monthly"])
    stub.outbox.clear()
    item = sub["items"].data[0]
    updated = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert updated.cancel_at_period_end and updated.cancel_at == item.current_period_end
    event = stub.outbox[-1]
    assert event["type"] == "customer.subscription.updated"
    assert event["data"]["previous_attributes"]["cancel_at_period_end"] is False
    assert event["request"]["id"] and event["request"]["idempotency_key"]
    resumed = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": False})
    assert not resumed.cancel_at_period_end and resumed.cancel_at is None

    quiet = client.v1.subscriptions.update(
        sub.id,
        params={"items": [{"id": item.id, "price": plans["big"].id}], "proration_behavior": "none"},
    )
    assert (
        quiet["items"].data[0].price.id == plans["big"].id
        and quiet.latest_invoice == sub.latest_invoice
    )
    stub.outbox.clear()
    upgraded = client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [
                {
                    "id": item.id,
                    "price_data": {
                        "currency": "eur",
                        "product": plans["big"].product,
                        "unit_amount": 5000,
                        "recurring": {"interval": "month"},
                    },
                }
            ],
            "proration_behavior": "always_invoice",
            "expand": ["latest_invoice"],
        },
    )
    assert types(stub.outbox) == ["customer.subscription.updated", "invoice.paid"]
    assert upgraded.latest_invoice.billing_reason == "subscription_update"
    assert 1999 <= upgraded.latest_invoice.amount_paid <= 2000
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled" and canceled.ended_at
    assert stub.outbox[-1]["type"] == "customer.subscription.deleted"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})


def test_subscription_list_filters_and_paginates(client, stub, plans):
    subs = [subscribe(client, stub, plans["monthly"]) for _ in range(3)]
    client.v1.subscriptions.cancel(subs[0].id)
    assert [s.id for s in client.v1.subscriptions.list().data] == [subs[2].id, subs[1].id]
    everything = client.v1.subscriptions.list(params={"status": "all", "limit": 2})
    assert everything.has_more and len(everything.data) == 2
    rest = client.v1.subscriptions.list(
        params={"status": "all", "starting_after": everything.data[-1].id}
    )
    assert [s.id for s in rest.data] == [subs[0].id] and not rest.has_more
    assert (
        len(
            list(
                client.v1.subscriptions.list(
                    params={"status": "all", "limit": 1}
                ).auto_paging_iter()
            )
        )
        == 3
    )
    mine = client.v1.subscriptions.list(params={"customer": subs[1].customer, "status": "active"})
    assert [s.id for s in mine.data] == [subs[1].id]


def test_preview_proration_amounts(client, stub, plans):
    stub.clock = 1_767_225_600  # 2026-01-01T00:00:00Z: January has 31 days
    sub = subscribe(client, stub, plans["monthly"])
    item = sub["items"].data[0]
    assert item.current_period_end - item.current_period_start == 31 * 86400
    middle = item.current_period_start + (item.current_period_end - item.current_period_start) // 2

    def preview(price, behavior):
        return client.v1.invoices.create_preview(
            params={
                "customer": sub.customer,
                "subscription": sub.id,
                "subscription_details": {
                    "items": [{"id": item.id, "price": price.id}],
                    "proration_behavior": behavior,
                    "proration_date": middle,
                },
            }
        )

    up = preview(plans["big"], "always_invoice")
    assert up.object == "invoice" and up.id.startswith("upcoming_")
    assert up.amount_due == 1000 and up.currency == "eur"
    assert sum(line.amount for line in up.lines.data) == 1000
    assert [line.parent.subscription_item_details.proration for line in up.lines.data] == [
        True,
        True,
    ]
    down = preview(plans["price"](400), "always_invoice")
    assert down.amount_due == 0 and down.total == -300
    nxt = preview(plans["big"], "create_prorations")
    assert nxt.amount_due == 1000 + 3000
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == plans["monthly"].id
    stub.clock = middle
    client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": item.id, "price": plans["big"].id}],
            "proration_behavior": "create_prorations",
        },
    )
    renewal = stub.pay_renewal(sub.id)
    assert (
        renewal["amount_paid"] == 3000 + 1000 and renewal["billing_reason"] == "subscription_cycle"
    )


def test_billing_portal_session(client, stub, plans):
    sub = subscribe(client, stub, plans["monthly"])
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": sub.customer, "return_url": "http://app.test/account"}
    )
    assert portal.url == f"{stub.base_url}/portal/{portal.id}" and portal.customer == sub.customer
    page = Client(stub).get(f"/portal/{portal.id}")
    assert "Test billing portal" in page.text and 'href="http://app.test/account"' in page.text
    answer = Client(stub).post(
        f"/portal/{portal.id}", data={"subscription": sub.id, "action": "cancel"}
    )
    assert answer.status_code == 303
    assert client.v1.subscriptions.retrieve(sub.id).cancel_at_period_end
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.billing_portal.sessions.create(params={"customer": "cus_missing"})


def test_renewals_failures_and_endings(client, stub, plans):
    sub = subscribe(client, stub, plans["monthly"])
    end = sub["items"].data[0].current_period_end
    stub.outbox.clear()
    invoice = stub.pay_renewal(sub.id)
    assert types(stub.outbox) == ["invoice.paid", "customer.subscription.updated"]
    renewed = client.v1.subscriptions.retrieve(sub.id)
    assert renewed["items"].data[0].current_period_start == end
    assert renewed.latest_invoice == invoice["id"]
    stub.outbox.clear()
    stub.fail_payment(sub.id)
    failed = stub.fail_payment(sub.id)
    assert failed["status"] == "open" and failed["attempt_count"] == 2
    assert types(stub.outbox) == ["invoice.payment_failed", "customer.subscription.updated"] * 2
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    stub.exhaust_retries(sub.id, final_status="unpaid")
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"
    stub.exhaust_retries(sub.id)
    assert stub.outbox[-1]["type"] == "customer.subscription.deleted"
    assert stub.outbox[-1]["data"]["object"]["cancellation_details"]["reason"] == "payment_failed"

    other = subscribe(client, stub, plans["monthly"])
    with pytest.raises(ValueError):
        stub.cancel_at_period_end_reached(other.id)
    client.v1.subscriptions.update(other.id, params={"cancel_at_period_end": True})
    ended = stub.cancel_at_period_end_reached(other.id)
    assert (
        ended["status"] == "canceled" and stub.outbox[-1]["type"] == "customer.subscription.deleted"
    )


# --- products, prices, events ----------------------------------------------------------------


def test_prices_lookup_keys_and_transfer(client, stub, plans):
    with pytest.raises(stripe.InvalidRequestError) as taken:
        plans["price"](1500, key="supporter_monthly")
    assert taken.value.param == "lookup_key"
    newer = client.v1.prices.create(
        params={
            "product": plans["monthly"].product,
            "unit_amount": 1500,
            "currency": "eur",
            "recurring": {"interval": "month"},
            "lookup_key": "supporter_monthly",
            "transfer_lookup_key": True,
        }
    )
    assert client.v1.prices.retrieve(plans["monthly"].id).lookup_key is None
    plans["price"](12000, "year", key="supporter_yearly")
    found = client.v1.prices.list(
        params={
            "lookup_keys": ["supporter_monthly", "supporter_yearly"],
            "active": True,
            "expand": ["data.product"],
        }
    )
    assert sorted(p.lookup_key for p in found.data) == ["supporter_monthly", "supporter_yearly"]
    assert found.data[0].product.name == "Supporter"
    assert [p.id for p in found.data if p.lookup_key == "supporter_monthly"] == [newer.id]
    client.v1.prices.update(newer.id, params={"active": False, "metadata": {"old": "1"}})
    found = client.v1.prices.list(params={"lookup_keys": ["supporter_monthly"], "active": True})
    assert found.data == []
    product = client.v1.products.update(newer.product, params={"name": "Friend", "active": False})
    assert (product.name, product.active) == ("Friend", False)
    assert client.v1.products.retrieve(newer.product).name == "Friend"


def test_events_list_filters(client, stub, plans):
    stub.clock = 1_800_000_000
    first = subscribe(client, stub, plans["monthly"])
    stub.clock = 1_800_000_500
    second = subscribe(client, stub, plans["monthly"])
    events = client.v1.events.list(params={"limit": 100})
    assert len(events.data) == 6 and events.data[0].type == "checkout.session.completed"
    assert events.data[0].data.object.subscription == second.id
    assert events.data[0].api_version and events.data[0].livemode is False
    created = client.v1.events.list(params={"type": "customer.subscription.created"})
    assert [e.data.object.id for e in created.data] == [second.id, first.id]
    both = client.v1.events.list(
        params={"types": ["invoice.paid", "customer.subscription.created"]}
    )
    assert len(both.data) == 4
    recent = client.v1.events.list(params={"created": {"gte": 1_800_000_500}})
    assert len(recent.data) == 3
    page = client.v1.events.list(params={"limit": 4})
    assert (
        page.has_more
        and len(client.v1.events.list(params={"starting_after": page.data[-1].id}).data) == 2
    )
    assert client.v1.events.retrieve(page.data[0].id).id == page.data[0].id


# --- payments --------------------------------------------------------------------------------


def paid_charge(client, stub, amount=4000):
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": amount,
                        "product_data": {"name": "Ad"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": SUCCESS,
        }
    )
    done = stub.complete_checkout(session.id)
    return client.v1.payment_intents.retrieve(done["payment_intent"]).latest_charge


def test_refunds_accumulate(client, stub):
    charge_id = paid_charge(client, stub)
    stub.outbox.clear()
    refund = stub.refund(charge_id, amount=1000)
    assert refund["amount"] == 1000 and refund["status"] == "succeeded"
    assert types(stub.outbox) == ["charge.refunded", "refund.created"]
    assert stub.outbox[0]["data"]["object"]["amount_refunded"] == 1000
    charge = client.v1.charges.retrieve(charge_id)
    assert charge.amount_refunded == 1000 and not charge.refunded
    intent = charge.payment_intent
    api_refund = client.v1.refunds.create(params={"payment_intent": intent})
    assert api_refund.amount == 3000
    charge = client.v1.charges.retrieve(charge_id)
    assert charge.amount_refunded == 4000 and charge.refunded
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"charge": charge_id})


def test_disputes(client, stub):
    charge_id = paid_charge(client, stub)
    dispute_id = stub.dispute(charge_id)
    assert stub.outbox[-1]["type"] == "charge.dispute.created"
    assert client.v1.charges.retrieve(charge_id).disputed
    stub.close_dispute(dispute_id, status="won")
    assert stub.outbox[-1]["type"] == "charge.dispute.closed"
    assert stub.outbox[-1]["data"]["object"]["status"] == "won"


# --- faults ----------------------------------------------------------------------------------


def test_fail_next_exhausts_sdk_retries(client, stub):
    stub.fail_next(1)
    assert client.v1.customers.create(params={"email": "r@example.org"}).id  # retried, fine
    assert (
        len(stub.requests) == 2
        and stub.requests[0]["idempotency_key"] == stub.requests[1]["idempotency_key"]
    )
    stub.fail_next(3)
    with pytest.raises(stripe.APIError) as failed:
        client.v1.customers.create(params={"email": "r@example.org"})
    assert failed.value.http_status == 500
    assert len(stub.requests) == 5
    assert len(client.v1.customers.list().data) == 1


def test_timeout_next_gives_connection_error(stub):
    client, http = make_client(stub, timeout=0.5)
    try:
        stub.timeout_next(3, seconds=1.0)
        with pytest.raises(stripe.APIConnectionError):
            client.v1.customers.retrieve("cus_slow")
        assert len(stub.requests) == 3
    finally:
        http.close()


# --- webhook delivery ------------------------------------------------------------------------


def test_deliver_order_duplicate_and_drop(client, stub, plans, inbox):
    subscribe(client, stub, plans["monthly"])
    sent = list(stub.outbox)
    assert stub.deliver(order=[2, 0], duplicate=2) == [200] * 4
    assert [e.id for e in inbox] == [sent[2]["id"]] * 2 + [sent[0]["id"]] * 2
    assert [e["id"] for e in stub.outbox] == [sent[1]["id"]]
    assert stub.deliver(drop=[0]) == [] and stub.outbox == []
    assert stub.deliver([sent[1]["id"]]) == [200]
    assert [d.type for d in stub.deliveries][-1] == "invoice.paid"


def test_webhook_url_over_http(client, stub, plans):
    received = []

    @Request.application
    def endpoint(request):
        stripe.Webhook.construct_event(
            request.get_data(), request.headers["Stripe-Signature"], stub.webhook_secret
        )
        received.append(json.loads(request.get_data())["type"])
        return Response("", 200 if len(received) < 3 else 400)

    server = make_server("127.0.0.1", 0, endpoint, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        stub.webhook_url = f"http://127.0.0.1:{server.server_port}/stripe/webhook"
        stub.auto_deliver = True
        subscribe(client, stub, plans["monthly"])
        assert received == [
            "customer.subscription.created",
            "invoice.paid",
            "checkout.session.completed",
        ]
        assert [d.status for d in stub.deliveries] == [200, 200, 400]
        assert stub.outbox == []
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- browser pages ---------------------------------------------------------------------------


def test_pay_page_guest_flow(client, stub, inbox):
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "submit_type": "donate",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 1500,
                        "product_data": {"name": "Gift"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": SUCCESS,
            "cancel_url": CANCEL,
        }
    )
    browser = Client(stub)
    page = browser.get(f"/pay/{session.id}")
    assert page.status_code == 200 and "Test checkout" in page.text
    assert "15.00 EUR" in page.text and ">Pay</button>" in page.text and 'name="email"' in page.text
    assert (
        browser.post(f"/pay/{session.id}", data={"action": "pay", "email": ""}).status_code == 400
    )
    cancel = browser.post(f"/pay/{session.id}", data={"action": "cancel"})
    assert cancel.status_code == 303 and cancel.headers["Location"] == CANCEL
    stub.auto_deliver = True
    answer = browser.post(f"/pay/{session.id}", data={"action": "pay", "email": "fan@example.org"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == SUCCESS.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert types(inbox)[-1] == "checkout.session.completed"
    assert inbox[-1].data.object.customer_details.email == "fan@example.org"
    assert browser.get(f"/pay/{session.id}").status_code == 410


def test_pay_page_over_real_http(client, stub, plans):
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": plans["monthly"].id, "quantity": 1}],
            "success_url": SUCCESS,
            "customer": client.v1.customers.create(params={"email": "c@example.org"}).id,
        }
    )
    with urllib.request.urlopen(session.url, timeout=5) as page:  # noqa: S310
        text = page.read().decode()
    assert "Test checkout" in text and "10.00 EUR per month" in text and 'name="email"' not in text
    started = time.time()
    stub.complete_checkout(session.id)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"
    assert time.time() - started < 5


# --- what real Stripe refuses ----------------------------------------------------------------


def refusal(call) -> dict:
    """The error body of a call the stand-in must refuse as Stripe does (400, invalid request)."""
    with pytest.raises(stripe.InvalidRequestError) as refused:
        call()
    assert refused.value.http_status == 400
    error = refused.value.json_body["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    return error


def session_params(**changes) -> dict:
    price_data = {"currency": "eur", "unit_amount": 2500, "product_data": {"name": "Gift"}}
    return {
        "mode": "payment",
        "line_items": [{"price_data": price_data, "quantity": 1}],
        "success_url": SUCCESS,
        **changes,
    }


def test_a_reused_idempotency_key_with_other_parameters_is_refused_as_stripe_does(stub):
    form = Client(stub)
    headers = {"Authorization": "Bearer sk_test_stub", "Idempotency-Key": "k-1"}
    assert form.post("/v1/customers", data={"name": "Ada"}, headers=headers).status_code == 200
    again = form.post("/v1/customers", data={"name": "Ada"}, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    refused = form.post("/v1/customers", data={"name": "Ada L."}, headers=headers)
    assert refused.status_code == 400
    assert refused.json["error"]["type"] == "idempotency_error"
    assert "same parameters" in refused.json["error"]["message"]


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        (
            {"line_items": [{"price": "price_x", "quantity": 1, "bogus": "1"}]},
            "line_items[0][bogus]",
        ),
        ({"subscription_data": {"bogus": "1"}}, "subscription_data[bogus]"),
        ({"payment_intent_data": {"metadata": {}, "bogus": "1"}}, "payment_intent_data[bogus]"),
        (
            {
                "line_items": [
                    {"price_data": {"currency": "eur", "unit_amount": 1, "bogus": 1}, "quantity": 1}
                ]
            },
            "line_items[0][price_data][bogus]",
        ),
        (
            {
                "line_items": [
                    {
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": 1,
                            "product_data": {"x": 1},
                        },
                        "quantity": 1,
                    }
                ]
            },
            "line_items[0][price_data][product_data][x]",
        ),
        ({"success_url": {"bogus": "1"}}, "success_url[bogus]"),
    ],
)
def test_nested_unknown_keys_are_refused(client, stub, changes, param):
    error = refusal(lambda: client.v1.checkout.sessions.create(params=session_params(**changes)))
    assert (error["param"], error["code"]) == (param, "parameter_unknown")
    assert error["message"] == f"Received unknown parameter: {param}"
    assert stub._all("checkout.session") == [] and stub._all("price") == []


def test_nested_unknown_keys_are_refused_on_updates_and_previews(client, stub, plans):
    sub = subscribe(client, stub, plans["monthly"])
    item = sub["items"]["data"][0]["id"]
    error = refusal(
        lambda: client.v1.subscriptions.update(
            sub.id, params={"items": [{"id": item, "price": plans["big"].id, "bogus": "1"}]}
        )
    )
    assert error["param"] == "items[0][bogus]"
    assert client.v1.subscriptions.retrieve(sub.id)["items"]["data"][0]["price"]["id"] == (
        plans["monthly"].id
    )
    error = refusal(
        lambda: client.v1.invoices.create_preview(
            params={"subscription": sub.id, "subscription_details": {"bogus": "1"}}
        )
    )
    assert error["param"] == "subscription_details[bogus]"


@pytest.mark.parametrize(
    ("resource", "params", "param"),
    [
        ("customers", {"bogus": "1"}, "bogus"),
        ("prices", {"lookup_keys": ["a"], "bogus": "1"}, "bogus"),
        ("products", {"metadata": {"a": "b"}}, "metadata"),
        ("subscriptions", {"status": "all", "bogus": "1"}, "bogus"),
        ("events", {"created": {"gte": 1, "since": 2}}, "created[since]"),
        ("charges", {"amount": 5}, "amount"),
        ("invoices", {"customer": "cus_x", "paid": "true"}, "paid"),
    ],
)
def test_unknown_parameters_on_list_endpoints_are_refused(client, resource, params, param):
    error = refusal(lambda: getattr(client.v1, resource).list(params=params))
    assert error["param"] == param and error["code"] == "parameter_unknown"


def test_known_list_parameters_are_accepted(client, plans):
    assert client.v1.prices.list(params={"lookup_keys": ["supporter_monthly"], "limit": 5}).data
    events = client.v1.events.list(params={"types": ["invoice.*"], "created": {"gte": 0}})
    assert events.object == "list"
    assert client.v1.subscriptions.list(params={"status": "all", "limit": 100}).data == []


def metadata_of(n_keys=1, key_length=4, value_length=5) -> dict:
    return {f"{i:0{key_length}d}": "v" * value_length for i in range(n_keys)}


@pytest.mark.parametrize(
    ("metadata", "refused_param"),
    [
        (metadata_of(n_keys=51), "metadata"),
        (metadata_of(key_length=41), "metadata[" + "0" * 41 + "]"),
        (metadata_of(value_length=501), "metadata[0000]"),
    ],
)
def test_metadata_beyond_stripes_limits_is_refused(client, stub, metadata, refused_param):
    error = refusal(lambda: client.v1.customers.create(params={"metadata": metadata}))
    assert error["param"] == refused_param
    nested = {"mode": "subscription", "subscription_data": {"metadata": metadata}}
    error = refusal(lambda: client.v1.checkout.sessions.create(params=session_params(**nested)))
    assert error["param"] == "subscription_data[metadata]" + refused_param.removeprefix("metadata")
    assert stub._all("customer") == []


def test_metadata_at_stripes_limits_is_accepted(client):
    for metadata in (
        metadata_of(n_keys=50),
        metadata_of(key_length=40),
        metadata_of(value_length=500),
    ):
        assert (
            client.v1.customers.create(params={"metadata": metadata}).metadata.to_dict() == metadata
        )


@pytest.mark.parametrize("currency", ["zzz", "EURO", "xx"])
def test_unknown_currencies_are_refused(client, stub, plans, currency):
    product = plans["monthly"].product
    error = refusal(
        lambda: client.v1.prices.create(
            params={"product": product, "unit_amount": 100, "currency": currency}
        )
    )
    assert error["param"] == "currency" and "Invalid currency" in error["message"]
    line = {"price_data": {"currency": currency, "unit_amount": 100, "product": product}}
    error = refusal(
        lambda: client.v1.checkout.sessions.create(
            params=session_params(line_items=[{**line, "quantity": 1}])
        )
    )
    assert error["param"] == "line_items[0][price_data][currency]"


def test_real_currencies_are_accepted(client, plans):
    for currency in ("usd", "eur", "gbp", "jpy", "chf", "sek"):
        price = client.v1.prices.create(
            params={"product": plans["monthly"].product, "unit_amount": 100, "currency": currency}
        )
        assert price.currency == currency


@pytest.mark.parametrize("amount", [100_000_000, 10**12])
def test_amounts_above_stripes_maximum_are_refused(client, stub, plans, amount):
    product = plans["monthly"].product
    error = refusal(
        lambda: client.v1.prices.create(
            params={"product": product, "unit_amount": amount, "currency": "eur"}
        )
    )
    assert (error["param"], error["code"]) == ("unit_amount", "amount_too_large")
    line = {"price_data": {"currency": "eur", "unit_amount": amount, "product": product}}
    error = refusal(
        lambda: client.v1.checkout.sessions.create(
            params=session_params(line_items=[{**line, "quantity": 1}])
        )
    )
    assert error["param"] == "line_items[0][price_data][unit_amount]"
    charge = paid_charge(client, stub)
    error = refusal(lambda: client.v1.refunds.create(params={"charge": charge, "amount": amount}))
    assert error["param"] == "amount"


def test_the_largest_amount_is_accepted(client, plans):
    price = client.v1.prices.create(
        params={"product": plans["monthly"].product, "unit_amount": 99_999_999, "currency": "eur"}
    )
    assert price.unit_amount == 99_999_999
