"""What a member sees of their plan: checkout details, yearly billing, changes, refusals."""

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, select, update

from membership.extensions import db
from membership.models import OutboxEmail, Subscription, Tier, User
from membership.models.types import utcnow
from tests.conftest import connect_webhooks, stripe_settings
from tests.rules.pages import alerts
from tests.rules.test_rules_billing import plan_on_account_page
from tests.test_billing import checkout, subscribe


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


@pytest.fixture(autouse=True)
def webhooks(app, stripe_stub):
    connect_webhooks(stripe_stub, app)


def subjects() -> list[str]:
    return list(db.session.scalars(select(OutboxEmail.subject).order_by(OutboxEmail.id)))


def change(client, tier: str, interval: str = "month"):
    return client.submit(
        "/membership/change",
        {"tier": tier, "interval": interval, "confirm": "yes"},
        page=f"/membership/change?tier={tier}&interval={interval}",
    )


def test_checkout_tells_stripe_whose_membership_it_is(member, stripe_stub, tiers):
    assert checkout(member, "patron", "year").status_code == 303
    [created] = [r for r in stripe_stub.requests if r["path"] == "/v1/checkout/sessions"]
    params = created["params"]
    ours = {"kind": "membership", "user_id": str(member.user.id), "tier": "patron"}
    assert params["metadata"] == ours
    assert params["subscription_data"]["metadata"] == ours
    assert params["line_items"][0] == {
        "price": tiers["patron"].stripe_yearly_price_id,
        "quantity": "1",
    }
    assert params["cancel_url"] == "http://portal.test/membership"
    [customer] = [r for r in stripe_stub.requests if r["path"] == "/v1/customers"]
    assert customer["params"]["email"] == "member@example.org"
    assert (
        params["customer"] == db.session.get(type(member.user), member.user.id).stripe_customer_id
    )


def test_a_yearly_member_sees_a_yearly_plan(member, stripe_stub, tiers):
    subscribe(member, stripe_stub, tier="patron", interval="year")
    assert plan_on_account_page(member) == "Patron · $150 / year"
    record = db.session.scalar(select(Subscription))
    assert record.current_period_end > utcnow() + timedelta(days=360)
    assert "Renews on" in member.get("/account").get_data(as_text=True)


def test_an_unconfirmed_reader_is_told_to_confirm_first(app, make_user, login, tiers, stripe_stub):
    client = app.test_client()
    login(client, make_user("new@example.org", confirmed=False).email)
    stripe_stub.requests.clear()
    response = checkout(client)
    assert response.status_code == 403
    assert alerts(response) == ["Please confirm your email address before subscribing."]
    assert stripe_stub.requests == []


def test_a_plan_without_a_stripe_price_is_not_for_sale_yet(member, stripe_stub, tiers):
    db.session.add(Tier(slug="founder", name="Founder", monthly_price=9000, yearly_price=90000))
    db.session.commit()
    response = checkout(member, "founder")
    assert response.status_code == 503
    assert alerts(response) == ["Payments for this plan are not set up yet."]


def test_a_free_reader_has_no_portal_nor_plan_to_cancel(member, stripe_stub, tiers):
    portal = member.submit("/membership/portal", page="/account")
    assert portal.status_code == 409
    assert alerts(portal) == ["You have no billing account yet."]
    cancel = member.submit("/membership/cancel", page="/account")
    assert cancel.status_code == 409
    assert alerts(cancel) == ["You have no paid membership to change."]
    assert member.get("/membership/change?tier=patron&interval=month").status_code == 409


def test_an_upgrade_clears_a_scheduled_downgrade(member, stripe_stub, tiers):
    subscribe(member, stripe_stub, tier="patron")
    change(member, "supporter")
    stripe_stub.deliver()
    assert "Scheduled change" in member.get("/account").get_data(as_text=True)
    change(member, "patron")
    stripe_stub.deliver()
    page = member.get("/account").get_data(as_text=True)
    assert "Scheduled change" not in page
    assert plan_on_account_page(member) == "Patron · $15 / month"


