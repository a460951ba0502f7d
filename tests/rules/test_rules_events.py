"""Every Stripe event type we listen to makes us read the object again (issue 15).

Stripe's events carry a snapshot; the app re-fetches the current object. So each test changes
the object in Stripe without its own event arriving, then sends one event of the type under test
and checks that the reader now sees Stripe's state.
"""

import json
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from membership.extensions import db
from membership.models import OutboxEmail, Subscription, User
from membership.models.types import utcnow
from membership.sponsors import queries
from tests.conftest import connect_webhooks, stripe_settings
from tests.rules.test_rules_billing import stripe_api
from tests.test_billing import subscribe
from tests.test_sponsors import gift, give, session_of


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


@pytest.fixture(autouse=True)
def webhooks(app, stripe_stub):
    connect_webhooks(stripe_stub, app)


def send(app, stub, kind: str, obj: dict) -> int:
    """One signed event, as Stripe would post it."""
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }
    payload = json.dumps(event).encode()
    headers = {"Stripe-Signature": stub.sign(payload), "Content-Type": "application/json"}
    return app.test_client().post("/stripe/webhook", data=payload, headers=headers).status_code


def cancelled_quietly(stub, subscription_id: str) -> None:
    """The member cancels in Stripe's portal; that event is lost."""
    stripe_api(
        stub, "POST", f"/v1/subscriptions/{subscription_id}", {"cancel_at_period_end": "true"}
    )
    stub.outbox.clear()


def failed_emails() -> int:
    subject = "Your membership payment failed"
    return len(db.session.scalars(select(OutboxEmail).where(OutboxEmail.subject == subject)).all())


@pytest.mark.parametrize(
    "kind",
    [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    ],
)
def test_each_subscription_event_reads_the_subscription_again(
    app, member, stripe_stub, tiers, kind
):
    record = subscribe(member, stripe_stub)
    cancelled_quietly(stripe_stub, record.stripe_subscription_id)
    assert "Renews on" in member.get("/account").get_data(as_text=True)
    obj = {"id": record.stripe_subscription_id, "object": "subscription"}
    assert send(app, stripe_stub, kind, obj) == 200
    assert "Ends on" in member.get("/account").get_data(as_text=True)


@pytest.mark.parametrize(
    ("kind", "shape"),
    [
        ("invoice.paid", "current"),
        ("invoice.payment_succeeded", "current"),
        ("invoice.payment_failed", "current"),
        ("invoice.paid", "older API"),
        ("invoice.payment_failed", "older API, expanded"),
    ],
)
def test_each_invoice_event_reads_the_subscription_again(
    app, member, stripe_stub, tiers, kind, shape
):
    record = subscribe(member, stripe_stub)
    cancelled_quietly(stripe_stub, record.stripe_subscription_id)
    sub_id = record.stripe_subscription_id
    if shape == "current":
        invoice = {"parent": {"subscription_details": {"subscription": sub_id, "metadata": {}}}}
    elif shape == "older API":
        invoice = {"subscription": sub_id}
    else:
        invoice = {"subscription": {"id": sub_id, "object": "subscription"}}
    latest = stripe_api(stripe_stub, "GET", f"/v1/subscriptions/{sub_id}")["latest_invoice"]
    invoice.update(id=latest, object="invoice")
    assert send(app, stripe_stub, kind, invoice) == 200
    assert "Ends on" in member.get("/account").get_data(as_text=True)
    assert failed_emails() == (1 if kind == "invoice.payment_failed" else 0)


def test_an_invoice_without_a_subscription_changes_nothing(app, member, stripe_stub, tiers):
    record = subscribe(member, stripe_stub)
    cancelled_quietly(stripe_stub, record.stripe_subscription_id)
    invoice = {"id": "in_one_off", "object": "invoice", "parent": None, "subscription": None}
    assert send(app, stripe_stub, "invoice.payment_failed", invoice) == 200
    assert db.session.scalar(select(Subscription.cancel_at_period_end)) is False
    assert failed_emails() == 0


