"""Membership money rules a reader or an operator would notice, driven through the stand-in Stripe.

Each test pins a rule that a deliberate change to the billing code once survived (issue 15).
"""

import http.client
import json
import re
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import func, select, update

from membership.extensions import db
from membership.models import OutboxEmail, Subscription, SubscriptionConflict, Tier, User
from membership.models.types import utcnow
from tests.conftest import connect_webhooks, sign_in_with_two_factor, stripe_settings
from tests.rules.pages import alerts
from tests.test_billing import checkout, session_id_of, subscribe


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


@pytest.fixture(autouse=True)
def webhooks(app, stripe_stub):
    connect_webhooks(stripe_stub, app)


@pytest.fixture
def paid_story(make_article):
    return make_article(slug="paid-story", access_level="paid", body="Only for members.")


def reads_paid_story(client) -> bool:
    return "Only for members." in client.get("/articles/paid-story").get_data(as_text=True)


def plan_on_account_page(client) -> str:
    """The "Plan" line of the membership panel, e.g. "Patron · $15.00 / month"."""
    page = client.get("/account").get_data(as_text=True)
    match = re.search(r"<dt>Plan</dt><dd>([^<]*)</dd>", page)
    return match.group(1) if match else "free"


def stripe_api(stub, method: str, path: str, params: dict | None = None) -> dict:
    """Call the stand-in Stripe's API as a Stripe dashboard user or another system would."""
    parts = urlsplit(stub.base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    body = urlencode(params or {})
    connection.request(
        method,
        path,
        body=body,
        headers={
            "Authorization": "Bearer sk_test_stub",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    assert response.status == 200, payload
    return payload


def subscription_id_in_outbox(stub) -> str:
    return next(
        e["data"]["object"]["id"]
        for e in stub.outbox
        if e["type"] == "customer.subscription.created"
    )


def emails_with_subject(subject: str) -> int:
    return db.session.scalar(
        select(func.count(OutboxEmail.id)).where(OutboxEmail.subject == subject)
    )


# --- tiers over time ----------------------------------------------------------------------------


def test_a_downgraded_member_has_the_lower_tier_once_the_period_ends(member, stripe_stub, tiers):
    subscribe(member, stripe_stub, tier="patron")
    response = member.submit(
        "/membership/change",
        {"tier": "supporter", "interval": "month", "confirm": "yes"},
        page="/membership/change?tier=supporter&interval=month",
    )
    assert response.status_code == 302
    stripe_stub.deliver()
    assert plan_on_account_page(member).startswith("Patron"), "paid for until the period ends"

    # The paid period is over (Stripe renews at the new, lower price).
    ended = utcnow() - timedelta(minutes=1)
    db.session.execute(update(Subscription).values(previous_tier_until=ended))
    db.session.commit()
    assert plan_on_account_page(member).startswith("Supporter")


def test_an_upgrade_preview_shows_what_stripe_will_charge_now(member, stripe_stub, tiers):
    subscribe(member, stripe_stub, tier="supporter")
    page = member.get("/membership/change?tier=patron&interval=month").get_data(as_text=True)
    charged = re.search(r"You will be charged <strong>\$([\d.]+)</strong> now", page)
    assert charged, page
    # The rest of a month that has barely begun, at $15 instead of $5: just under $10.
    assert 9.5 <= float(charged.group(1)) <= 10.0
    assert "Switch to Patron (monthly)" in page
    assert "now for the rest of the current period, then $15 per month." in page


# --- who may pay --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_suspended_reader_cannot_change_plan(app, member, stripe_stub, tiers, login, method):
    from membership.auth.standing import suspend

    subscribe(member, stripe_stub, tier="supporter")
    user = db.session.get(User, member.user.id)
    suspend(user, reason="Abuse")
    db.session.commit()
    client = app.test_client()
    assert login(client, user.email).status_code == 302, "a suspended reader may sign in"
    stripe_stub.requests.clear()
    url = "/membership/change?tier=patron&interval=month"
    if method == "GET":
        response = client.get(url)
    else:
        response = client.submit(
            "/membership/change",
            {"tier": "patron", "interval": "month", "confirm": "yes"},
            page="/account",
        )
    assert response.status_code == 403
    assert alerts(response) == ["Your account is suspended: payments are not possible right now."]
    assert stripe_stub.requests == [], "Stripe is not even asked"
    assert db.session.scalar(select(Subscription.tier_id)) == tiers["supporter"].id


# --- events ----------------------------------------------------------------------------------


def test_a_bank_debit_checkout_that_succeeds_later_grants_the_membership(
    member, stripe_stub, tiers, paid_story, mailbox
):
    session_id = session_id_of(checkout(member))
    stripe_stub.complete_checkout(session_id, paid=False)
    assert set(stripe_stub.deliver()) == {200}
    assert not reads_paid_story(member), "nothing is granted while the debit is pending"

    stripe_stub.async_payment(session_id, succeeded=True)
    # Stripe sends events in no particular order: the checkout's own event arrives first.
    [succeeded] = [
        e for e in stripe_stub.outbox if e["type"] == "checkout.session.async_payment_succeeded"
    ]
    assert stripe_stub.deliver(events=[succeeded]) == [200]
    assert reads_paid_story(member)
    assert mailbox.last("member@example.org")["Subject"] == "Welcome to Supporter"
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(func.count(Subscription.id))) == 1


def test_a_bank_debit_checkout_that_fails_grants_nothing(member, stripe_stub, tiers, paid_story):
    session_id = session_id_of(checkout(member))
    stripe_stub.complete_checkout(session_id, paid=False)
    stripe_stub.async_payment(session_id, succeeded=False)
    assert set(stripe_stub.deliver()) == {200}
    assert not reads_paid_story(member)
    assert "You are a free member." in member.get("/account").get_data(as_text=True)


def test_a_subscription_started_in_the_billing_portal_is_matched_by_customer(
    member, stripe_stub, tiers, paid_story
):
    """The portal sets none of our metadata: the Stripe customer id says whose it is."""
    stripe_stub.complete_checkout(session_id_of(checkout(member)))
    subscription_id = subscription_id_in_outbox(stripe_stub)
    stripe_api(stripe_stub, "POST", f"/v1/subscriptions/{subscription_id}", {"metadata": ""})
    # What a portal subscription sends: no checkout.session.completed, only its own events.
    stripe_stub.outbox[:] = [e for e in stripe_stub.outbox if not e["type"].startswith("checkout.")]
    assert set(stripe_stub.deliver()) == {200}
    record = db.session.scalar(select(Subscription))
    assert record.user_id == member.user.id
    assert reads_paid_story(member)
    assert plan_on_account_page(member).startswith("Supporter")


def buy_print_edition(stub, **checkout_params) -> None:
    """A subscription to a product that is not a membership, bought in Stripe's Checkout."""
    product = stripe_api(stub, "POST", "/v1/products", {"name": "Print edition"})
    price = stripe_api(
        stub,
        "POST",
        "/v1/prices",
        {
            "product": product["id"],
            "currency": "usd",
            "unit_amount": "900",
            "recurring[interval]": "month",
        },
    )
    session = stripe_api(
        stub,
        "POST",
        "/v1/checkout/sessions",
        {
            "mode": "subscription",
            "line_items[0][price]": price["id"],
            "line_items[0][quantity]": "1",
            "success_url": "https://print.example.org/thanks",
            **checkout_params,
        },
    )
    stub.complete_checkout(session["id"], email="print-reader@example.org")
    assert set(stub.deliver()) == {200}


def test_a_subscription_to_another_product_is_not_a_membership(app, stripe_stub, tiers, make_admin):
    """The newsroom's Stripe account also sells things that are not memberships (print)."""
    buy_print_edition(stripe_stub)
    admin = app.test_client()
    sign_in_with_two_factor(admin, make_admin())
    dashboard = admin.get("/admin").get_data(as_text=True)
    revenue = re.search(
        r'id="stat-mrr">\s*<dt>[^<]*</dt>\s*<dd class="stat-value">([^<]*)<', dashboard
    )
    assert revenue and revenue.group(1) == "$0", "membership revenue is unchanged"
    assert db.session.scalar(select(func.count(Subscription.id))) == 0


def test_a_member_who_also_buys_the_print_edition_is_not_made_a_paying_member(
    member, stripe_stub, tiers, paid_story
):
    """The print edition bought as the same Stripe customer (found by customer id) as the
    member's account: still no membership, no paid stories, no plan on the account page."""
    customer = stripe_api(stripe_stub, "POST", "/v1/customers", {"email": member.user.email})
    db.session.execute(
        update(User).where(User.id == member.user.id).values(stripe_customer_id=customer["id"])
    )
    db.session.commit()
    buy_print_edition(stripe_stub, customer=customer["id"])
    assert db.session.scalar(select(func.count(Subscription.id))) == 0
    assert not reads_paid_story(member)
    assert plan_on_account_page(member) == "free"


@pytest.mark.parametrize("final_status", ["canceled", "unpaid"])
def test_membership_ended_is_sent_once_however_often_the_subscription_is_synced(
    app, member, stripe_stub, tiers, mailbox, final_status
):
    record = subscribe(member, stripe_stub)
    welcome = mailbox.text_of(mailbox.last("member@example.org"))
    greeting = f"Hello {member.user.display_name},"
    assert greeting in welcome
    assert "Welcome to Supporter." in welcome and "http://portal.test/account" in welcome
    stripe_stub.exhaust_retries(record.stripe_subscription_id, final_status=final_status)
    assert set(stripe_stub.deliver()) == {200}
    assert emails_with_subject("Your membership has ended") == 1
    ended = mailbox.text_of(mailbox.last("member@example.org"))
    assert greeting in ended
    assert "Your Supporter membership has ended." in ended
    assert "http://portal.test/membership" in ended
    # An operator repairs state later: every subscription is read again from Stripe.
    for _ in range(2):
        result = app.test_cli_runner().invoke(args=["stripe", "reconcile"])
        assert result.exit_code == 0, result.output
    assert emails_with_subject("Your membership has ended") == 1


def test_deleting_an_account_cancels_only_its_own_live_subscription(
    app, member, stripe_stub, tiers, make_user, login
):
    """Another member's subscription, and the reader's own ended one, are left alone."""
    other = app.test_client()
    other_user = make_user("olga@example.org")
    assert login(other, other_user.email).status_code == 302
    others = subscribe(other, stripe_stub)
    subscribe(member, stripe_stub)
    ended = db.session.scalar(select(Subscription).where(Subscription.user_id == member.user.id))
    member.submit("/membership/cancel", page="/account")
    stripe_stub.cancel_at_period_end_reached(ended.stripe_subscription_id)
    stripe_stub.deliver()
    live = checkout(member, "patron")
    stripe_stub.complete_checkout(session_id_of(live))
    assert set(stripe_stub.deliver()) == {200}
    stripe_stub.requests.clear()
    response = member.submit(
        "/account/delete",
        {"current_password": "correct horse battery staple", "understood": "y"},
        page="/account",
    )
    assert response.status_code == 302
    cancelled = [r["path"] for r in stripe_stub.requests if r["method"] == "DELETE"]
    [own_live] = [s for s in db.session.scalars(select(Subscription)) if s.tier.slug == "patron"]
    assert cancelled == [f"/v1/subscriptions/{own_live.stripe_subscription_id}"]
    assert db.session.get(Subscription, others.id).status == "active"


# --- whose subscription it is ------------------------------------------------------------------


def reconcile(app) -> str:
    """The operator's repair: every subscription read again from Stripe."""
    result = app.test_cli_runner().invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def moved_away(user_id: int) -> str:
    """The member's row lost its Stripe customer id (an import) and now has another email."""
    user = db.session.get(User, user_id)
    customer_id = user.stripe_customer_id
    user.stripe_customer_id = None
    user.email = "mia@elsewhere.example.org"
    db.session.commit()
    return customer_id


def test_a_subscription_naming_a_member_with_another_email_is_held_until_the_customer_matches(
    app, member, stripe_stub, tiers, paid_story
):
    """Never guess whose money it is: the claim is reported, and applied only by customer id."""
    session_id = session_id_of(checkout(member))
    customer_id = moved_away(member.user.id)
    stripe_stub.complete_checkout(session_id)
    subscription_id = subscription_id_in_outbox(stripe_stub)
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(func.count(Subscription.id))) == 0
    assert not reads_paid_story(member)
    conflict = db.session.scalar(select(SubscriptionConflict))
    assert conflict.stripe_subscription_id == subscription_id
    assert conflict.stripe_customer_id == customer_id
    assert conflict.claimed_user_id == member.user.id
    assert conflict.customer_email == "member@example.org"
    assert "mia@elsewhere.example.org" in conflict.reason
    assert f"CONFLICT subscription {subscription_id} not applied" in reconcile(app)

    # The administrator stores the customer id on the member: now it matches, by that id.
    db.session.get(User, member.user.id).stripe_customer_id = customer_id
    db.session.commit()
    assert "CONFLICT" not in reconcile(app)
    assert db.session.scalar(select(Subscription.user_id)) == member.user.id
    assert reads_paid_story(member)
    assert db.session.get(SubscriptionConflict, conflict.id).dismissed_at is not None


def test_a_subscription_of_no_known_member_waits_unattached_and_is_attached_later(
    app, member, stripe_stub, tiers, paid_story
):
    """A membership bought with a Stripe customer we do not know is kept, attached to no one,
    and tried again on each sync: a claim that does not match is reported, a customer id that
    does is applied."""
    session_id = session_id_of(checkout(member))
    customer_id = moved_away(member.user.id)
    stripe_stub.complete_checkout(session_id)
    subscription_id = subscription_id_in_outbox(stripe_stub)
    path = f"/v1/subscriptions/{subscription_id}"
    stripe_api(stripe_stub, "POST", path, {"metadata": ""})  # claims nobody
    assert set(stripe_stub.deliver()) == {200}
    record = db.session.scalar(select(Subscription))
    assert (record.user_id, record.tier_id) == (None, tiers["supporter"].id)
    assert not reads_paid_story(member)
    assert db.session.scalar(select(func.count(SubscriptionConflict.id))) == 0

    # Someone edits the metadata in Stripe's dashboard to name the member: the emails differ.
    stripe_api(stripe_stub, "POST", path, {"metadata[user_id]": str(member.user.id)})
    assert set(stripe_stub.deliver()) == {200}
    conflict = db.session.scalar(select(SubscriptionConflict))
    assert conflict.stripe_subscription_id == subscription_id
    assert conflict.claimed_user_id == member.user.id
    assert db.session.scalar(select(Subscription.user_id)) is None
    assert not reads_paid_story(member)

    db.session.get(User, member.user.id).stripe_customer_id = customer_id
    db.session.commit()
    reconcile(app)
    assert db.session.scalar(select(Subscription.user_id)) == member.user.id
    assert reads_paid_story(member)
    assert db.session.get(SubscriptionConflict, conflict.id).dismissed_at is not None


def test_our_copy_records_when_the_member_cancelled_as_stripe_says(member, stripe_stub, tiers):
    """The books keep Stripe's cancellation time, and forget it when the member resumes."""
    record = subscribe(member, stripe_stub)
    assert member.submit("/membership/cancel", page="/account").status_code == 302
    path = f"/v1/subscriptions/{record.stripe_subscription_id}"
    cancelled = stripe_api(stripe_stub, "GET", path)["canceled_at"]
    assert cancelled
    db.session.expire_all()
    assert db.session.scalar(select(Subscription.canceled_at)).timestamp() == cancelled
    assert member.submit("/membership/resume", page="/account").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Subscription.canceled_at)) is None


