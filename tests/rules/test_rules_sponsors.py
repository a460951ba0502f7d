"""Sponsorship money rules a sponsor would notice, driven through the stand-in Stripe (issue 15)."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from membership.extensions import db
from membership.models import Sponsorship, SponsorshipPayment
from membership.models.types import utcnow
from membership.settings import set_setting
from membership.sponsors import queries
from tests.conftest import connect_webhooks, stripe_settings
from tests.rules.pages import alerts
from tests.rules.test_rules_billing import stripe_api
from tests.rules.test_rules_events import send
from tests.test_sponsors import GIFT, checkout_requests, gift, give, session_of, wall_text


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


@pytest.fixture(autouse=True)
def webhooks(app, stripe_stub):
    connect_webhooks(stripe_stub, app)


@pytest.fixture
def member(app, make_user, login):
    """A confirmed reader, signed in."""
    user = make_user("mara@example.org", display_name="Mara")
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    client.user = user
    return client


def bank_debit(client, stub, email: str | None = None) -> str:
    """A gift paid by bank debit: Checkout completes, the money is still on its way."""
    session_id = session_of(give(client))
    stub.complete_checkout(session_id, paid=False, email=email)
    assert set(stub.deliver()) == {200}
    return session_id


def sponsorship_line(client) -> str:
    """The first gift's line on the account page, e.g. "$25 · 05 December 2026 · paid"."""
    page = client.get("/account").get_data(as_text=True)
    start = page.index('id="sponsorships"')
    return page[start : page.index("</p>", start)]


def test_a_bank_debit_gift_is_pending_until_the_money_arrives(client, stripe_stub, mailbox):
    session_id = bank_debit(client, stripe_stub, email="gus@example.org")
    assert db.session.scalar(select(Sponsorship.status)) == "pending"
    assert "Gus Guest" not in wall_text(client)
    assert mailbox.to("gus@example.org") == []
    thanks = client.get(f"/sponsor/thanks?session_id={session_id}").get_data(as_text=True)
    assert "being processed by your bank" in thanks

    stripe_stub.async_payment(session_id, succeeded=True)
    assert set(stripe_stub.deliver()) == {200}
    assert "Gus Guest" in wall_text(client)
    assert mailbox.last("gus@example.org")["Subject"] == "Thank you for sponsoring our journalism"
    assert db.session.scalar(select(func.sum(SponsorshipPayment.amount))) == 2500


def test_a_bank_debit_gift_that_fails_is_marked_failed(member, stripe_stub, client, mailbox):
    session_id = bank_debit(member, stripe_stub)
    assert "pending" in sponsorship_line(member)
    stripe_stub.async_payment(session_id, succeeded=False)
    assert set(stripe_stub.deliver()) == {200}
    assert "failed" in sponsorship_line(member)
    thanks = member.get(f"/sponsor/thanks?session_id={session_id}").get_data(as_text=True)
    assert "did not go through" in thanks and "being processed" not in thanks
    assert "Gus Guest" not in wall_text(client)
    thanked = [m for m in mailbox.messages if "Thank you" in m["Subject"]]
    assert thanked == [], "no thank-you for money that never came"
    assert db.session.scalar(select(func.count(SponsorshipPayment.id))) == 0


def monthly_gift_without_checkout_event(member, stub) -> Sponsorship:
    """A monthly gift whose checkout.session.completed is lost: the other events suffice."""
    response = give(
        member, frequency="monthly", amount="10", public_name="", recognition="name_amount"
    )
    stub.complete_checkout(session_of(response))
    stub.outbox[:] = [e for e in stub.outbox if not e["type"].startswith("checkout.")]
    assert set(stub.deliver()) == {200}
    return db.session.scalar(select(Sponsorship))