def test_an_updated_dispute_is_read_again(app, client, stripe_stub):
    from membership.models import SponsorshipPayment

    gift(client, stripe_stub)
    charge = db.session.scalar(select(SponsorshipPayment.stripe_charge_id))
    dispute = stripe_stub.dispute(charge)
    stripe_stub.deliver()
    since = utcnow() - timedelta(days=1)
    assert queries.totals_since(since) == 0
    stripe_stub.close_dispute(dispute, status="won")
    stripe_stub.outbox.clear()  # the "closed" event is lost; an "updated" one arrives
    assert send(app, stripe_stub, "charge.dispute.updated", {"id": dispute}) == 200
    assert queries.totals_since(since) == 2500


READS_PER_EVENT = {
    # Stripe allows 100 reads a second in live mode: an event about a gift must not also make
    # the membership side fetch it (nor the other way round), only to ignore it.
    "membership": {
        "customer.subscription.created": ["subscriptions"],
        "invoice.paid": ["subscriptions"],
        "checkout.session.completed": ["checkout/sessions"],
    },
    "monthly gift": {
        "customer.subscription.created": ["subscriptions"],
        "invoice.paid": ["invoices", "subscriptions", "payment_intents"],
        "checkout.session.completed": ["checkout/sessions"],
    },
}


@pytest.mark.parametrize("bought", READS_PER_EVENT)
def test_each_event_reads_from_stripe_only_what_it_needs(member, stripe_stub, tiers, bought):
    if bought == "membership":
        subscribe(member, stripe_stub, deliver=False)
    else:
        response = give(member, frequency="monthly", amount="10")
        stripe_stub.complete_checkout(session_of(response))
    reads = {}
    for event in list(stripe_stub.outbox):
        before = len(stripe_stub.requests)
        assert stripe_stub.deliver([event]) == [200]
        reads[event["type"]] = [
            request["path"].removeprefix("/v1/").rpartition("/")[0]
            for request in stripe_stub.requests[before:]
            if request["method"] == "GET"
        ]
    assert reads == READS_PER_EVENT[bought]


def test_a_monthly_gift_is_not_a_membership(member, stripe_stub, make_article):
    """Sponsoring the newsroom every month is generous, and still not a paid plan: the
    membership side sees the gift's subscription events and leaves them alone."""
    make_article(slug="paid-story", access_level="paid", body="Only for members.")
    stripe_stub.complete_checkout(session_of(give(member, frequency="monthly", amount="10")))
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(func.count(Subscription.id))) == 0
    assert "Only for members." not in member.get("/articles/paid-story").get_data(as_text=True)


def test_a_checkout_without_our_metadata_grants_the_plan_it_bought(
    member, stripe_stub, tiers, make_article
):
    """A Payment Link made in Stripe's dashboard sets none of our metadata: a checkout for one
    of our plans, by a member's customer, is a membership as soon as it completes."""
    make_article(slug="paid-story", access_level="paid", body="Only for members.")
    customer = stripe_api(stripe_stub, "POST", "/v1/customers", {"email": "member@example.org"})
    db.session.get(User, member.user.id).stripe_customer_id = customer["id"]
    db.session.commit()
    session = stripe_api(
        stripe_stub,
        "POST",
        "/v1/checkout/sessions",
        {
            "mode": "subscription",
            "customer": customer["id"],
            "line_items[0][price]": tiers["supporter"].stripe_monthly_price_id,
            "line_items[0][quantity]": "1",
            "success_url": "https://pay.example.org/thanks",
        },
    )
    stripe_stub.complete_checkout(session["id"])
    [completed] = [e for e in stripe_stub.outbox if e["type"] == "checkout.session.completed"]
    assert not completed["data"]["object"]["metadata"]
    assert stripe_stub.deliver([completed]) == [200]
    assert db.session.scalar(select(Subscription.user_id)) == member.user.id
    assert "Only for members." in member.get("/articles/paid-story").get_data(as_text=True)
