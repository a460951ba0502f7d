"""Memberships through Stripe, driven through the pages and the stand-in Stripe server."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from membership.billing.catalogue import sync_tier
from membership.extensions import db
from membership.models import Subscription, Tier, User
from membership.models.types import utcnow
from tests.conftest import connect_webhooks, stripe_settings


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


@pytest.fixture(autouse=True)
def webhooks(app, stripe_stub):
    connect_webhooks(stripe_stub, app)


@pytest.fixture
def tiers(app, stripe_stub):
    """A free tier and two paid tiers, synced to the stand-in Stripe."""
    rows = [
        Tier(slug="free", name="Free", position=0),
        Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000, position=1),
        Tier(slug="patron", name="Patron", monthly_price=1500, yearly_price=15000, position=2),
    ]
    db.session.add_all(rows)
    db.session.flush()
    for tier in rows:
        sync_tier(tier)
    db.session.commit()
    return {tier.slug: tier for tier in rows}


@pytest.fixture
def member(app, make_user, login):
    """A confirmed reader, signed in."""
    user = make_user("member@example.org", display_name="Mia")
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    client.user = user
    return client


def checkout(client, tier="supporter", interval="month"):
    return client.submit(
        "/membership/checkout", {"tier": tier, "interval": interval}, page="/membership"
    )


def session_id_of(response) -> str:
    return re.search(r"/pay/(cs_[A-Za-z0-9_]+)", response.headers["Location"]).group(1)


def subscribe(client, stub, tier="supporter", interval="month", deliver=True) -> Subscription:
    response = checkout(client, tier, interval)
    assert response.status_code == 303, response.get_data(as_text=True)
    stub.complete_checkout(session_id_of(response))
    if deliver:
        assert set(stub.deliver()) == {200}
    return db.session.scalar(select(Subscription))


def test_plans_page_lists_tiers(client, tiers):
    page = client.get("/membership").get_data(as_text=True)
    assert "Supporter" in page and "$5" in page and "Patron" in page
    yearly = client.get("/membership?interval=year").get_data(as_text=True)
    assert "$50" in yearly
    assert "Sign in to subscribe" in page


def test_subscribe_through_checkout_and_webhooks(member, stripe_stub, tiers, mailbox):
    response = checkout(member)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(stripe_stub.base_url + "/pay/cs_")
    created = [r for r in stripe_stub.requests if r["path"] == "/v1/checkout/sessions"]
    params = created[0]["params"]
    assert params["mode"] == "subscription"
    assert params["client_reference_id"] == str(member.user.id)
    assert params["line_items"][0]["price"] == tiers["supporter"].stripe_monthly_price_id
    assert params["success_url"].endswith("/membership/success?session_id={CHECKOUT_SESSION_ID}")
    assert created[0]["idempotency_key"]

    stripe_stub.complete_checkout(session_id_of(response))
    assert set(stripe_stub.deliver()) == {200}
    record = db.session.scalar(select(Subscription))
    assert (record.status, record.tier_id, record.interval) == (
        "active",
        tiers["supporter"].id,
        "month",
    )
    assert record.current_period_end > utcnow() + timedelta(days=27)
    account = member.get("/account").get_data(as_text=True)
    assert "Supporter" in account and "Renews on" in account
    assert mailbox.last("member@example.org")["Subject"] == "Welcome to Supporter"


def test_success_page_fulfils_without_the_webhook(member, stripe_stub, tiers):
    response = checkout(member)
    session_id = session_id_of(response)
    stripe_stub.complete_checkout(session_id)
    page = member.get(f"/membership/success?session_id={session_id}").get_data(as_text=True)
    assert "Welcome to Supporter" in page
    assert db.session.scalar(select(Subscription.status)) == "active"
    # The webhooks arriving later change nothing.
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(func.count(Subscription.id))) == 1


def test_success_page_grants_nothing_for_an_unpaid_session(member, stripe_stub, tiers):
    session_id = session_id_of(checkout(member))
    page = member.get(f"/membership/success?session_id={session_id}").get_data(as_text=True)
    assert "Confirming your payment" in page
    assert db.session.scalar(select(Subscription)) is None


def test_success_page_ignores_another_readers_session(
    app, member, stripe_stub, tiers, make_user, login
):
    session_id = session_id_of(checkout(member))
    stripe_stub.complete_checkout(session_id)
    other = app.test_client()
    login(other, make_user("other@example.org").email)
    assert other.get(f"/membership/success?session_id={session_id}").status_code == 404
    assert db.session.scalar(select(Subscription)) is None


def test_anonymous_checkout_goes_to_login(client, tiers):
    response = client.submit(
        "/membership/checkout", {"tier": "supporter", "interval": "month"}, page="/login"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/membership"


@pytest.mark.parametrize(
    ("tier", "interval", "status"),
    [
        ("supporter", "week", 422),
        ("supporter", "", 422),
        ("free", "month", 422),
        ("nonexistent", "month", 422),
        ("<script>", "month", 422),
        ("", "month", 422),
    ],
)
def test_tampered_tier_or_interval_is_refused(member, stripe_stub, tiers, tier, interval, status):
    response = checkout(member, tier, interval)
    assert response.status_code == status
    assert not [r for r in stripe_stub.requests if r["path"] == "/v1/checkout/sessions"]


def test_archived_tier_cannot_be_bought(member, stripe_stub, tiers):
    tiers["patron"].active = False
    db.session.commit()
    assert checkout(member, "patron").status_code == 422


@pytest.mark.parametrize("kind", ["unconfirmed", "suspended"])
def test_unconfirmed_and_suspended_readers_cannot_pay(app, make_user, login, tiers, kind):
    from membership.auth.standing import suspend

    user = make_user(f"{kind}@example.org", confirmed=kind != "unconfirmed")
    if kind == "suspended":
        suspend(user, reason="Spam")
        db.session.commit()
    client = app.test_client()
    login(client, user.email)
    response = checkout(client)
    assert response.status_code == 403


def test_a_second_checkout_is_refused_while_subscribed(member, stripe_stub, tiers):
    subscribe(member, stripe_stub)
    response = checkout(member, "patron")
    assert response.status_code == 409
    assert "Change your plan" in response.get_data(as_text=True)


def test_double_click_reuses_the_same_checkout_session(member, stripe_stub, tiers):
    first = checkout(member)
    second = checkout(member)
    assert first.headers["Location"] == second.headers["Location"]
    customers = [r for r in stripe_stub.requests if r["path"] == "/v1/customers"]
    assert len({r["idempotency_key"] for r in customers}) == 1


@pytest.mark.parametrize("fault", ["5xx", "timeout"])
def test_stripe_outage_during_checkout(member, stripe_stub, tiers, fault):
    if fault == "5xx":
        stripe_stub.fail_next(3, status=503)
    else:
        stripe_stub.timeout_next(3, seconds=3)
    response = checkout(member)
    assert response.status_code == 503
    assert "not responding" in response.get_data(as_text=True)
    assert db.session.get(User, member.user.id).stripe_customer_id is None
    assert db.session.scalar(select(Subscription)) is None
    # Stripe is back: the same click works, and still makes one customer.
    assert checkout(member).status_code == 303
    customers = {r["idempotency_key"] for r in stripe_stub.requests if r["path"] == "/v1/customers"}
    assert len(customers) == 1


def test_billing_portal(member, stripe_stub, tiers):
    subscribe(member, stripe_stub)
    response = member.submit("/membership/portal", page="/account")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(stripe_stub.base_url + "/portal/")


def test_cancel_at_period_end_and_resume(member, stripe_stub, tiers, make_article):
    make_article(slug="paid-story", access_level="paid", body="Only for members.")
    subscribe(member, stripe_stub)
    response = member.submit("/membership/cancel", page="/account")
    assert response.status_code == 302
    assert db.session.scalar(select(Subscription.cancel_at_period_end)) is True
    assert "Ends on" in member.get("/account").get_data(as_text=True)
    assert "Only for members." in member.get("/articles/paid-story").get_data(as_text=True)
    member.submit("/membership/resume", page="/account")
    assert db.session.scalar(select(Subscription.cancel_at_period_end)) is False
    stripe_stub.deliver()

    member.submit("/membership/cancel", page="/account")
    record = db.session.scalar(select(Subscription))
    stripe_stub.cancel_at_period_end_reached(record.stripe_subscription_id)
    stripe_stub.deliver()
    assert db.session.scalar(select(Subscription.status)) == "canceled"
    assert "Only for members." not in member.get("/articles/paid-story").get_data(as_text=True)
    assert "You are a free member." in member.get("/account").get_data(as_text=True)


def test_failed_renewal_keeps_access_with_a_banner_then_ends(
    member, stripe_stub, tiers, mailbox, make_article
):
    make_article(slug="paid-story", access_level="paid", body="Only for members.")
    record = subscribe(member, stripe_stub)
    mailbox.clear()
    stripe_stub.fail_payment(record.stripe_subscription_id)
    stripe_stub.deliver()
    assert db.session.scalar(select(Subscription.status)) == "past_due"
    page = member.get("/articles/paid-story").get_data(as_text=True)
    assert "Only for members." in page
    assert "Update your card" in page
    assert [m["Subject"] for m in mailbox.messages] == ["Your membership payment failed"]
    stripe_stub.fail_payment(record.stripe_subscription_id)
    stripe_stub.deliver()
    assert len(mailbox.messages) == 1, "at most one payment-failed email a day"

    stripe_stub.exhaust_retries(record.stripe_subscription_id)
    stripe_stub.deliver()
    assert db.session.scalar(select(Subscription.status)) == "canceled"
    assert "Only for members." not in member.get("/articles/paid-story").get_data(as_text=True)
    assert mailbox.messages[-1]["Subject"] == "Your membership has ended"


def test_renewal_extends_the_period(member, stripe_stub, tiers):
    record = subscribe(member, stripe_stub)
    before = record.current_period_end
    stripe_stub.pay_renewal(record.stripe_subscription_id)
    stripe_stub.deliver()
    assert db.session.scalar(select(Subscription.current_period_end)) > before


def test_a_failed_payment_does_not_block_a_new_checkout(member, stripe_stub, tiers):
    record = subscribe(member, stripe_stub)
    stripe_stub.exhaust_retries(record.stripe_subscription_id, final_status="unpaid")
    stripe_stub.deliver()
    assert checkout(member).status_code == 303


def test_upgrade_is_previewed_and_charged_now(member, stripe_stub, tiers):
    subscribe(member, stripe_stub)
    preview = member.get("/membership/change?tier=patron&interval=month")
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "You will be charged" in text
    assert db.session.scalar(select(Subscription.tier_id)) == tiers["supporter"].id, "a preview"
    response = member.submit(
        "/membership/change",
        {"tier": "patron", "interval": "month", "confirm": "yes"},
        page="/membership/change?tier=patron&interval=month",
    )
    assert response.status_code == 302
    stripe_stub.deliver()
    record = db.session.scalar(select(Subscription))
    assert record.tier_id == tiers["patron"].id and record.amount == 1500
    updates = [
        r
        for r in stripe_stub.requests
        if r["method"] == "POST" and r["path"].startswith("/v1/subscriptions/")
    ]
    assert updates[-1]["params"]["proration_behavior"] == "always_invoice"


def test_downgrade_waits_for_the_end_of_the_period(member, stripe_stub, tiers):
    subscribe(member, stripe_stub, tier="patron")
    preview = member.get("/membership/change?tier=supporter&interval=month").get_data(as_text=True)
    assert "Nothing is charged now" in preview
    member.submit(
        "/membership/change",
        {"tier": "supporter", "interval": "month", "confirm": "yes"},
        page="/membership/change?tier=supporter&interval=month",
    )
    stripe_stub.deliver()
    record = db.session.scalar(select(Subscription))
    assert record.tier_id == tiers["supporter"].id
    assert record.previous_tier_id == tiers["patron"].id
    updates = [
        r
        for r in stripe_stub.requests
        if r["method"] == "POST" and r["path"].startswith("/v1/subscriptions/")
    ]
    assert updates[-1]["params"]["proration_behavior"] == "none"
    account = member.get("/account").get_data(as_text=True)
    assert "Patron" in account and "Scheduled change" in account
    from membership.access import membership_of

    with member.application.test_request_context():
        assert membership_of(db.session.get(User, member.user.id)).tier.slug == "patron"


def test_changing_to_the_same_plan_is_refused(member, stripe_stub, tiers):
    subscribe(member, stripe_stub)
    assert member.get("/membership/change?tier=supporter&interval=month").status_code == 409


def test_without_stripe_keys_the_site_still_runs(make_app, make_user, login):
    app = make_app(STRIPE_SECRET_KEY="")
    with app.app_context():
        db.session.add(
            Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000)
        )
        db.session.commit()
        client = app.test_client()
        page = client.get("/membership").get_data(as_text=True)
        assert "Payments are not set up yet" in page
        login(client, make_user("reader@example.org").email)
        response = checkout(client)
        assert response.status_code == 503
        assert "not set up yet" in response.get_data(as_text=True)


def test_admin_sees_how_to_connect_stripe(make_app, make_admin):
    from tests.conftest import sign_in_with_two_factor

    app = make_app(STRIPE_SECRET_KEY="")
    with app.app_context():
        admin = make_admin()
        client = app.test_client()
        sign_in_with_two_factor(client, admin)
        assert "STRIPE_SECRET_KEY" in client.get("/membership").get_data(as_text=True)
        assert "stripe sync" in client.get("/admin/tiers").get_data(as_text=True)


def test_deleting_the_account_cancels_the_subscription_first(member, stripe_stub, tiers):
    record = subscribe(member, stripe_stub)
    user_id = member.user.id
    stripe_stub.fail_next(3)
    refused = member.submit(
        "/account/delete",
        {"current_password": "correct horse battery staple", "understood": "y"},
        page="/account",
    )
    assert refused.status_code == 422
    assert "nothing was deleted" in refused.get_data(as_text=True)
    assert db.session.get(User, user_id) is not None
    response = member.submit(
        "/account/delete",
        {"current_password": "correct horse battery staple", "understood": "y"},
        page="/account",
    )
    assert response.status_code == 302
    assert db.session.get(User, user_id) is None
    cancels = [r for r in stripe_stub.requests if r["method"] == "DELETE"]
    assert cancels and cancels[-1]["path"] == f"/v1/subscriptions/{record.stripe_subscription_id}"


def test_complimentary_membership_counts_as_paying(app, make_user, login, make_article, tiers):
    make_article(slug="paid-story", access_level="paid", body="Only for members.")
    user = make_user("guest@example.org", complimentary_tier_id=tiers["patron"].id)
    client = app.test_client()
    login(client, user.email)
    assert "Only for members." in client.get("/articles/paid-story").get_data(as_text=True)
    assert "complimentary" in client.get("/account").get_data(as_text=True)
    user.complimentary_until = utcnow() - timedelta(days=1)
    db.session.commit()
    assert "Only for members." not in client.get("/articles/paid-story").get_data(as_text=True)
