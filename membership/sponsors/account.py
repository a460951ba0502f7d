"""The sponsor's own changes: recognition, message, badge, monthly amount, stopping."""

import time
from decimal import Decimal

from sqlalchemy import select

from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.models import Frequency, Recognition, Sponsorship, SponsorshipStatus, User
from membership.sponsors.services import (
    SponsorshipRefused,
    bounds,
    stripe_id,
    sync_subscription,
    to_minor,
)


def own_sponsorship(user: User, sponsorship_id: int) -> Sponsorship:
    sponsorship = db.session.get(Sponsorship, sponsorship_id)
    if sponsorship is None or sponsorship.user_id != user.id:
        raise SponsorshipRefused("No such sponsorship on your account.", 404)
    return sponsorship


def change_recognition(
    sponsorship: Sponsorship, recognition: str, message: str, show_badge: bool
) -> None:
    """How the gift appears on the wall and on comments; the wall follows at once."""
    if recognition not in set(Recognition):
        raise SponsorshipRefused("Choose how you want to appear on the wall.", 422)
    sponsorship.recognition = recognition
    sponsorship.message = (message or "")[:500]
    sponsorship.show_badge = bool(show_badge) and recognition != Recognition.ANONYMOUS


def change_monthly_amount(sponsorship: Sponsorship, amount: Decimal) -> None:
    """A new monthly amount from the next payment on (no proration: a gift is not a plan)."""
    low, high = bounds()
    if sponsorship.frequency != Frequency.MONTHLY or sponsorship.status != "active":
        raise SponsorshipRefused("Only an active monthly sponsorship can change its amount.", 409)
    if not low <= amount <= high:
        raise SponsorshipRefused(f"Choose an amount between {low:,} and {high:,}.", 422)
    subscription = gateway.retrieve_subscription(sponsorship.stripe_subscription_id)
    item = subscription["items"]["data"][0]
    product = stripe_id(item["price"]["product"])
    updated = gateway.update_subscription(
        sponsorship.stripe_subscription_id,
        {
            "items": [
                {
                    "id": item["id"],
                    "price_data": {
                        "currency": sponsorship.currency,
                        "unit_amount": to_minor(amount),
                        "product": product,
                        "recurring": {"interval": "month"},
                    },
                }
            ],
            "proration_behavior": "none",
        },
        key_scope=f"sponsor-amount-{sponsorship.id}-{int(time.time() // 60)}",
    )
    sync_subscription(updated)


def cancel_monthly(sponsorship: Sponsorship) -> None:
    """Stop a monthly gift now; what was already given stays counted."""
    if sponsorship.frequency != Frequency.MONTHLY or sponsorship.status != "active":
        raise SponsorshipRefused("This sponsorship is not an active monthly one.", 409)
    sync_subscription(gateway.cancel_subscription_now(sponsorship.stripe_subscription_id))


def end_for_deletion(user: User) -> None:
    """Account deletion: monthly gifts stop in Stripe now; every gift keeps its amount, not the
    sponsor's name or email."""
    running = (SponsorshipStatus.PENDING, SponsorshipStatus.ACTIVE)
    # Read them all first: cancelling one writes (sync_subscription) before the rest are read.
    gifts = db.session.scalars(select(Sponsorship).where(Sponsorship.user_id == user.id)).all()
    for sponsorship in gifts:
        if sponsorship.stripe_subscription_id and sponsorship.status in running:
            sync_subscription(gateway.cancel_subscription_now(sponsorship.stripe_subscription_id))
        sponsorship.display_name = ""
        sponsorship.email = None