def test_a_monthly_gift_is_recorded_from_its_subscription_events_alone(member, stripe_stub, client):
    sponsorship = monthly_gift_without_checkout_event(member, stripe_stub)
    assert (sponsorship.user_id, sponsorship.amount, sponsorship.currency) == (
        member.user.id,
        1000,
        "usd",
    )
    assert (sponsorship.status, sponsorship.frequency) == ("active", "monthly")
    customer = db.session.get(type(member.user), member.user.id).stripe_customer_id
    assert sponsorship.stripe_customer_id == customer
    assert "Mara" in wall_text(client) and "$10 a month" in wall_text(client)
    assert "$10 a month" in sponsorship_line(member)
    assert queries.monthly_goal().raised == 1000


@pytest.mark.parametrize("path", ["subscription events", "checkout"])
def test_a_monthly_gift_keeps_the_currency_stripe_charges_in(member, stripe_stub, path):
    """The site moves to euros while a dollar gift is on its way: the gift stays in dollars."""
    response = give(member, frequency="monthly", amount="10", recognition="name_amount")
    stripe_stub.complete_checkout(session_of(response))
    if path == "subscription events":
        stripe_stub.outbox[:] = [
            e for e in stripe_stub.outbox if not e["type"].startswith("checkout.")
        ]
    set_setting("currency", "eur")
    db.session.commit()
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(Sponsorship.currency)) == "usd"
    assert "$10 a month" in sponsorship_line(member)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("past_due", "active"), ("unpaid", "canceled"), ("canceled", "canceled")],
)
def test_a_monthly_gift_follows_failed_payments(member, stripe_stub, outcome, status):
    sponsorship = monthly_gift_without_checkout_event(member, stripe_stub)
    if outcome == "past_due":
        stripe_stub.fail_payment(sponsorship.stripe_subscription_id)
    else:
        stripe_stub.exhaust_retries(sponsorship.stripe_subscription_id, final_status=outcome)
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.get(Sponsorship, sponsorship.id).status == status
    assert (queries.monthly_goal().raised == 1000) == (status == "active")
    stopped = f"stopped on {utcnow():%d %B %Y}"
    assert (stopped in sponsorship_line(member)) == (status == "canceled")


def test_two_guests_gifts_are_two_gifts(client, stripe_stub):
    first = session_of(give(client, public_name="Gus Guest"))
    second = session_of(give(client, public_name="Hana Guest", amount="40"))
    stripe_stub.complete_checkout(first, email="gus@example.org")
    stripe_stub.complete_checkout(second, email="hana@example.org")
    assert set(stripe_stub.deliver(duplicate=2)) == {200}
    assert db.session.scalar(select(func.count(Sponsorship.id))) == 2
    wall = wall_text(client)
    assert "Gus Guest" in wall and "Hana Guest" in wall and "$40" in wall


def test_a_members_gift_joins_their_account_whatever_email_they_type(member, stripe_stub):
    session_id = session_of(give(member))
    stripe_stub.complete_checkout(session_id, email="mara.at.work@example.org")
    assert set(stripe_stub.deliver()) == {200}
    sponsorship = db.session.scalar(select(Sponsorship))
    assert sponsorship.user_id == member.user.id
    assert "$25" in sponsorship_line(member)


def test_an_address_that_opens_an_account_takes_only_its_guest_gifts(
    member, client, stripe_stub, make_user
):
    """Mara gave from her account under her work address; a guest gave under it too. When that
    address opens an account of its own, only the guest's gift joins it."""
    from membership.sponsors.services import link_guest_gifts

    typed = "mara.at.work@example.org"
    stripe_stub.complete_checkout(session_of(give(member)), email=typed)
    stripe_stub.complete_checkout(session_of(give(client, amount="40")), email=typed)
    stripe_stub.complete_checkout(session_of(give(client, amount="60")), email="gus@example.org")
    assert set(stripe_stub.deliver()) == {200}
    newcomer = make_user(typed)
    link_guest_gifts(newcomer)
    db.session.commit()
    owners = db.session.execute(select(Sponsorship.amount, Sponsorship.user_id)).all()
    assert sorted(owners) == [(2500, member.user.id), (4000, newcomer.id), (6000, None)]


