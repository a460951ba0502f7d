"""Retries and idempotency keys: a checkout retried after a partial Stripe outage (issue 15).

Stripe creates the customer, then refuses the Checkout Session; the reader changes their name
and email and clicks again at once. The retry must reach Checkout: an idempotency key is only
ever sent again with the very same parameters, and the customer is not created twice. The
catalogue (tiers saved by an admin) is held to the same rule.
"""

import re

import pytest
from sqlalchemy import select

from membership.billing.catalogue import sync_tier
from membership.extensions import db
from membership.models import Tier, User
from tests.conftest import PASSWORD, connect_webhooks, stripe_settings

SESSIONS = "/v1/checkout/sessions"


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


@pytest.fixture(autouse=True)
def webhooks(app, stripe_stub):
    connect_webhooks(stripe_stub, app)


@pytest.fixture
def tiers(app, stripe_stub):
    """One paid tier, synced to the stand-in Stripe."""
    tier = Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000)
    db.session.add(tier)
    db.session.flush()
    sync_tier(tier)
    db.session.commit()
    return tier


@pytest.fixture
def reader(app, make_user, login):
    """A confirmed reader, signed in a moment ago (so an email change needs no new login)."""
    user = make_user("lena@example.org", display_name="Lena")
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    client.user = user
    return client


def change_profile(client, mailbox) -> None:
    """The reader renames themselves and moves to a new address, confirmed by email."""
    response = client.submit("/account/profile", {"display_name": "Lena K."}, page="/account")
    assert response.status_code == 302
    response = client.submit(
        "/account/email",
        {"email": "lena.k@example.org", "current_password": PASSWORD},
        page="/account",
    )
    assert response.status_code == 302
    link = mailbox.link("lena.k@example.org", "/account/email/confirm/")
    assert client.submit(link.removeprefix("http://portal.test")).status_code == 302
    user = db.session.get(User, client.user.id)
    assert (user.display_name, user.email) == ("Lena K.", "lena.k@example.org")


def assert_keys_reused_only_with_the_same_parameters(stub) -> None:
    """What real Stripe demands of every idempotency key (the stand-in refuses it too)."""
    first_use: dict[str, tuple] = {}
    for request in stub.requests:
        key = request["idempotency_key"]
        if key and request["method"] == "POST":
            sent = (request["path"], request["params"])
            assert first_use.setdefault(key, sent) == sent, f"key {key} reused with new params"


def customers_created(stub) -> set[str]:
    """Customer ids Stripe handed out (replays of one key give the same id)."""
    return {customer["id"] for customer in stub._all("customer")}


def test_membership_checkout_retried_after_a_partial_outage(reader, stripe_stub, tiers, mailbox):
    stripe_stub.fail_next(3, status=503, path=SESSIONS)
    response = reader.submit(
        "/membership/checkout", {"tier": "supporter", "interval": "month"}, page="/membership"
    )
    assert response.status_code == 503
    assert "not responding" in response.get_data(as_text=True)
    assert len(customers_created(stripe_stub)) == 1

    change_profile(reader, mailbox)
    response = reader.submit(
        "/membership/checkout", {"tier": "supporter", "interval": "month"}, page="/membership"
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert re.match(re.escape(stripe_stub.base_url) + r"/pay/cs_\w+$", response.headers["Location"])
    assert_keys_reused_only_with_the_same_parameters(stripe_stub)
    # The retry reused the customer Stripe made during the outage instead of a second one.
    (customer,) = customers_created(stripe_stub)
    assert db.session.get(User, reader.user.id).stripe_customer_id == customer
    sessions = [r for r in stripe_stub.requests if r["path"] == SESSIONS]
    assert sessions[-1]["params"]["customer"] == customer


def test_sponsorship_checkout_retried_after_a_partial_outage(reader, stripe_stub, mailbox):
    gift = {
        "amount": "25",
        "frequency": "monthly",
        "recognition": "name_amount",
        "message": "",
        "public_name": "",
    }
    stripe_stub.fail_next(3, status=503, path=SESSIONS)
    response = reader.submit("/sponsor/checkout", gift, page="/sponsor")
    assert response.status_code == 503
    assert "not responding" in response.get_data(as_text=True)
    assert len(customers_created(stripe_stub)) == 1

    change_profile(reader, mailbox)
    response = reader.submit("/sponsor/checkout", gift, page="/sponsor")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert re.match(re.escape(stripe_stub.base_url) + r"/pay/cs_\w+$", response.headers["Location"])
    assert_keys_reused_only_with_the_same_parameters(stripe_stub)
    (customer,) = customers_created(stripe_stub)
    assert db.session.get(User, reader.user.id).stripe_customer_id == customer
    sent = [r for r in stripe_stub.requests if r["path"] == SESSIONS][-1]["params"]
    assert (sent["customer"], sent["metadata"]["name"]) == (customer, "Lena K.")


def test_a_tier_renamed_after_a_failed_stripe_sync_saves(admin_client, stripe_stub):
    """The catalogue has the same shape: product made, prices refused, tier renamed, saved."""
    tier = {
        "name": "Patron",
        "slug": "patron",
        "description": "",
        "benefits": "",
        "monthly_price": "15",
        "yearly_price": "150",
        "position": "1",
        "active": "y",
    }
    stripe_stub.fail_next(3, status=503, path="/v1/prices")
    response = admin_client.submit("/admin/tiers/new", tier)
    assert response.status_code == 422
    assert "nothing was saved" in response.get_data(as_text=True)
    assert db.session.scalar(select(Tier)) is None

    response = admin_client.submit("/admin/tiers/new", {**tier, "name": "Patron of the news"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert_keys_reused_only_with_the_same_parameters(stripe_stub)
    saved = db.session.scalar(select(Tier))
    (product,) = stripe_stub._all("product")
    assert (saved.stripe_product_id, product["name"]) == (product["id"], "Patron of the news")
    assert saved.stripe_monthly_price_id and saved.stripe_yearly_price_id


def test_a_price_changed_and_changed_back_is_sold_at_the_current_amount(admin_client, stripe_stub):
    """5 -> 6 -> 5 within a day: the last save must not replay the first Price (lookup key lost)."""
    tier = {
        "name": "Friend",
        "slug": "friend",
        "description": "",
        "benefits": "",
        "yearly_price": "50",
        "position": "1",
        "active": "y",
    }
    assert (
        admin_client.submit("/admin/tiers/new", {**tier, "monthly_price": "5"}).status_code == 302
    )
    saved = db.session.scalar(select(Tier))
    for monthly in ("6", "5"):
        response = admin_client.submit(
            f"/admin/tiers/{saved.id}", {**tier, "monthly_price": monthly}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(saved)
    price = stripe_stub._db[saved.stripe_monthly_price_id]
    assert (price["unit_amount"], price["lookup_key"]) == (500, "membership_friend_month")
    assert_keys_reused_only_with_the_same_parameters(stripe_stub)
