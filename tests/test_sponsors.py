"""Sponsorships through the pages and the stand-in Stripe server: gifts, wall, refunds, goal."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from membership.extensions import db
from membership.models import Sponsorship, SponsorshipPayment, User
from membership.models.types import utcnow
from membership.sponsors import queries
from tests.conftest import connect_webhooks, stripe_settings

GIFT = {
    "amount": "25",
    "frequency": "once",
    "recognition": "name_amount",
    "message": "Keep digging.",
    "public_name": "Gus Guest",
}


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


@pytest.fixture(autouse=True)
def webhooks(app, stripe_stub):
    connect_webhooks(stripe_stub, app)


@pytest.fixture
def member(app, make_user, login):
    user = make_user("mara@example.org", display_name="Mara")
    client = app.test_client()
    login(client, user.email)
    client.user = user
    return client


def give(client, **changes):
    return client.submit("/sponsor/checkout", {**GIFT, **changes}, page="/sponsor")


def session_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return re.search(r"/pay/(cs_[A-Za-z0-9_]+)", response.headers["Location"]).group(1)


def checkout_requests(stub):
    return [r for r in stub.requests if r["path"] == "/v1/checkout/sessions"]


def gift(client, stub, *, email="gus@example.org", deliver=True, **changes) -> Sponsorship:
    stub.complete_checkout(session_of(give(client, **changes)), email=email)
    if deliver:
        assert set(stub.deliver()) == {200}
    return db.session.scalars(select(Sponsorship).order_by(Sponsorship.id.desc())).first()


def wall_text(client) -> str:
    return client.get("/sponsors").get_data(as_text=True)


def test_guest_gives_once_and_appears_as_chosen(client, stripe_stub, mailbox):
    response = give(client)
    params = checkout_requests(stripe_stub)[0]["params"]
    assert params["mode"] == "payment" and params["submit_type"] == "donate"
    assert int(params["line_items"][0]["price_data"]["unit_amount"]) == 2500
    assert "customer" not in params, "Checkout collects the guest's email"
    stripe_stub.complete_checkout(session_of(response), email="gus@example.org")
    assert db.session.scalar(select(Sponsorship)) is None, "nothing before Stripe's word"
    assert set(stripe_stub.deliver()) == {200}
    sponsorship = db.session.scalar(select(Sponsorship))
    assert (sponsorship.status, sponsorship.amount, sponsorship.email) == (
        "paid",
        2500,
        "gus@example.org",
    )
    assert db.session.scalar(select(func.sum(SponsorshipPayment.amount))) == 2500
    wall = wall_text(client)
    assert "Gus Guest" in wall and "$25" in wall and "Keep digging." in wall
    thanks = mailbox.last("gus@example.org")
    assert thanks["Subject"] == "Thank you for sponsoring our journalism"
    assert "$25" in mailbox.text_of(thanks)


def test_thanks_page_records_the_gift_from_a_lookup(client, stripe_stub):
    session_id = session_of(give(client))
    stripe_stub.complete_checkout(session_id, email="gus@example.org")
    page = client.get(f"/sponsor/thanks?session_id={session_id}").get_data(as_text=True)
    assert "Thank you!" in page
    assert set(stripe_stub.deliver()) == {200}
    assert db.session.scalar(select(func.count(Sponsorship.id))) == 1
    assert db.session.scalar(select(func.count(SponsorshipPayment.id))) == 1


@pytest.mark.parametrize(
    ("recognition", "shows_name", "shows_amount"),
    [("name_amount", True, True), ("name_only", True, False), ("anonymous", False, False)],
)
def test_recognition_choices_on_the_wall(
    client, stripe_stub, recognition, shows_name, shows_amount
):
    gift(client, stripe_stub, recognition=recognition, amount="37")
    wall = wall_text(client)
    assert ("Gus Guest" in wall) == shows_name
    assert ("$37" in wall) == shows_amount
    assert ("Anonymous" in wall) == (not shows_name)
    assert ("Keep digging." in wall) == shows_name


def test_monthly_needs_a_confirmed_account(client, stripe_stub):
    response = give(client, frequency="monthly")
    assert response.status_code == 403
    assert "need a confirmed account" in response.get_data(as_text=True)
    assert checkout_requests(stripe_stub) == []


def test_member_gives_monthly(member, stripe_stub, client):
    response = give(member, frequency="monthly", amount="10", public_name="Mara")
    params = checkout_requests(stripe_stub)[0]["params"]
    assert params["mode"] == "subscription"
    assert params["line_items"][0]["price_data"]["recurring"]["interval"] == "month"
    assert params["customer"]
    stripe_stub.complete_checkout(session_of(response))
    assert set(stripe_stub.deliver()) == {200}
    sponsorship = db.session.scalar(select(Sponsorship))
    assert (sponsorship.status, sponsorship.frequency, sponsorship.user_id) == (
        "active",
        "monthly",
        member.user.id,
    )
    assert db.session.scalar(select(func.count(SponsorshipPayment.id))) == 1
    assert "$10 a month" in wall_text(client)
    assert queries.monthly_goal().raised == 1000
    # A renewal is counted once more; its duplicate delivery is not.
    stripe_stub.pay_renewal(sponsorship.stripe_subscription_id)
    stripe_stub.deliver(duplicate=2)
    assert db.session.scalar(select(func.count(SponsorshipPayment.id))) == 2


@pytest.mark.parametrize(
    "amount", ["12.345", "-5", "1e9", "", "abc", "0", "0.99", "10000.01", "25,00", " 5 5", "∞"]
)
def test_bad_amounts_are_form_errors_and_never_reach_stripe(client, stripe_stub, amount):
    response = give(client, amount=amount)
    assert response.status_code == 422
    assert "amount" in response.get_data(as_text=True).lower()
    assert checkout_requests(stripe_stub) == []


@pytest.mark.parametrize(("amount", "minor"), [("1", 100), ("12.50", 1250), ("10000", 1000000)])
def test_amounts_within_bounds_are_sent_in_minor_units(client, stripe_stub, amount, minor):
    session_of(give(client, amount=amount))
    params = checkout_requests(stripe_stub)[0]["params"]
    assert int(params["line_items"][0]["price_data"]["unit_amount"]) == minor


@pytest.fixture
def fuzz_client(make_app, stripe_stub):
    """One app for every generated example, with the checkout rate limit lifted."""
    app = make_app(**stripe_settings(stripe_stub, SPONSOR_CHECKOUT_LIMIT="100000/minute"))
    return app.test_client()


def sent_amounts(stub, since: int) -> list[int]:
    """`unit_amount` of each Checkout Session the stand-in was asked for after `since`."""
    return [
        int(request["params"]["line_items"][0]["price_data"]["unit_amount"])
        for request in checkout_requests(stub)[since:]
    ]


def test_nothing_out_of_bounds_reaches_stripe(fuzz_client, stripe_stub):
    """Any text: refused with nothing sent, or accepted and sent exactly, in minor units."""

    # The app and the stand-in are shared by every example on purpose (one app, not 500): each
    # example only looks at the requests made after its own `before`.
    @settings()
    @given(amount=st.one_of(st.text(max_size=12), st.decimals(allow_nan=False).map(str)))
    def check(amount):
        before = len(checkout_requests(stripe_stub))
        response = give(fuzz_client, amount=amount)
        assert response.status_code in (303, 400, 422)
        sent = sent_amounts(stripe_stub, before)
        if response.status_code == 303:
            assert sent == [int(Decimal(amount.strip()) * 100)]
            assert 100 <= sent[0] <= 1000000
        else:
            assert sent == []

    check()


def test_every_amount_within_bounds_is_accepted_and_sent_exactly(fuzz_client, stripe_stub):
    """1 to 10,000 with at most two decimals, written "25", "25.5" or "25.50": all reach Stripe."""

    @settings()
    @given(
        amount=st.decimals(min_value=1, max_value=10000, places=2),
        written=st.sampled_from(["{:f}", "{:.2f}", " {:.2f} "]),
    )
    def check(amount, written):
        text = written.format(amount.normalize() if written == "{:f}" else amount)
        before = len(checkout_requests(stripe_stub))
        response = give(fuzz_client, amount=text)
        assert response.status_code == 303, (text, response.get_data(as_text=True))
        assert sent_amounts(stripe_stub, before) == [int(amount * 100)]
        assert (
            checkout_requests(stripe_stub)[-1]["params"]["line_items"][0]["price_data"]["currency"]
            == "usd"
        )

    check()


@pytest.mark.parametrize(
    "changes",
    [
        {"frequency": "weekly"},
        {"recognition": "billboard"},
        {"frequency": ""},
        {"message": "x" * 501},
    ],
)
def test_tampered_choices_are_refused(client, stripe_stub, changes):
    assert give(client, **changes).status_code == 422
    assert checkout_requests(stripe_stub) == []


def test_admin_bounds_and_presets_apply(client, stripe_stub):
    from membership.settings import set_setting

    set_setting("sponsor_min", 5)
    set_setting("sponsor_max", 50)
    set_setting("sponsor_presets", [7, 14])
    db.session.commit()
    page = client.get("/sponsor").get_data(as_text=True)
    assert 'data-value="7"' in page and 'data-value="14"' in page
    assert give(client, amount="4").status_code == 422
    assert give(client, amount="51").status_code == 422
    assert give(client, amount="5").status_code == 303


def test_guest_gift_joins_the_account_confirmed_later(client, stripe_stub, mailbox):
    gift(client, stripe_stub, email="later@example.org")
    password = "a long and quiet harbor night"
    client.submit(
        "/register",
        {
            "email": "later@example.org",
            "display_name": "Later",
            "password": password,
            "password_confirm": password,
        },
    )
    assert db.session.scalar(select(Sponsorship.user_id)) is None, "not before confirmation"
    link = mailbox.link("later@example.org", "/confirm/").removeprefix("http://portal.test")
    client.submit(link)
    user = db.session.scalar(select(User).where(User.email == "later@example.org"))
    assert db.session.scalar(select(Sponsorship.user_id)) == user.id
    client.submit("/login", {"email": "later@example.org", "password": password})
    assert "$25" in client.get("/account").get_data(as_text=True)


def test_full_refund_removes_the_gift_from_wall_and_totals(client, stripe_stub):
    sponsorship = gift(client, stripe_stub)
    assert queries.totals_since(utcnow() - timedelta(days=1)) == 2500
    stripe_stub.refund(sponsorship.stripe_payment_intent_id)
    assert set(stripe_stub.deliver()) == {200}
    assert queries.totals_since(utcnow() - timedelta(days=1)) == 0
    assert "Gus Guest" not in wall_text(client)


def test_partial_refund_counts_the_rest(client, stripe_stub):
    sponsorship = gift(client, stripe_stub, amount="100")
    stripe_stub.refund(sponsorship.stripe_payment_intent_id, amount=3000)
    stripe_stub.deliver()
    stripe_stub.refund(sponsorship.stripe_payment_intent_id, amount=1000)
    stripe_stub.deliver()
    assert queries.totals_since(utcnow() - timedelta(days=1)) == 6000
    assert queries.totals_by_month(1) == [(utcnow().strftime("%Y-%m"), 6000)]
    assert "Gus Guest" in wall_text(client)


@pytest.mark.parametrize(("outcome", "counted"), [("won", True), ("lost", False)])
def test_dispute_removes_the_gift_until_won(client, stripe_stub, outcome, counted):
    sponsorship = gift(client, stripe_stub)
    charge = db.session.scalar(select(SponsorshipPayment.stripe_charge_id))
    dispute = stripe_stub.dispute(charge)
    stripe_stub.deliver()
    assert queries.totals_since(utcnow() - timedelta(days=1)) == 0
    assert "Gus Guest" not in wall_text(client)
    stripe_stub.close_dispute(dispute, status=outcome)
    stripe_stub.deliver()
    assert (queries.totals_since(utcnow() - timedelta(days=1)) == 2500) == counted
    assert ("Gus Guest" in wall_text(client)) == counted
    assert sponsorship.id


def test_duplicate_and_reordered_webhooks_count_once(client, stripe_stub):
    stripe_stub.complete_checkout(session_of(give(client)), email="gus@example.org")
    count = len(stripe_stub.outbox)
    statuses = stripe_stub.deliver(order=list(reversed(range(count))), duplicate=2)
    assert set(statuses) == {200}
    assert db.session.scalar(select(func.count(Sponsorship.id))) == 1
    assert db.session.scalar(select(func.count(SponsorshipPayment.id))) == 1


def test_member_changes_recognition_and_the_wall_follows(member, stripe_stub, client):
    sponsorship = gift(member, stripe_stub, email=None, public_name="Mara")
    assert "Mara" in wall_text(client)
    response = member.submit(
        f"/account/sponsorships/{sponsorship.id}/recognition",
        {"recognition": "anonymous", "message": ""},
        page="/account",
    )
    assert response.status_code == 302
    wall = wall_text(client)
    assert "Mara" not in wall and "Anonymous" in wall


def test_another_readers_sponsorship_cannot_be_changed(app, member, stripe_stub, make_user, login):
    sponsorship = gift(member, stripe_stub, email=None)
    other = app.test_client()
    login(other, make_user("other@example.org").email)
    response = other.submit(
        f"/account/sponsorships/{sponsorship.id}/recognition",
        {"recognition": "anonymous"},
        page="/account",
    )
    assert response.status_code == 404
    assert db.session.get(Sponsorship, sponsorship.id).recognition == "name_amount"


def test_change_and_stop_a_monthly_gift(member, stripe_stub):
    sponsorship = gift(member, stripe_stub, email=None, frequency="monthly", amount="10")
    response = member.submit(
        f"/account/sponsorships/{sponsorship.id}/amount", {"amount": "15"}, page="/account"
    )
    assert response.status_code == 302
    assert db.session.get(Sponsorship, sponsorship.id).amount == 1500
    bad = member.submit(
        f"/account/sponsorships/{sponsorship.id}/amount", {"amount": "1e9"}, page="/account"
    )
    assert bad.status_code == 422
    member.submit(f"/account/sponsorships/{sponsorship.id}/cancel", page="/account")
    stripe_stub.deliver()
    assert db.session.get(Sponsorship, sponsorship.id).status == "canceled"
    assert queries.monthly_goal().raised == 0


def test_sponsor_this_story_passes_the_article(client, stripe_stub, make_article):
    make_article(slug="port-story", title="Port story")
    page = client.get("/articles/port-story").get_data(as_text=True)
    assert 'href="/sponsor?article=port-story"' in page
    form = client.get("/sponsor?article=port-story").get_data(as_text=True)
    assert 'value="port-story"' in form
    gift(client, stripe_stub, article="port-story")
    assert queries.totals_by_article() == [("Port story", "port-story", 2500)]


def test_sponsor_badge_on_comments_unless_anonymous(app, member, stripe_stub, make_article):
    from membership.models import Comment

    article = make_article(slug="story")
    sponsorship = gift(member, stripe_stub, email=None)
    db.session.add(Comment(article_id=article.id, author_id=member.user.id, body="Hello"))
    db.session.commit()
    page = app.test_client().get("/articles/story").get_data(as_text=True)
    assert 'badge-sponsor">Sponsor<' in page
    member.submit(
        f"/account/sponsorships/{sponsorship.id}/recognition",
        {"recognition": "anonymous"},
        page="/account",
    )
    assert 'badge-sponsor">Sponsor<' not in app.test_client().get("/articles/story").get_data(
        as_text=True
    )


def test_stripe_outage_during_sponsor_checkout(client, stripe_stub):
    stripe_stub.fail_next(3)
    response = give(client)
    assert response.status_code == 503
    assert "not responding" in response.get_data(as_text=True)
    assert db.session.scalar(select(Sponsorship)) is None


def test_goal_progress_arithmetic(app):
    from membership.settings import set_setting

    set_setting("sponsor_goal_amount", 100)
    now = utcnow()

    def monthly(amount, status="active", refunded=0, disputed=False, frequency="monthly"):
        sponsorship = Sponsorship(
            frequency=frequency,
            amount=amount,
            currency="usd",
            recognition="anonymous",
            status=status,
            display_name="x",
        )
        db.session.add(sponsorship)
        db.session.flush()
        db.session.add_all(
            [
                SponsorshipPayment(
                    sponsorship_id=sponsorship.id,
                    stripe_reference=f"old-{sponsorship.id}",
                    amount=amount,
                    amount_refunded=amount,  # an older month fully refunded: not the latest
                    paid_at=now - timedelta(days=31),
                ),
                SponsorshipPayment(
                    sponsorship_id=sponsorship.id,
                    stripe_reference=f"new-{sponsorship.id}",
                    amount=amount,
                    amount_refunded=refunded,
                    disputed=disputed,
                    paid_at=now - timedelta(days=1),
                ),
            ]
        )

    monthly(1000)
    monthly(2500)
    monthly(5000, refunded=2000)
    monthly(4000, disputed=True)
    monthly(9000, status="canceled")
    monthly(7000, status="paid", frequency="once")
    db.session.commit()
    goal = queries.monthly_goal()
    assert goal.raised == 1000 + 2500 + 3000
    assert goal.amount == 10000
    assert goal.percent == 65