def test_a_partly_refunded_gift_can_still_be_disputed(client, stripe_stub):
    from datetime import timedelta

    from membership.models.types import utcnow
    from tests.test_sponsors import gift

    sponsorship = gift(client, stripe_stub, amount="100")
    charge = db.session.scalar(select(SponsorshipPayment.stripe_charge_id))
    stripe_stub.refund(sponsorship.stripe_payment_intent_id, amount=4000)
    assert set(stripe_stub.deliver()) == {200}
    since = utcnow() - timedelta(days=1)
    assert queries.totals_since(since) == 6000
    stripe_stub.dispute(charge)
    assert set(stripe_stub.deliver()) == {200}
    assert queries.totals_since(since) == 0


@pytest.mark.parametrize(
    "order", ["as sent", "checkout first", "checkout only", "subscription event only"]
)
def test_a_monthly_bank_debit_gift_counts_only_once_the_money_arrives(
    app, member, stripe_stub, client, order
):
    """Stripe's subscription is `incomplete` until the first debit settles: no wall, no goal,
    no "active" on the account page until then, whichever event arrives first."""
    response = give(
        member, frequency="monthly", amount="10", public_name="", recognition="name_amount"
    )
    session_id = session_of(response)
    stripe_stub.complete_checkout(session_id, paid=False)
    if order == "subscription event only":  # the checkout's events are lost; an update comes
        stripe_stub.outbox.clear()
        subscription = stripe_api(stripe_stub, "GET", "/v1/subscriptions")["data"][0]
        assert subscription["status"] == "incomplete"
        assert send(app, stripe_stub, "customer.subscription.updated", subscription) == 200
    else:
        sent = {"as sent": None, "checkout first": [1, 0], "checkout only": [1]}[order]
        assert set(stripe_stub.deliver(order=sent)) == {200}
    assert db.session.scalar(select(Sponsorship.status)) == "pending"
    assert "Mara" not in wall_text(client)
    assert queries.monthly_goal().raised == 0
    assert "$10 a month" in sponsorship_line(member) and "active" not in sponsorship_line(member)

    stripe_stub.async_payment(session_id, succeeded=True)
    if order == "checkout only":  # the invoice's and the subscription's events are lost too
        stripe_stub.outbox[:] = [e for e in stripe_stub.outbox if e["type"].startswith("checkout.")]
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(Sponsorship.status)) == "active"
    assert "active" in sponsorship_line(member)
    if order != "checkout only":  # the wall and the goal count payments: the invoice brings them
        assert "Mara" in wall_text(client)
        assert queries.monthly_goal().raised == 1000


def test_a_monthly_gift_whose_first_bank_debit_fails_is_not_counted(member, stripe_stub):
    session_id = session_of(give(member, frequency="monthly", amount="10"))
    stripe_stub.complete_checkout(session_id, paid=False)
    assert set(stripe_stub.deliver()) == {200}
    stripe_stub.async_payment(session_id, succeeded=False)
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(Sponsorship.status)) == "canceled"
    assert queries.monthly_goal().raised == 0


def test_a_refunded_monthly_payment_leaves_the_totals(member, stripe_stub):
    from datetime import timedelta

    from membership.models.types import utcnow

    sponsorship = monthly_gift_without_checkout_event(member, stripe_stub)
    since = utcnow() - timedelta(days=1)
    assert queries.totals_since(since) == 1000
    charge = db.session.scalar(select(SponsorshipPayment.stripe_charge_id))
    assert charge is not None, "the monthly payment knows its charge"
    stripe_stub.refund(charge)
    assert set(stripe_stub.deliver()) == {200}
    assert queries.totals_since(since) == 0
    assert sponsorship.id


