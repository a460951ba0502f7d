"""Membership billing rules: checkout, fulfilment, tier changes, cancellation, Stripe events.

Stripe is the source of truth. Webhook handlers never trust the event's copy of an object: they
fetch the current one and upsert it, so duplicates and any delivery order end in Stripe's state.
"""

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from membership.access import LIVE_STATUSES, membership_of
from membership.billing import matching
from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.mail import external_url, queue_email
from membership.models import Interval, Subscription, Tier, User
from membership.models.types import utcnow

log = logging.getLogger(__name__)

PAYMENT_FAILED_EMAIL_INTERVAL = timedelta(days=1)
CHECKOUT_KEY_WINDOW = 600  # seconds during which a repeated click reuses the same session


class BillingRefused(Exception):
    """A billing action the rules do not allow; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message = message
        self.status = status


def _timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def active_tiers() -> list[Tier]:
    return list(
        db.session.scalars(
            select(Tier).where(Tier.active.is_(True)).order_by(Tier.position, Tier.monthly_price)
        )
    )


def customer_id_for(user: User) -> str:
    """The reader's Stripe Customer id: created in Stripe once, and saved at once.

    The new id is committed in its own short transaction, before any other Stripe call of the
    request. If creating the Checkout Session then fails and the request rolls back, the id
    stays, so the retry reuses this customer: nothing is created twice, even if the reader
    changed their name or email in between (the idempotency key covers the parameters, so
    that case would otherwise make a second customer; before issue 15 it reused the key with
    new parameters and Stripe refused it for 24 hours). Only reads precede this point in the
    checkout requests, so the commit publishes nothing else; no lock is held while Stripe
    answers the next call.
    """
    if user.stripe_customer_id:
        return user.stripe_customer_id
    customer_id = gateway.create_customer(user.email, user.display_name, user.id)
    user.stripe_customer_id = customer_id
    db.session.commit()
    return customer_id


def _require_billable(user: User) -> None:
    if not user.is_confirmed:
        raise BillingRefused("Please confirm your email address before subscribing.")
    if user.is_suspended or user.is_banned:
        raise BillingRefused("Your account is suspended: payments are not possible right now.")


def _paid_plan(tier_slug: str, interval: str) -> tuple[Tier, str]:
    """An active paid tier and its Stripe price for the interval; anything else is refused."""
    tier = db.session.scalar(select(Tier).where(Tier.slug == tier_slug, Tier.active.is_(True)))
    if tier is None or tier.is_free or interval not in (Interval.MONTH, Interval.YEAR):
        raise BillingRefused("Choose one of the plans on this page.", 422)
    price_id = tier.stripe_price_for(interval)
    if not price_id:
        raise BillingRefused("Payments for this plan are not set up yet.", 503)
    return tier, price_id


def start_checkout(user: User, tier_slug: str, interval: str) -> str:
    """Create a Checkout Session for a paid tier; returns the URL to send the reader to."""
    _require_billable(user)
    tier, price_id = _paid_plan(tier_slug, interval)
    current = membership_of(user)
    if current.source == "subscription":
        raise BillingRefused(
            "You already have a membership. Change your plan from your account page.", 409
        )
    customer_id = customer_id_for(user)
    window = int(time.time() // CHECKOUT_KEY_WINDOW)
    metadata = {"kind": "membership", "user_id": str(user.id), "tier": tier.slug}
    session = gateway.create_checkout_session(
        {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(user.id),
            "line_items": [{"price": price_id, "quantity": 1}],
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
            "success_url": external_url("billing.success") + "?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": external_url("billing.plans"),
        },
        key_scope=f"checkout-{user.id}-{window}",
    )
    log.info("checkout %s started for account #%s (%s)", session["id"], user.id, tier.slug)
    return session["url"]


def fulfil_checkout_session(session: dict) -> Subscription | None:
    """Grant what a paid membership checkout bought; safe to call any number of times."""
    if session.get("mode") != "subscription":
        return None
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return None
    subscription = session.get("subscription")  # expanded by retrieve_checkout_session
    if not subscription:
        return None
    return sync_subscription(subscription)


def fulfil_from_success_page(session_id: str, user: User) -> bool:
    """The success page: look the session up and fulfil through the webhook's function."""
    session = gateway.retrieve_checkout_session(session_id)
    if session.get("client_reference_id") != str(user.id):
        raise BillingRefused("This checkout belongs to another account.", 404)
    return fulfil_checkout_session(session) is not None


