"""What `access.membership_of` answers, and that the answer follows a change made in the same
request or job (issue 15)."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import event, select

from membership.access import (
    complimentary_active,
    effective_tier_id,
    has_paid_access,
    may_read,
    membership_of,
    paying_condition,
    sponsor_condition,
)
from membership.extensions import db
from membership.models import AccessLevel, Article, Sponsorship, Subscription, Tier, User
from membership.models.types import utcnow


def live_subscription(user, tier, **fields) -> Subscription:
    subscription = Subscription(
        user_id=user.id,
        tier_id=tier.id,
        stripe_subscription_id=f"sub_{user.id}_{tier.slug}",
        stripe_customer_id=f"cus_{user.id}",
        status="active",
        current_period_end=utcnow() + timedelta(days=20),
        **fields,
    )
    db.session.add(subscription)
    return subscription


def a_tier(slug="patron", name="Patron") -> Tier:
    tier = Tier(slug=slug, name=name, monthly_price=1500, yearly_price=15000)
    db.session.add(tier)
    db.session.flush()
    return tier


def test_an_anonymous_visitor_is_a_free_reader(app):
    visitor = AnonymousUserMixin()
    with app.test_request_context("/"):
        assert (membership_of(visitor).tier, membership_of(visitor).is_paying) == (None, False)
        assert has_paid_access(visitor) is False
        assert has_paid_access(None) is False
        paid = Article(slug="paid", title="Paid", access_level=AccessLevel.PAID)
        assert may_read(visitor, paid) is False


def test_a_subscriber_holds_their_subscriptions_tier(app, make_user):
    reader, patron = make_user(), a_tier()
    subscription = live_subscription(reader, patron)
    db.session.commit()
    with app.test_request_context("/"):
        membership = membership_of(reader)
        assert (membership.tier.name, membership.source) == ("Patron", "subscription")
        assert membership.subscription.id == subscription.id and membership.is_paying


def test_a_subscription_started_during_a_request_counts_in_that_request(app, make_user):
    """The success page syncs the subscription, then renders the reader's plan."""
    reader, patron = make_user(), a_tier()
    db.session.commit()
    with app.test_request_context("/"):
        assert membership_of(reader).is_paying is False
        live_subscription(reader, patron)
        db.session.flush()
        assert membership_of(reader).tier.name == "Patron"


def test_a_job_sees_each_change_of_membership(app, make_user):
    """A worker runs jobs one after another in one application context, with no request: what
    it learnt of a member in one job must not answer for the next."""
    reader, patron = make_user(), a_tier()
    db.session.commit()
    assert membership_of(reader).is_paying is False
    live_subscription(reader, patron)
    db.session.commit()
    assert membership_of(reader).tier.name == "Patron"


@contextmanager
def statements_run():
    """The SQL statements sent to the database inside the block."""
    seen: list[str] = []

    def remember(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)


def reads_membership(statement: str) -> bool:
    """A statement of its own for a reader's subscriptions or tiers."""
    return statement.startswith(("SELECT subscriptions.", "SELECT tiers."))


@pytest.mark.parametrize("kind", ["subscription", "complimentary"])
def test_a_paying_members_story_reads_their_membership_with_their_session(
    app, make_user, login, make_article, kind
):
    """A paid story asks about the reader's membership several times (the paywall, the comment
    gate, the badges); the session's one statement already read it, tiers included."""
    reader = make_user("paying@example.org", paying=kind == "complimentary")
    if kind == "subscription":
        live_subscription(reader, a_tier())
        db.session.commit()
    story = make_article(access_level="paid")
    client = app.test_client()
    login(client, reader.email)
    with statements_run() as statements:
        page = client.get(f"/articles/{story.slug}")
    assert page.status_code == 200 and "The body of the story." in page.text
    assert any("FROM user_sessions" in statement for statement in statements)
    assert [statement for statement in statements if reads_membership(statement)] == []


def test_a_request_asks_the_database_once_about_a_readers_membership(app, make_user):
    """Another reader than the signed-in one (a moderator's page lists several): the answer is
    kept for the rest of the request."""
    reader = make_user()
    live_subscription(reader, a_tier())
    db.session.commit()
    with app.test_request_context("/"):
        reader = db.session.get(User, reader.id)
        with statements_run() as first:
            assert membership_of(reader).tier.name == "Patron"
        with statements_run() as again:
            assert membership_of(reader).tier.name == "Patron"
    assert len(first) >= 1 and again == []


def test_a_job_finds_only_the_readers_own_subscription(app, make_user):
    subscriber, neighbour = make_user(), make_user()
    live_subscription(subscriber, a_tier())
    db.session.commit()
    assert membership_of(neighbour).is_paying is False
    assert membership_of(subscriber).tier.name == "Patron"