def test_the_thanks_page_records_a_monthly_gift_before_any_webhook(member, stripe_stub):
    session_id = session_of(give(member, frequency="monthly", amount="10"))
    stripe_stub.complete_checkout(session_id)
    page = member.get(f"/sponsor/thanks?session_id={session_id}").get_data(as_text=True)
    assert "Thank you!" in page and "monthly sponsorship of $10" in page
    assert db.session.scalar(select(Sponsorship.frequency)) == "monthly"


def test_a_suspended_reader_cannot_sponsor(app, member, stripe_stub, login):
    from membership.auth.standing import suspend
    from membership.models import User

    user = db.session.get(User, member.user.id)
    suspend(user, reason="Abuse")
    db.session.commit()
    client = app.test_client()
    assert login(client, user.email).status_code == 302, "a suspended reader may sign in"
    response = give(client)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Your account is suspended: payments are not possible now." in page
    assert [r for r in stripe_stub.requests if r["path"] == "/v1/checkout/sessions"] == []


def test_a_guest_gift_under_a_confirmed_accounts_email_joins_it_at_once(
    member, client, stripe_stub
):
    stripe_stub.complete_checkout(session_of(give(client)), email="MARA@example.org ")
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(Sponsorship.user_id)) == member.user.id
    assert "$25" in sponsorship_line(member)


def test_a_monthly_gift_is_thanked_once_with_its_first_payment(member, stripe_stub, mailbox):
    sponsorship = monthly_gift_without_checkout_event(member, stripe_stub)
    stripe_stub.pay_renewal(sponsorship.stripe_subscription_id)
    assert set(stripe_stub.deliver()) == {200}
    thanks = [m for m in mailbox.to("mara@example.org") if "Thank you" in m["Subject"]]
    assert len(thanks) == 1
    assert "$10" in mailbox.text_of(thanks[0])


def test_a_monthly_gift_from_a_story_tells_stripe_what_and_whose_it_is(
    member, stripe_stub, make_article
):
    harbor = make_article(slug="harbor-story", title="Harbor story")
    port = make_article(slug="port-story", title="Port story")
    # Each gift is credited to its own story, whichever of the two the database lists first.
    assert give(member, frequency="monthly", article="harbor-story").status_code == 303
    assert give(member, frequency="monthly", article="port-story").status_code == 303
    created = [r for r in stripe_stub.requests if r["path"] == "/v1/checkout/sessions"]
    assert [r["params"]["metadata"]["article"] for r in created] == [str(harbor.id), str(port.id)]
    params = created[1]["params"]
    assert params["client_reference_id"] == str(member.user.id)
    assert params["success_url"] == (
        "http://portal.test/sponsor/thanks?session_id={CHECKOUT_SESSION_ID}"
    )
    product = params["line_items"][0]["price_data"]["product_data"]
    assert product["name"] == "Monthly sponsorship of the newsroom"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": Decimal("0.50")}, "Choose an amount between 1 and 10,000."),
        ({"amount": Decimal("10000.01")}, "Choose an amount between 1 and 10,000."),
        ({"frequency": "weekly"}, "Choose once or monthly."),
        ({"recognition": "loudly"}, "Choose how you want to appear on the wall."),
        ({"message": "x" * 501}, "Messages are at most 500 characters."),
        ({"amount": Decimal("25.005")}, "Choose an amount between 1 and 10,000."),
    ],
)
def test_the_sponsorship_service_refuses_what_the_form_would(app, change, message):
    """The rules hold for any caller, not only behind the form's own checks."""
    from membership.sponsors.services import SponsorshipRefused, start_checkout

    gift_values = {
        "amount": Decimal("25"),
        "frequency": "once",
        "recognition": "name_amount",
        "message": "",
        "article_slug": None,
        "requester_key": "test",
        "public_name": "",
        **change,
    }
    with pytest.raises(SponsorshipRefused) as refused:
        start_checkout(None, **gift_values)
    assert (refused.value.message, refused.value.status) == (message, 422)