def _first_item(stripe_subscription: dict) -> dict:
    # A subscription always has at least one item; ours have exactly one.
    return stripe_subscription["items"]["data"][0]


def _tier_for_price(price: dict) -> Tier | None:
    # catalogue.sync_tier makes every price of a tier on the tier's product, so the product (an
    # id: never expanded) names the tier, for today's prices and every earlier one alike.
    return db.session.scalar(select(Tier).where(Tier.stripe_product_id == price["product"]))


def sync_subscription(stripe_subscription: dict) -> Subscription | None:
    """Upsert our copy from Stripe's current object, and send the emails its changes call for."""
    # A monthly gift's price is on no tier's product: the check below ignores it with every
    # other product that is not a membership.
    item = _first_item(stripe_subscription)
    price = item.get("price") or {}
    tier = _tier_for_price(price)
    stripe_id = stripe_subscription["id"]
    record = db.session.scalar(
        select(Subscription).where(Subscription.stripe_subscription_id == stripe_id)
    )
    previous_status = record.status if record is not None else None
    if record is None:
        if tier is None:
            # Another product (a print edition) is not a membership, even when a member's
            # Stripe customer bought it.
            log.info("ignoring subscription %s: not one of our memberships", stripe_id)
            return None
        match = matching.match_member(stripe_subscription)
        if match.conflict is not None:
            # Never guess whose money this is: report it, attach nothing.
            matching.record_conflict(stripe_subscription, match)
            log.warning("subscription %s not applied: %s", stripe_id, match.conflict)
            return None
        user = match.user
        if user is not None:
            matching.resolve_conflict(stripe_id)
        record = Subscription(
            stripe_subscription_id=stripe_id,
            # An id: nothing we ask Stripe for expands the customer.
            stripe_customer_id=stripe_subscription["customer"],
            user_id=user.id if user else None,
            status=stripe_subscription["status"],
        )
        try:
            with db.session.begin_nested():
                db.session.add(record)
        except IntegrityError:
            # Another delivery created it a moment ago: update that row instead.
            record = db.session.scalar(
                select(Subscription).where(Subscription.stripe_subscription_id == stripe_id)
            )
    elif record.user_id is None:
        # Created unattached earlier (no member matched then): try again, by the same rules.
        match = matching.match_member(stripe_subscription)
        if match.conflict is not None:
            matching.record_conflict(stripe_subscription, match)
        elif match.user is not None:
            record.user_id = match.user.id
            matching.resolve_conflict(stripe_id)
    if tier is not None:
        record.tier_id = tier.id
    record.stripe_price_id = price.get("id")
    record.interval = (price.get("recurring") or {}).get("interval") or record.interval
    record.amount = price.get("unit_amount") or 0
    record.currency = price.get("currency") or record.currency
    record.status = stripe_subscription["status"]
    record.cancel_at_period_end = bool(stripe_subscription.get("cancel_at_period_end"))
    record.current_period_end = _timestamp(item.get("current_period_end"))
    record.canceled_at = _timestamp(stripe_subscription.get("canceled_at"))
    record.ended_at = _timestamp(stripe_subscription.get("ended_at"))
    db.session.flush()
    _send_lifecycle_emails(record, previous_status)
    return record


def _send_lifecycle_emails(record: Subscription, previous_status: str | None) -> None:
    user = db.session.get(User, record.user_id) if record.user_id else None
    if user is None or record.tier is None:
        return
    if record.status in ("active", "trialing") and record.welcomed_tier_id != record.tier_id:
        record.welcomed_tier_id = record.tier_id
        queue_email(
            user.email,
            f"Welcome to {record.tier.name}",
            "membership_welcome",
            user=user,
            tier=record.tier,
            account_url=external_url("account.index"),
        )
    ended = record.status in ("canceled", "unpaid")
    if ended and previous_status in LIVE_STATUSES:
        queue_email(
            user.email,
            "Your membership has ended",
            "membership_ended",
            user=user,
            tier=record.tier,
            plans_url=external_url("billing.plans"),
        )