def test_of_two_live_subscriptions_the_newest_gives_the_tier(app, make_user):
    """A reader who subscribed again (say in the billing portal) before the first ended holds
    the newer plan; of two started in the same instant, the one recorded last."""
    reader = make_user()
    supporter, patron = a_tier("supporter", "Supporter"), a_tier()
    started = utcnow() - timedelta(days=3)
    live_subscription(reader, patron, created_at=started + timedelta(days=1))
    db.session.flush()
    live_subscription(reader, supporter, created_at=started)
    db.session.commit()
    assert membership_of(reader).tier.name == "Patron", "newest by start, not by row"

    again = make_user()
    live_subscription(again, patron, created_at=started)
    db.session.flush()
    live_subscription(again, supporter, created_at=started)
    db.session.commit()
    assert membership_of(again).tier.name == "Supporter"


def test_a_membership_cancelled_at_period_end_stops_when_the_period_is_over(app, make_user):
    """Stripe's final "deleted" webhook is late: the period's end (and an hour's grace) decides."""
    reader = make_user()
    subscription = live_subscription(reader, a_tier(), cancel_at_period_end=True)
    subscription.current_period_end = utcnow() - timedelta(hours=2)
    db.session.commit()
    assert membership_of(reader).is_paying is False


def test_a_member_whose_card_failed_keeps_access_and_is_asked_for_a_new_card(app, make_user):
    reader = make_user()
    live_subscription(reader, a_tier()).status = "past_due"
    db.session.commit()
    membership = membership_of(reader)
    assert (membership.is_paying, membership.needs_new_card) == (True, True)


def test_a_complimentary_member_holds_the_granted_tier_until_the_date_given(app, make_user):
    reader = make_user(paying=True, complimentary_until=utcnow() + timedelta(days=7))
    membership = membership_of(reader)
    assert (membership.source, membership.tier.name) == ("complimentary", "Supporter")
    assert membership.needs_new_card is False


# The boundaries, at the exact instant (`now` is a parameter of each rule): a paid period, a
# complimentary grant and a gift's year each end at their end instant, which is no longer in.


def test_a_downgrade_takes_effect_at_the_instant_the_paid_period_ends(app):
    supporter, patron = a_tier("supporter", "Supporter"), a_tier()
    now = utcnow()
    subscription = Subscription(
        tier_id=supporter.id, previous_tier_id=patron.id, previous_tier_until=now
    )
    assert effective_tier_id(subscription, now - timedelta(microseconds=1)) == patron.id
    assert effective_tier_id(subscription, now) == supporter.id


def test_a_complimentary_membership_ends_at_its_end_instant(app, make_user):
    now = utcnow()
    reader = make_user(paying=True, complimentary_until=now)
    assert complimentary_active(reader, now - timedelta(microseconds=1)) is True
    assert complimentary_active(reader, now) is False
    paying = select(User.id).where(paying_condition(now), User.id == reader.id)
    assert db.session.scalar(paying) is None


def test_a_one_time_gifts_badge_ends_a_year_to_the_instant(app, make_user):
    now = utcnow()
    sponsor = make_user()
    db.session.add(
        Sponsorship(
            user_id=sponsor.id,
            email=sponsor.email,
            frequency="once",
            amount=1000,
            currency="eur",
            recognition="name_only",
            status="paid",
            created_at=now - timedelta(days=365),
        )
    )
    db.session.commit()
    badge = select(User.id).where(sponsor_condition(now), User.id == sponsor.id)
    assert db.session.scalar(badge) is None
    earlier = select(User.id).where(sponsor_condition(now - timedelta(seconds=1)))
    assert db.session.scalar(earlier) == sponsor.id


def test_a_subscription_recorded_without_a_tier_is_no_membership(app, make_user):
    """Another product's subscription (print) saved for a member before such subscriptions were
    ignored: no paid access, no "Member" badge."""
    reader = make_user()
    print_edition = Subscription(
        user_id=reader.id,
        stripe_subscription_id="sub_print",
        stripe_customer_id="cus_print",
        status="active",
        current_period_end=utcnow() + timedelta(days=20),
    )
    db.session.add(print_edition)
    db.session.commit()
    assert membership_of(reader).is_paying is False
    paying = select(User.id).where(paying_condition(utcnow()), User.id == reader.id)
    assert db.session.scalar(paying) is None


def test_a_member_who_moved_to_a_cheaper_plan_keeps_the_dearer_one_until_the_period_ends(
    app, make_user
):
    reader = make_user()
    supporter, patron = a_tier("supporter", "Supporter"), a_tier()
    subscription = live_subscription(reader, supporter, previous_tier_id=patron.id)
    subscription.previous_tier_until = utcnow() + timedelta(days=3)
    db.session.commit()
    assert membership_of(reader).tier.name == "Patron"