def test_an_upgrade_from_supporter_is_welcomed(member, stripe_stub, tiers):
    subscribe(member, stripe_stub, tier="supporter")
    assert change(member, "patron").status_code == 302
    stripe_stub.deliver()
    assert subjects() == ["Welcome to Supporter", "Welcome to Patron"]


def test_a_downgrade_preview_says_until_when_the_current_plan_lasts(member, stripe_stub, tiers):
    record = subscribe(member, stripe_stub, tier="patron")
    page = member.get("/membership/change?tier=supporter&interval=month").get_data(as_text=True)
    assert f"You keep Patron until {record.current_period_end:%d %B %Y}" in page


@pytest.mark.parametrize(("tier", "interval", "upgrade"), [("supporter", "year", False)])
def test_paying_yearly_for_the_same_tier_is_no_upgrade(
    member, stripe_stub, tiers, tier, interval, upgrade
):
    subscribe(member, stripe_stub, tier="supporter")
    page = member.get(f"/membership/change?tier={tier}&interval={interval}").get_data(as_text=True)
    assert ("You will be charged" in page) == upgrade
    assert "Nothing is charged now" in page


def test_a_failed_payment_is_emailed_again_after_a_day(member, stripe_stub, tiers, mailbox):
    record = subscribe(member, stripe_stub)
    stripe_stub.fail_payment(record.stripe_subscription_id)
    stripe_stub.deliver()
    assert subjects().count("Your membership payment failed") == 1
    text = mailbox.text_of(mailbox.last("member@example.org"))
    assert f"Hello {member.user.display_name}," in text
    assert "payment for your Supporter membership" in text
    assert "http://portal.test/account" in text
    earlier = utcnow() - timedelta(days=1, minutes=1)
    db.session.execute(update(Subscription).values(payment_failed_notified_at=earlier))
    db.session.commit()
    stripe_stub.fail_payment(record.stripe_subscription_id)
    stripe_stub.deliver()
    assert subjects().count("Your membership payment failed") == 2


def test_a_cancelled_membership_shows_when_it_ends(member, stripe_stub, tiers):
    record = subscribe(member, stripe_stub)
    member.submit("/membership/cancel", page="/account")
    page = member.get("/account").get_data(as_text=True)
    assert f"<dt>Ends on</dt><dd>{record.current_period_end:%d %B %Y}</dd>" in page
    assert "Ends at period end" in page
    assert re.search(r"Resume membership", page)


def test_the_billing_portal_leads_back_to_the_account_page(member, stripe_stub, tiers):
    subscribe(member, stripe_stub)
    response = member.submit("/membership/portal", page="/account")
    assert response.status_code == 303
    [created] = [r for r in stripe_stub.requests if r["path"] == "/v1/billing_portal/sessions"]
    assert created["params"]["return_url"] == "http://portal.test/account"


def test_the_success_page_of_another_readers_checkout_refuses(
    app, member, stripe_stub, tiers, make_user, login
):
    response = checkout(member)
    session_id = re.search(r"/pay/(cs_\w+)", response.headers["Location"]).group(1)
    stripe_stub.complete_checkout(session_id)
    other = app.test_client()
    assert login(other, make_user("other@example.org").email).status_code == 302
    refused = other.get(f"/membership/success?session_id={session_id}")
    assert refused.status_code == 404
    assert alerts(refused) == ["This checkout belongs to another account."]


def test_a_plan_change_reaches_stripe_with_an_idempotency_key(member, stripe_stub, tiers):
    """A retried request (a timeout, a double click within the minute) is applied, and
    invoiced, once: the key names the subscription and the minute."""
    record = subscribe(member, stripe_stub)
    stripe_stub.requests.clear()
    change(member, "patron")
    path = f"/v1/subscriptions/{record.stripe_subscription_id}"
    [update] = [r for r in stripe_stub.requests if r["method"] == "POST" and r["path"] == path]
    assert update["idempotency_key"].startswith(f"change-{record.stripe_subscription_id}-")