def notify_payment_failed(record: Subscription) -> None:
    """Tell the reader their card failed: at most once a day, with the billing portal link."""
    user = db.session.get(User, record.user_id) if record.user_id else None
    now = utcnow()
    if user is None:
        return
    last = record.payment_failed_notified_at
    if last is not None and now - last < PAYMENT_FAILED_EMAIL_INTERVAL:
        return
    record.payment_failed_notified_at = now
    queue_email(
        user.email,
        "Your membership payment failed",
        "membership_payment_failed",
        user=user,
        tier=record.tier,
        account_url=external_url("account.index"),
    )


# --- the reader's own subscription ------------------------------------------------------------


def _own_live_subscription(user: User) -> Subscription:
    membership = membership_of(user)
    if membership.subscription is None:
        raise BillingRefused("You have no paid membership to change.", 409)
    return membership.subscription


def set_cancel_at_period_end(user: User, cancel: bool) -> Subscription:
    """Cancel at the end of the paid period, or take that cancellation back."""
    record = _own_live_subscription(user)
    updated = gateway.update_subscription(
        record.stripe_subscription_id, {"cancel_at_period_end": cancel}
    )
    return sync_subscription(updated)


def open_billing_portal(user: User) -> str:
    if not user.stripe_customer_id:
        raise BillingRefused("You have no billing account yet.", 409)
    return gateway.create_portal_session(user.stripe_customer_id, external_url("account.index"))


@dataclass(frozen=True)
class TierChange:
    """A proposed change of plan and what it costs now."""

    subscription: Subscription
    tier: Tier
    interval: str
    price_id: str
    is_upgrade: bool
    amount_due_now: int
    currency: str
    effective_at: datetime | None


def _monthly_equivalent(amount: int, interval: str) -> float:
    return amount / 12 if interval == Interval.YEAR else float(amount)


def plan_tier_change(user: User, tier_slug: str, interval: str) -> TierChange:
    """Work out a change of plan: upgrades are charged now (prorated), downgrades wait."""
    _require_billable(user)
    record = _own_live_subscription(user)
    tier, price_id = _paid_plan(tier_slug, interval)
    if price_id == record.stripe_price_id:
        raise BillingRefused("That is already your plan.", 409)
    new_value = _monthly_equivalent(tier.price_for(interval), interval)
    is_upgrade = new_value > _monthly_equivalent(record.amount, record.interval)
    amount_due = 0
    if is_upgrade:
        stripe_sub = gateway.retrieve_subscription(record.stripe_subscription_id)
        preview = gateway.preview_price_change(
            record.stripe_customer_id,
            record.stripe_subscription_id,
            _first_item(stripe_sub)["id"],
            price_id,
            int(time.time()),
        )
        amount_due = preview["amount_due"]
    return TierChange(
        subscription=record,
        tier=tier,
        interval=interval,
        price_id=price_id,
        is_upgrade=is_upgrade,
        amount_due_now=amount_due,
        currency=record.currency,
        effective_at=None if is_upgrade else record.current_period_end,
    )


def apply_tier_change(user: User, change: TierChange) -> Subscription:
    """Switch the price in Stripe; a downgrade keeps the current tier until the period ends."""
    record = change.subscription
    previous_tier_id = record.tier_id
    stripe_sub = gateway.retrieve_subscription(record.stripe_subscription_id)
    updated = gateway.update_subscription(
        record.stripe_subscription_id,
        {
            "items": [{"id": _first_item(stripe_sub)["id"], "price": change.price_id}],
            # Upgrades are invoiced at once; downgrades leave no hidden credit behind.
            "proration_behavior": "always_invoice" if change.is_upgrade else "none",
        },
        key_scope=f"change-{record.stripe_subscription_id}-{int(time.time() // 60)}",
    )
    record = sync_subscription(updated)
    if change.is_upgrade:
        record.previous_tier_id = None
        record.previous_tier_until = None
    else:
        record.previous_tier_id = previous_tier_id
        record.previous_tier_until = record.current_period_end
    log.info("account #%s changed plan to %s/%s", user.id, change.tier.slug, change.interval)
    return record


def cancel_all_for_deletion(user: User) -> None:
    """Account deletion: end the reader's live subscriptions in Stripe first, right away."""
    for record in db.session.scalars(
        select(Subscription).where(
            Subscription.user_id == user.id, Subscription.status.in_(LIVE_STATUSES)
        )
    ):
        sync_subscription(gateway.cancel_subscription_now(record.stripe_subscription_id))