@pytest.mark.parametrize(
    ("meanwhile", "counted"), [("nothing", 2500), ("partly refunded", 1500), ("disputed", 0)]
)
def test_a_gift_recorded_days_late_keeps_what_stripe_knows_of_its_payment(
    client, stripe_stub, mailbox, meanwhile, counted
):
    """Our webhook endpoint was down for three days: the payment's date, its receipt, and a
    refund or dispute that came meanwhile (whose own events were lost) are Stripe's."""
    session_id = session_of(give(client))
    stripe_stub.complete_checkout(session_id, email="gus@example.org")
    intent = stripe_api(stripe_stub, "GET", f"/v1/checkout/sessions/{session_id}")["payment_intent"]
    charge_id = stripe_api(stripe_stub, "GET", f"/v1/payment_intents/{intent}")["latest_charge"]
    paid = utcnow() - timedelta(days=3)
    stripe_stub._db[charge_id]["created"] = int(paid.timestamp())  # the payment three days ago
    if meanwhile == "partly refunded":
        stripe_stub.refund(intent, amount=1000)
    elif meanwhile == "disputed":
        stripe_stub.dispute(charge_id)
    stripe_stub.outbox[:] = [e for e in stripe_stub.outbox if e["type"].startswith("checkout.")]
    assert set(stripe_stub.deliver()) == {200}

    assert queries.totals_since(paid - timedelta(days=1)) == counted
    text = mailbox.text_of(mailbox.last("gus@example.org"))
    assert f"Date: {paid:%d %B %Y}" in text
    receipt = stripe_api(stripe_stub, "GET", f"/v1/charges/{charge_id}")["receipt_url"]
    assert receipt and f"Receipt: {receipt}" in text
    assert "http://portal.test/sponsors" in text and "http://portal.test/account" in text


def test_a_guest_who_leaves_the_public_name_blank_appears_under_the_name_given_at_checkout(
    client, stripe_stub
):
    session_id = session_of(give(client, public_name="", recognition="name_only"))
    stripe_stub.complete_checkout(session_id, email="wanda@example.org", name="Wanda Walker")
    assert set(stripe_stub.deliver()) == {200}
    assert "Wanda Walker" in wall_text(client)


def test_a_gift_without_a_message_shows_none_on_the_wall(client, stripe_stub):
    gift(client, stripe_stub, message="", public_name="Quiet Quinn")
    wall = wall_text(client)
    assert "Quiet Quinn" in wall
    assert "<blockquote>" not in wall


def test_a_guests_one_time_gift_tells_stripe_what_it_is(client, stripe_stub):
    """Stripe's page and dashboard name the gift; its payment carries the gift's details too."""
    assert give(client).status_code == 303
    params = checkout_requests(stripe_stub)[0]["params"]
    gift_details = {
        "kind": "sponsorship",
        "frequency": "once",
        "recognition": "name_amount",
        "message": "Keep digging.",
        "article": "",
        "user_id": "",
        "name": "Gus Guest",
    }
    assert params["metadata"] == gift_details
    assert params["payment_intent_data"] == {"metadata": gift_details}
    product = params["line_items"][0]["price_data"]["product_data"]
    assert product["name"] == "Sponsorship of the newsroom"
    assert "client_reference_id" not in params and "customer" not in params


def test_a_member_who_leaves_the_public_name_blank_appears_under_their_account_name(
    member, stripe_stub, client
):
    """The name on the card is not the name the member goes by here."""
    session_id = session_of(give(member, public_name="", recognition="name_only"))
    assert checkout_requests(stripe_stub)[0]["params"]["metadata"]["name"] == "Mara"
    stripe_stub.complete_checkout(session_id, name="M. Card Holder")
    assert set(stripe_stub.deliver()) == {200}
    wall = wall_text(client)
    assert "Mara" in wall and "Card Holder" not in wall