def test_a_member_paying_in_euros_sees_euros(member, stripe_stub):
    """The plan line and an upgrade's charge are in the currency the member pays in."""
    from membership.billing.catalogue import sync_tier

    for slug, monthly in [("friend", 500), ("ally", 1500)]:
        tier = Tier(slug=slug, name=slug.title(), monthly_price=monthly, yearly_price=monthly * 10)
        tier.currency = "eur"
        db.session.add(tier)
        db.session.flush()
        sync_tier(tier)
    db.session.commit()
    subscribe(member, stripe_stub, tier="friend")
    assert plan_on_account_page(member) == "Friend · €5 / month"
    page = member.get("/membership/change?tier=ally&interval=month").get_data(as_text=True)
    assert re.search(r"You will be charged <strong>€[\d.]+</strong> now", page), page


def test_two_workers_creating_the_same_subscription_leave_one_row(
    member, stripe_stub, tiers, paid_story, monkeypatch
):
    """Two of Stripe's events about a new subscription, handled at the same moment: the worker
    that inserts second updates the row the first one created, and the member is paying."""
    from membership.billing import matching

    subscribe(member, stripe_stub, deliver=False)
    subscription_id = subscription_id_in_outbox(stripe_stub)
    match_member = matching.match_member

    def other_worker_inserts_meanwhile(stripe_subscription):
        monkeypatch.setattr(matching, "match_member", match_member)  # once
        db.session.add(
            Subscription(
                stripe_subscription_id=subscription_id,
                stripe_customer_id=stripe_subscription["customer"],
                status="incomplete",
            )
        )
        db.session.flush()
        return match_member(stripe_subscription)

    monkeypatch.setattr(matching, "match_member", other_worker_inserts_meanwhile)
    assert set(stripe_stub.deliver()) == {200}
    record = db.session.scalar(select(Subscription))
    assert db.session.scalar(select(func.count(Subscription.id))) == 1
    assert (record.user_id, record.status) == (member.user.id, "active")
    assert reads_paid_story(member)
