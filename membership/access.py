"""Who may read, who counts as paying, and which tier a reader holds: the one place to ask."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import g, has_request_context
from sqlalchemy import and_, event, exists, or_, select
from sqlalchemy.orm import Session

from membership.extensions import db
from membership.models import AccessLevel, Article, Sponsorship, Subscription, Tier, User
from membership.models.types import utcnow

# Statuses in which Stripe still expects to be paid; access then depends on subscription_access.
LIVE_STATUSES = ("active", "trialing", "past_due")
# A subscription set to end at period end whose "deleted" webhook has not arrived yet.
CANCEL_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class SubscriptionAccess:
    """Whether a subscription gives access, and whether the reader must update their card."""

    has_access: bool
    needs_new_card: bool = False


def subscription_access(
    status: str,
    cancel_at_period_end: bool,
    current_period_end: datetime | None,
    now: datetime,
) -> SubscriptionAccess:
    """The access a Stripe subscription state gives (pure: no database, no clock of its own).

    active and trialing give access; past_due keeps it, with an "update your card" banner, until
    Stripe ends the subscription; every other status gives none. A subscription cancelled at
    period end stops at that end even if Stripe's final webhook is late.
    """
    if status in ("active", "trialing", "past_due"):
        if (
            cancel_at_period_end
            and current_period_end is not None
            and now > current_period_end + CANCEL_GRACE
        ):
            return SubscriptionAccess(False)
        return SubscriptionAccess(True, needs_new_card=status == "past_due")
    return SubscriptionAccess(False)


@dataclass(frozen=True)
class Membership:
    """What a reader holds right now."""

    tier: Tier | None
    source: str  # "subscription", "complimentary" or "free"
    subscription: Subscription | None = None
    needs_new_card: bool = False

    @property
    def is_paying(self) -> bool:
        return self.source in ("subscription", "complimentary")


# Nothing compares a source with "free" (is_paying lists the paying ones): one shared value.
FREE = Membership(None, "free")


def complimentary_active(user: User, now: datetime) -> bool:
    """A complimentary tier with no end, or one that ends later than `now`."""
    return user.complimentary_tier_id is not None and (
        user.complimentary_until is None or user.complimentary_until > now
    )


def effective_tier_id(subscription: Subscription, now: datetime) -> int | None:
    """After a downgrade, the higher tier stays until the end of the period already paid."""
    until = subscription.previous_tier_until
    if subscription.previous_tier_id and until and until > now:
        return subscription.previous_tier_id
    return subscription.tier_id


def membership_of(user: User | None) -> Membership:
    """The reader's membership: a live subscription, else a complimentary tier, else free.

    Cached for the request, because the gate, the page and the badges all ask.
    """
    if user is None or not user.is_authenticated:
        return FREE
    cache = g.setdefault("memberships", {}) if has_request_context() else {}
    if user.id in cache:
        return cache[user.id]
    now = utcnow()
    result = FREE
    for subscription in _live_subscriptions(user):
        access = subscription_access(
            subscription.status,
            subscription.cancel_at_period_end,
            subscription.current_period_end,
            now,
        )
        # A row without a tier is another product (saved so before sync_subscription ignored
        # those): never a membership.
        if access.has_access and subscription.tier_id is not None:
            tier = db.session.get(Tier, effective_tier_id(subscription, now))
            result = Membership(tier, "subscription", subscription, access.needs_new_card)
            break
    else:
        if complimentary_active(user, now):
            result = Membership(db.session.get(Tier, user.complimentary_tier_id), "complimentary")
    cache[user.id] = result
    return result


def remember_live_subscriptions(
    user: User, subscriptions: list[Subscription], tiers: list[Tier]
) -> None:
    """Keep the user's live subscriptions, newest first, and their tiers, that the session
    loader read with the user (one statement for all), so that `membership_of` need not select
    them again. The tiers ride along only to stay referenced for the request: the session's
    identity map keeps weak references, and `db.session.get(Tier, ...)` then finds them without
    a query."""
    if has_request_context():
        g.setdefault("live_subscriptions", {})[user.id] = (subscriptions, tiers)


@event.listens_for(Session, "after_flush")
def _forget_memberships_on_change(session: Session, _flush_context) -> None:
    """A subscription or member changed in this request (a sync, a plan change, a complimentary
    tier): what was read of their membership earlier in the request is no longer true."""
    if not has_request_context():
        return
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(item, (Subscription, User)) for item in changed):
        g.pop("live_subscriptions", None)
        g.pop("memberships", None)


def _live_subscriptions(user: User) -> list[Subscription]:
    """The user's subscriptions in a live status, newest first."""
    # Only a request's session loader leaves them (a worker's application context never does).
    remembered = g.get("live_subscriptions", {})
    if user.id in remembered:
        subscriptions, _tiers = remembered[user.id]
        return subscriptions
    return list(
        db.session.scalars(
            select(Subscription)
            .where(Subscription.user_id == user.id, Subscription.status.in_(LIVE_STATUSES))
            .order_by(Subscription.created_at.desc(), Subscription.id.desc())
        )
    )


def has_paid_access(user: User | None) -> bool:
    """An active paying or complimentary membership."""
    return membership_of(user).is_paying


def may_read(user: User | None, article: Article) -> bool:
    """The one answer to "may this user read this article's body?"."""
    if article.access_level == AccessLevel.PUBLIC:
        return True
    if user is None or not user.is_authenticated:
        return False
    if article.access_level == AccessLevel.MEMBERS or user.is_staff:
        return True
    return has_paid_access(user)


def paying_condition(now: datetime):
    """SQL: the user row belongs to a paying or complimentary member (approximate for badges)."""
    complimentary = and_(
        User.complimentary_tier_id.is_not(None),
        or_(User.complimentary_until.is_(None), User.complimentary_until > now),
    )
    subscribed = exists().where(
        Subscription.user_id == User.id,
        Subscription.status.in_(LIVE_STATUSES),
        Subscription.tier_id.is_not(None),
    )
    return or_(complimentary, subscribed)


def sponsor_condition(now: datetime):
    """SQL: the user row has a sponsorship that allows a badge: a live monthly gift, or a gift
    within the last year."""
    return exists().where(
        Sponsorship.user_id == User.id,
        Sponsorship.show_badge.is_(True),
        or_(
            Sponsorship.status == "active",
            and_(Sponsorship.status == "paid", Sponsorship.created_at > now - timedelta(days=365)),
        ),
    )
