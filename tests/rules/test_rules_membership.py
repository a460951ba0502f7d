"""What `access.membership_of` answers, and that the answer follows a change made in the same
request or job (issue 15)."""

from datetime import timedelta

from flask_login import AnonymousUserMixin

from membership.access import has_paid_access, may_read, membership_of
from membership.extensions import db
from membership.models import AccessLevel, Article, Subscription, Tier
from membership.models.types import utcnow


def live_subscription(user, tier, **fields) -> Subscription:
    subscription = Subscription(
        user_id=user.id,
        tier_id=tier.id,
        stripe_subscription_id=f"sub_{user.id}",
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
