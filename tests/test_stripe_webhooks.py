"""The Stripe webhook: signatures, one effect per event, any delivery order, reconciliation."""

import itertools
import json
import threading
import time

import pytest
from sqlalchemy import func, select

from membership.billing.catalogue import sync_tier
from membership.extensions import db
from membership.models import OutboxEmail, StripeEvent, Subscription, Tier
from tests.conftest import USING_POSTGRES, connect_webhooks, stripe_settings
from tests.test_billing import checkout, session_id_of


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


@pytest.fixture(autouse=True)
def webhooks(app, stripe_stub):
    connect_webhooks(stripe_stub, app)


@pytest.fixture
def supporter(app):
    tier = Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000)
    db.session.add(tier)
    db.session.flush()
    sync_tier(tier)
    db.session.commit()
    return tier


@pytest.fixture
def member(app, make_user, login):
    user = make_user("member@example.org")
    client = app.test_client()
    login(client, user.email)
    return client


def completed_checkout(member, stub) -> str:
    """A paid checkout whose events wait undelivered in the stand-in's outbox."""
    session_id = session_id_of(checkout(member))
    stub.complete_checkout(session_id)
    return session_id


def post_event(client, stub, event: dict, *, secret=None, timestamp=None, body=None):
    payload = body if body is not None else json.dumps(event).encode()
    header = stub.sign(payload, timestamp=timestamp, secret=secret)
    return client.post(
        "/stripe/webhook",
        data=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


# --- signatures (SECURITY 27) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["tampered-body", "wrong-secret", "missing-header", "stale", "future", "not-json"]
)
def test_unverified_webhooks_are_refused_and_change_nothing(
    app, member, stripe_stub, supporter, case, caplog
):
    completed_checkout(member, stripe_stub)
    event = stripe_stub.outbox[0]
    payload = json.dumps(event).encode()
    client = app.test_client()
    now = int(time.time())
    headers = {"Content-Type": "application/json"}
    if case == "tampered-body":
        headers["Stripe-Signature"] = stripe_stub.sign(payload)
        payload = payload.replace(b'"active"', b'"trialing"', 1) + b" "
    elif case == "wrong-secret":
        headers["Stripe-Signature"] = stripe_stub.sign(payload, secret="whsec_wrong")
    elif case == "stale":
        headers["Stripe-Signature"] = stripe_stub.sign(payload, timestamp=now - 301)
    elif case == "future":
        headers["Stripe-Signature"] = stripe_stub.sign(payload, timestamp=now + 301)
    elif case == "not-json":
        payload = b"not json at all"
        headers["Stripe-Signature"] = stripe_stub.sign(payload)
    response = client.post("/stripe/webhook", data=payload, headers=headers)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 0
    assert db.session.scalar(select(Subscription)) is None
    assert any("rejected webhook" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "body",
    [
        {"object": "event", "type": "invoice.paid", "data": {"object": {"id": "in_1"}}},
        {"id": "evt_1", "object": "event", "data": {"object": {"id": "in_1"}}},
        {"id": "evt_1", "object": "event", "type": "invoice.paid"},
        {"id": "evt_1", "object": "event", "type": "invoice.paid", "data": {"object": "in_1"}},
        ["evt_1", "invoice.paid"],
    ],
    ids=["no id", "no type", "no data", "object not an object", "a list"],
)
def test_a_signed_body_that_is_not_an_event_is_refused(app, stripe_stub, body):
    response = post_event(app.test_client(), stripe_stub, body)
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid signature or payload"}
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 0


def test_timestamps_within_tolerance_are_accepted(app, member, stripe_stub, supporter):
    completed_checkout(member, stripe_stub)
    event = stripe_stub.outbox[0]
    response = post_event(app.test_client(), stripe_stub, event, timestamp=int(time.time()) + 200)
    assert response.status_code == 200


def test_webhook_needs_no_csrf_token_but_get_is_not_allowed(app):
    assert app.test_client().get("/stripe/webhook").status_code == 405


# --- one effect per event (SECURITY 28) -------------------------------------------------------


def test_duplicate_delivery_has_one_effect(member, stripe_stub, supporter, mailbox):
    completed_checkout(member, stripe_stub)
    statuses = stripe_stub.deliver(duplicate=3)
    assert set(statuses) == {200}
    assert db.session.scalar(select(func.count(Subscription.id))) == 1
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 3
    welcomes = db.session.scalar(
        select(func.count(OutboxEmail.id)).where(OutboxEmail.subject == "Welcome to Supporter")
    )
    assert welcomes == 1


def test_a_stripe_outage_while_handling_defers_the_event(app, member, stripe_stub, supporter):
    completed_checkout(member, stripe_stub)
    stripe_stub.fail_next(3)
    [first] = stripe_stub.deliver(events=[stripe_stub.outbox[0]])
    assert first == 503
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 0, "nothing half-written"
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(Subscription.status)) == "active"