def test_a_gift_from_a_story_not_yet_published_is_not_credited_to_it(
    client, stripe_stub, make_article
):
    make_article(slug="draft-story", title="Draft story", status="draft")
    assert give(client, article="draft-story").status_code == 303
    assert checkout_requests(stripe_stub)[0]["params"]["metadata"]["article"] == ""


def test_a_message_of_exactly_500_characters_reaches_stripe_whole(client, stripe_stub):
    message = "x" * 500
    assert give(client, message=message).status_code == 303
    assert checkout_requests(stripe_stub)[0]["params"]["metadata"]["message"] == message


def test_the_sponsorship_service_cuts_a_public_name_to_80_characters(app, stripe_stub):
    """Runs of spaces count once; the wall has room for 80 characters."""
    from membership.sponsors.services import start_checkout

    start_checkout(
        None,
        amount=Decimal("25"),
        frequency="once",
        recognition="name_only",
        message="",
        article_slug=None,
        requester_key="test",
        public_name="  Gus    " + "G" * 100,
    )
    name = checkout_requests(stripe_stub)[0]["params"]["metadata"]["name"]
    assert name == ("Gus " + "G" * 100)[:80]


def test_a_suspended_readers_gift_is_refused_in_these_words(app, member, stripe_stub, login):
    from membership.auth.standing import suspend
    from membership.models import User

    suspend(db.session.get(User, member.user.id), reason="Abuse")
    db.session.commit()
    client = app.test_client()
    assert login(client, member.user.email).status_code == 302
    response = give(client)
    assert (response.status_code, alerts(response)) == (
        403,
        ["Your account is suspended: payments are not possible now."],
    )


def test_a_guests_monthly_gift_is_refused_in_these_words(client, stripe_stub):
    response = give(client, frequency="monthly")
    assert (response.status_code, alerts(response)) == (
        403,
        ["Monthly sponsorships need a confirmed account, so that you can change or stop them."],
    )


def test_a_checkout_page_is_reused_only_by_the_same_sponsor_within_ten_minutes(
    app, client, stripe_stub, monkeypatch
):
    """A double click returns the same Checkout page; another guest giving the same gift, or
    the same guest once the clock passes a ten-minute mark, gets a new one."""
    from membership.sponsors import services

    clock = {"now": 600 * 3_000_000 - 1.0}  # a second before a ten-minute mark
    monkeypatch.setattr(services, "time", SimpleNamespace(time=lambda: clock["now"]))
    first = give(client).headers["Location"]
    assert give(client).headers["Location"] == first
    another_guest = app.test_client().submit("/sponsor/checkout", GIFT, page="/sponsor")
    assert another_guest.headers["Location"] != first
    clock["now"] += 1
    assert give(client).headers["Location"] != first


def test_a_guest_who_gives_no_name_at_all_appears_as_a_reader(client, stripe_stub):
    session_id = session_of(give(client, public_name="", recognition="name_only"))
    stripe_stub.complete_checkout(session_id, email="nameless@example.org")
    assert set(stripe_stub.deliver()) == {200}
    assert "<strong>A reader</strong>" in wall_text(client)


def test_a_nameless_guest_gift_under_an_accounts_email_shows_the_accounts_name(
    member, client, stripe_stub
):
    session_id = session_of(give(client, public_name="", recognition="name_only"))
    stripe_stub.complete_checkout(session_id, email="mara@example.org")
    assert set(stripe_stub.deliver()) == {200}
    assert "<strong>Mara</strong>" in wall_text(client)


def test_a_long_name_given_at_checkout_is_cut_to_80_characters(client, stripe_stub):
    session_id = session_of(give(client, public_name="", recognition="name_only"))
    stripe_stub.complete_checkout(session_id, email="long@example.org", name="W" * 100)
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(Sponsorship.display_name)) == "W" * 80


