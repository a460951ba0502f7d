"""Which member a Stripe subscription belongs to, without guessing.

1. The member whose stored Stripe customer id is the subscription's customer: that is the match
   (the metadata is ignored, since ids change when members are imported into a new database).
2. Otherwise the metadata `user_id` counts only if that member has no other Stripe customer and
   the Stripe customer's email is the member's email; the customer id is then stored on them.
3. Anything else that claims a member is a conflict: recorded in `subscription_conflicts`
   (shown at /admin/billing/conflicts, first sighting audited), reported by `stripe reconcile`,
   and never applied. A subscription claiming no one stays unattached, as before.
"""

from dataclasses import dataclass

from sqlalchemy import select

from membership import audit
from membership.billing import stripe_gateway as gateway
from membership.converters import MAX_ID
from membership.extensions import db
from membership.models import SubscriptionConflict, User
from membership.models.types import utcnow


@dataclass(frozen=True)
class Match:
    """The member found (or None) and, when the evidence disagrees, why nothing was applied."""

    user: User | None
    conflict: str | None = None
    customer_email: str | None = None


def customer_id_of(stripe_subscription: dict) -> str | None:
    """The subscription's Stripe customer id, expanded or not; None without one."""
    customer = stripe_subscription.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return str(customer) if customer else None


def _customer_email(stripe_subscription: dict, customer_id: str) -> str | None:
    customer = stripe_subscription.get("customer")
    if isinstance(customer, dict) and "email" in customer:
        email = customer.get("email")
    else:
        email = gateway.retrieve_customer_email(customer_id)
    return email.strip().lower() if email else None


def _claimed_user_id(stripe_subscription: dict) -> int | None:
    value = str((stripe_subscription.get("metadata") or {}).get("user_id", "")).strip()
    # ASCII digits only ("²".isdigit() is true), and within the id column's range.
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_ID:
        return None
    return int(value)


def match_member(stripe_subscription: dict) -> Match:
    """The member this subscription belongs to, by the rules in this module's docstring."""
    customer_id = customer_id_of(stripe_subscription)
    if customer_id:
        owner = db.session.scalar(select(User).where(User.stripe_customer_id == customer_id))
        if owner is not None:
            return Match(owner)
    claimed = _claimed_user_id(stripe_subscription)
    if claimed is None:
        return Match(None)
    if not customer_id:
        return Match(None, f"metadata names member #{claimed} but there is no Stripe customer")
    email = _customer_email(stripe_subscription, customer_id)
    user = db.session.get(User, claimed)
    if user is None:
        reason = f"metadata names member #{claimed}, who does not exist"
        return Match(None, _with_hint(reason, email), email)
    if user.stripe_customer_id and user.stripe_customer_id != customer_id:
        return Match(
            None,
            f"metadata names member #{claimed}, whose Stripe customer is "
            f"{user.stripe_customer_id}, not {customer_id}",
            email,
        )
    if email is None or email != user.email.lower():
        return Match(
            None,
            _with_hint(
                f"metadata names member #{claimed} ({user.email}) but the Stripe customer's "
                f"email is {email or 'missing'}",
                email,
            ),
            email,
        )
    user.stripe_customer_id = customer_id
    return Match(user)


def _with_hint(reason: str, email: str | None) -> str:
    """Point the admin at the member with the customer's email (a hint, never applied)."""
    if email:
        owner = db.session.scalar(select(User.id).where(User.email == email))
        if owner is not None:
            return f"{reason}; member #{owner} has that email"
    return reason


def record_conflict(stripe_subscription: dict, match: Match) -> SubscriptionConflict:
    """Store (or refresh) the conflict for the admin area; its first sighting is audited."""
    stripe_id = stripe_subscription["id"]
    conflict = db.session.scalar(
        select(SubscriptionConflict).where(SubscriptionConflict.stripe_subscription_id == stripe_id)
    )
    now = utcnow()
    if conflict is None:
        conflict = SubscriptionConflict(
            stripe_subscription_id=stripe_id, first_seen_at=now, reason=match.conflict
        )
        db.session.add(conflict)
        db.session.flush()
        audit.record(None, "billing.subscription_conflict", conflict, stripe_subscription=stripe_id)
    conflict.stripe_customer_id = customer_id_of(stripe_subscription)
    conflict.claimed_user_id = _claimed_user_id(stripe_subscription)
    conflict.customer_email = (match.customer_email or "")[:254] or None
    conflict.reason = match.conflict
    conflict.last_seen_at = now
    db.session.flush()
    return conflict


def resolve_conflict(stripe_subscription_id: str) -> None:
    """A subscription that now matches cleanly closes its open conflict (audited)."""
    conflict = db.session.scalar(
        select(SubscriptionConflict).where(
            SubscriptionConflict.stripe_subscription_id == stripe_subscription_id,
            SubscriptionConflict.dismissed_at.is_(None),
        )
    )
    if conflict is not None:
        conflict.dismissed_at = utcnow()
        audit.record(
            None,
            "billing.conflict_resolved",
            conflict,
            stripe_subscription=stripe_subscription_id,
        )