@pytest.mark.skipif(not USING_POSTGRES, reason="row-level concurrency is PostgreSQL's")
def test_ten_concurrent_deliveries_of_one_event_fifty_rounds(app, member, stripe_stub, supporter):
    completed_checkout(member, stripe_stub)
    stripe_stub.deliver()
    record = db.session.scalar(select(Subscription))
    for round_number in range(50):
        # Each round: a new event about the subscription, delivered ten times at once.
        stripe_stub.pay_renewal(record.stripe_subscription_id)
        event = next(e for e in stripe_stub.outbox if e["type"] == "invoice.paid")
        stripe_stub.outbox.clear()
        payload = json.dumps(event).encode()
        header = stripe_stub.sign(payload)
        barrier = threading.Barrier(10)
        statuses = []

        def send(payload=payload, header=header, barrier=barrier, statuses=statuses):
            client = app.test_client()
            barrier.wait()
            response = client.post(
                "/stripe/webhook",
                data=payload,
                headers={"Stripe-Signature": header, "Content-Type": "application/json"},
            )
            statuses.append(response.status_code)

        threads = [threading.Thread(target=send) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * 10, (round_number, statuses)
        assert (
            db.session.scalar(
                select(func.count(StripeEvent.id)).where(StripeEvent.id == event["id"])
            )
            == 1
        )
    assert db.session.scalar(select(func.count(Subscription.id))) == 1


# --- any order (SECURITY 29) -------------------------------------------------------------------


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_every_order_of_created_updated_deleted_ends_right(
    app, member, stripe_stub, supporter, order, mailbox
):
    completed_checkout(member, stripe_stub)
    record_id = next(
        e["data"]["object"]["id"]
        for e in stripe_stub.outbox
        if e["type"] == "customer.subscription.created"
    )
    stripe_stub.outbox[:] = [
        e for e in stripe_stub.outbox if e["type"] == "customer.subscription.created"
    ]
    stripe_stub.fail_payment(record_id)  # -> customer.subscription.updated (past_due)
    stripe_stub.exhaust_retries(record_id)  # -> customer.subscription.deleted
    lifecycle = [e for e in stripe_stub.outbox if e["type"].startswith("customer.subscription.")]
    assert [e["type"] for e in lifecycle] == [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ]
    stripe_stub.outbox[:] = lifecycle
    assert set(stripe_stub.deliver(order=list(order))) == {200}
    record = db.session.scalar(select(Subscription))
    assert record.status == "canceled"
    assert record.ended_at is not None
    assert db.session.scalar(select(func.count(Subscription.id))) == 1
    assert "You are a free member." in member.get("/account").get_data(as_text=True)


# --- reconciliation -----------------------------------------------------------------------------


def test_reconcile_repairs_a_missed_webhook(app, member, stripe_stub, supporter):
    completed_checkout(member, stripe_stub)
    stripe_stub.deliver()
    record = db.session.scalar(select(Subscription))
    stripe_stub.fail_payment(record.stripe_subscription_id)
    stripe_stub.exhaust_retries(record.stripe_subscription_id)
    stripe_stub.outbox.clear()  # the webhooks never arrive
    assert db.session.scalar(select(Subscription.status)) == "active"

    result = app.test_cli_runner().invoke(args=["stripe", "reconcile", "--days", "1"])
    assert result.exit_code == 0, result.output
    assert f"subscription {record.stripe_subscription_id}: active -> canceled" in result.output
    assert db.session.scalar(select(Subscription.status)) == "canceled"
    again = app.test_cli_runner().invoke(args=["stripe", "reconcile"])
    assert "Reconciled: 0 change(s)." in again.output


def test_reconcile_creates_a_subscription_whose_webhooks_were_all_lost(
    app, member, stripe_stub, supporter
):
    completed_checkout(member, stripe_stub)
    stripe_stub.outbox.clear()
    result = app.test_cli_runner().invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Subscription.status)) == "active"


def test_reconcile_reports_a_stripe_outage(app, stripe_stub):
    stripe_stub.fail_next(3)
    result = app.test_cli_runner().invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 1
    assert "not responding" in result.output


# --- the catalogue ------------------------------------------------------------------------------


def test_stripe_sync_is_idempotent_and_a_new_price_keeps_old_subscribers(
    app, member, stripe_stub, supporter
):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["stripe", "sync"])
    assert "0 change(s)" in first.output, "the fixture already synced"
    completed_checkout(member, stripe_stub)
    stripe_stub.deliver()
    old_price = supporter.stripe_monthly_price_id

    supporter.monthly_price = 700
    db.session.commit()
    result = runner.invoke(args=["stripe", "sync"])
    assert result.exit_code == 0, result.output
    db.session.refresh(supporter)
    assert supporter.stripe_monthly_price_id != old_price
    assert db.session.scalar(select(Subscription.stripe_price_id)) == old_price
    assert "0 change(s)" in runner.invoke(args=["stripe", "sync"]).output