def test_choosing_the_plan_you_have_says_so(member, stripe_stub, tiers):
    subscribe(member, stripe_stub, tier="supporter")
    response = member.get("/membership/change?tier=supporter&interval=month")
    assert response.status_code == 409
    assert alerts(response) == ["That is already your plan."]


def test_a_failed_payment_after_the_account_was_deleted_emails_nobody(
    member, stripe_stub, tiers, mailbox
):
    """The books keep a subscription row whose account is gone (its user becomes NULL)."""
    record = subscribe(member, stripe_stub)
    db.session.execute(delete(User).where(User.id == member.user.id))
    db.session.commit()
    assert db.session.scalar(select(Subscription.user_id)) is None
    mailbox.clear()
    stripe_stub.fail_payment(record.stripe_subscription_id)
    assert set(stripe_stub.deliver()) == {200}
    assert subjects().count("Your membership payment failed") == 0


@pytest.mark.parametrize(
    ("current", "new", "upgrade"),
    [
        # Compared a month against a month: a year's price counts as twelve months.
        (("supporter", "year"), ("patron", "month"), True),
        (("supporter", "year"), ("supporter", "month"), True),  # $5 a month > $50 a year
        (("supporter", "year"), ("friend", "month"), False),  # $4 a month < $50 a year
        (("supporter", "month"), ("ally", "year"), False),  # $60 a year is $5 a month: a tie
    ],
)
def test_a_plan_costing_more_a_month_is_an_upgrade_charged_now(
    member, stripe_stub, tiers, current, new, upgrade
):
    from membership.billing.catalogue import sync_tier

    for slug, monthly, yearly in [("friend", 400, 4000), ("ally", 600, 6000)]:
        tier = Tier(slug=slug, name=slug.title(), monthly_price=monthly, yearly_price=yearly)
        db.session.add(tier)
        db.session.flush()
        sync_tier(tier)
    db.session.commit()
    subscribe(member, stripe_stub, tier=current[0], interval=current[1])
    page = member.get(f"/membership/change?tier={new[0]}&interval={new[1]}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert ("You will be charged" in text) == upgrade
    assert ("Nothing is charged now" in text) == (not upgrade)


def test_a_membership_bought_just_before_a_price_change_is_granted(member, stripe_stub, tiers):
    """The reader pays; the newsroom raises the Supporter price before Stripe's events arrive:
    the subscription is on a price the catalogue no longer lists, and is still a Supporter's."""
    from membership.billing.catalogue import sync_tier

    subscribe(member, stripe_stub, tier="supporter", deliver=False)
    old_price = tiers["supporter"].stripe_monthly_price_id
    tiers["supporter"].monthly_price = 700
    sync_tier(tiers["supporter"])
    db.session.commit()
    assert tiers["supporter"].stripe_monthly_price_id != old_price
    assert set(stripe_stub.deliver()) == {200}
    assert plan_on_account_page(member).startswith("Supporter")


def test_the_plans_are_listed_by_position_then_price(app, stripe_stub, tiers):
    from membership.billing.catalogue import sync_tier

    for slug, position, price in [("student", 3, 300), ("friend", 1, 400)]:
        tier = Tier(slug=slug, name=slug.title(), monthly_price=price, yearly_price=price * 10)
        tier.position = position
        db.session.add(tier)
        db.session.flush()
        sync_tier(tier)
    db.session.commit()
    page = app.test_client().get("/membership").get_data(as_text=True)
    names = ["Friend", "Supporter", "Patron", "Student"]
    places = [page.find(f">{name}<") for name in names]
    assert -1 not in places and places == sorted(places), places


def test_a_plan_that_is_not_offered_is_refused_in_words(member, stripe_stub, tiers):
    response = checkout(member, "platinum", "month")
    assert response.status_code == 422
    assert "Choose one of the plans on this page." in alerts(response)


def test_a_member_who_clicks_join_again_is_sent_to_their_account(member, stripe_stub, tiers):
    subscribe(member, stripe_stub, tier="supporter")
    response = checkout(member, "patron", "month")
    assert response.status_code == 409
    assert alerts(response) == [
        "You already have a membership. Change your plan from your account page."
    ]


def test_a_reader_who_comes_back_after_the_window_gets_a_new_checkout(
    member, stripe_stub, tiers, monkeypatch
):
    """A second click within the window reuses the Checkout page; later, a new one is made."""
    import time

    from membership.billing import services

    monkeypatch.setattr(services, "CHECKOUT_KEY_WINDOW", 1)
    first = checkout(member, "patron", "month").headers["Location"]
    time.sleep(1.05)
    second = checkout(member, "patron", "month").headers["Location"]
    assert first != second


def test_the_stripe_customer_names_the_reader_and_their_account(member, stripe_stub, tiers):
    """In Stripe's dashboard the newsroom sees who the customer is, and which account."""
    checkout(member)
    [created] = [r for r in stripe_stub.requests if r["path"] == "/v1/customers"]
    assert created["params"]["name"] == "Mia"
    assert created["params"]["metadata"] == {"user_id": str(member.user.id)}


def test_an_upgrade_preview_is_priced_for_this_subscription_at_this_moment(
    member, stripe_stub, tiers
):
    record = subscribe(member, stripe_stub)
    stripe_stub.requests.clear()
    before = int(time.time())
    assert member.get("/membership/change?tier=patron&interval=month").status_code == 200
    [preview] = [r for r in stripe_stub.requests if r["path"] == "/v1/invoices/create_preview"]
    params = preview["params"]
    assert params["customer"] == record.stripe_customer_id
    assert params["subscription"] == record.stripe_subscription_id
    assert before <= int(params["subscription_details"]["proration_date"]) <= time.time()


def test_a_plan_change_retried_within_the_minute_is_applied_once(
    member, stripe_stub, tiers, monkeypatch
):
    """The same change sent again in the same minute (a retried job, a timeout) reuses its
    idempotency key, so Stripe applies and invoices it once; the next minute is a new change."""
    from membership.billing import services

    record = subscribe(member, stripe_stub)
    user = db.session.get(User, member.user.id)
    plan = services.plan_tier_change(user, "patron", "month")
    minute = 1_800_000_000  # a whole minute since the epoch
    clock = SimpleNamespace()
    monkeypatch.setattr(services, "time", clock)
    stripe_stub.requests.clear()
    for second in (1, 59, 60):
        clock.time = lambda second=second: minute + second
        services.apply_tier_change(user, plan)
    path = f"/v1/subscriptions/{record.stripe_subscription_id}"
    keys = [
        r["idempotency_key"]
        for r in stripe_stub.requests
        if r["method"] == "POST" and r["path"] == path
    ]
    assert len(keys) == 3
    assert keys[0] == keys[1] != keys[2]


def complete_a_trial_checkout(member, stub) -> None:
    """A Checkout for a plan with a trial set in Stripe (the dashboard, a Payment Link):
    nothing to pay today, and the subscription starts `trialing`."""
    subscribe(member, stub, deliver=False)
    for obj in stub._db.values():
        if obj.get("object") == "subscription":
            obj["status"] = "trialing"
        if obj.get("object") == "checkout.session":
            obj["payment_status"] = "no_payment_required"


def test_a_member_who_starts_with_a_trial_is_welcomed_at_once(member, stripe_stub, tiers):
    """The member is welcomed when the trial starts, not only when the first payment is taken."""
    complete_a_trial_checkout(member, stripe_stub)
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(Subscription.status)) == "trialing"
    assert subjects() == ["Welcome to Supporter"]


def test_a_checkout_with_nothing_to_pay_today_grants_the_membership(member, stripe_stub, tiers):
    """A trial (or a full discount) completes Checkout with `no_payment_required`: the checkout
    event alone grants the plan, as a paid one does."""
    complete_a_trial_checkout(member, stripe_stub)
    delivered = stripe_stub.deliver(drop=["customer.subscription.created", "invoice.paid"])
    assert delivered == [200]
    assert plan_on_account_page(member).startswith("Supporter")