def test_a_gift_whose_wall_choice_is_unknown_stays_anonymous(client, stripe_stub):
    """Metadata edited in Stripe's dashboard, or lost: nobody is named without their choice."""
    session_id = session_of(give(client, recognition="name_amount"))
    del stripe_stub._db[session_id]["metadata"]["recognition"]
    stripe_stub.complete_checkout(session_id, email="gus@example.org")
    assert set(stripe_stub.deliver()) == {200}
    wall = wall_text(client)
    assert "Anonymous" in wall and "Gus Guest" not in wall


def test_deleting_an_account_stops_its_monthly_gift_and_takes_its_name_off_the_wall(
    member, stripe_stub, client
):
    """Any Stripe subscription ends before the account goes; the gifts keep their amounts, not
    the name. Stripe's events about the stopped gift come after the account is gone."""
    from tests.conftest import PASSWORD

    sponsorship = monthly_gift_without_checkout_event(member, stripe_stub)
    since = utcnow() - timedelta(days=1)
    assert "Mara" in wall_text(client)
    response = member.submit(
        "/account/delete", {"current_password": PASSWORD, "understood": "y"}, page="/account"
    )
    assert response.status_code == 302
    assert set(stripe_stub.deliver()) == {200}
    path = f"/v1/subscriptions/{sponsorship.stripe_subscription_id}"
    assert stripe_api(stripe_stub, "GET", path)["status"] == "canceled"
    stopped = db.session.get(Sponsorship, sponsorship.id)
    assert (stopped.status, stopped.user_id, stopped.email) == ("canceled", None, None)
    assert "Mara" not in wall_text(client)
    assert queries.totals_since(since) == 1000


def test_a_members_one_time_gift_is_filed_under_their_stripe_customer_and_checkout(
    member, stripe_stub
):
    """What an operator needs to find the gift in Stripe's dashboard."""
    session_id = session_of(give(member))
    stripe_stub.complete_checkout(session_id)
    assert set(stripe_stub.deliver()) == {200}
    customer = db.session.get(type(member.user), member.user.id).stripe_customer_id
    sponsorship = db.session.scalar(select(Sponsorship))
    assert customer and sponsorship.stripe_customer_id == customer
    assert sponsorship.stripe_checkout_session_id == session_id


def test_a_paid_invoice_for_no_subscription_is_acknowledged_and_is_no_gift(app, stripe_stub):
    """An operator bills someone once from Stripe's dashboard: no gift, and no retries."""
    from tests.stripe_stub._util import fixture, new_id

    invoice = fixture("invoice")
    invoice.update(id=new_id("in_"), status="paid", parent=None, amount_paid=5000)
    stripe_stub._db[invoice["id"]] = invoice
    assert send(app, stripe_stub, "invoice.paid", invoice) == 200
    assert db.session.scalar(select(func.count(SponsorshipPayment.id))) == 0


def test_a_gift_recorded_by_another_delivery_at_the_same_moment_counts_once(
    client, stripe_stub, mailbox
):
    """The thanks page and the webhook race: the other one inserts the gift between this one's
    lookup and its insert. The page still thanks the sponsor, and the gift exists once."""
    from sqlalchemy import event, insert

    session_id = session_of(give(client))
    stripe_stub.complete_checkout(session_id, email="gus@example.org")

    def the_other_delivery_first(target, args, values):
        with db.engine.connect() as other:
            other.execute(insert(Sponsorship).values(status="pending", **values))
            other.commit()

    event.listen(Sponsorship, "init", the_other_delivery_first, once=True)
    try:
        page = client.get(f"/sponsor/thanks?session_id={session_id}")
    finally:
        event.remove(Sponsorship, "init", the_other_delivery_first)
    assert page.status_code == 200 and "Thank you!" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Sponsorship.id))) == 1
    assert db.session.scalar(select(Sponsorship.status)) == "paid"
    assert db.session.scalar(select(func.count(SponsorshipPayment.id))) == 1
