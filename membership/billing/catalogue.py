"""Keeping Stripe's products and prices in step with our tiers (idempotent, by lookup key)."""

import logging

from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.models import Interval, Tier

log = logging.getLogger(__name__)


def sync_tier(tier: Tier) -> list[str]:
    """Create or update the tier's Product and Prices; returns what changed, for the log."""
    if tier.is_free:
        return []
    changes = []
    product = {
        "name": tier.name,
        "description": tier.description or tier.name,
        "metadata": {"tier": tier.slug, "kind": "membership"},
        "active": tier.active,
    }
    if not tier.stripe_product_id:
        # Created from what never changes (the slug), then given its name by the update below:
        # if a later step fails, nothing is saved, and the admin retries after renaming the
        # tier, the same request replays the same product instead of making an orphan one.
        tier.stripe_product_id = gateway.create_product(
            {"name": tier.slug, "metadata": product["metadata"]}, f"product-tier-{tier.slug}"
        )
        changes.append(f"{tier.slug}: product {tier.stripe_product_id}")
    gateway.update_product(tier.stripe_product_id, product)
    keys = {interval: tier.lookup_key(interval) for interval in (Interval.MONTH, Interval.YEAR)}
    existing = gateway.find_prices(list(keys.values()))
    for interval, key in keys.items():
        amount = tier.price_for(interval)
        price = existing.get(key)
        product_of_price = price and (
            price["product"] if isinstance(price["product"], str) else price["product"]["id"]
        )
        if (
            price
            and price.get("unit_amount") == amount
            and price.get("currency") == tier.currency
            and product_of_price == tier.stripe_product_id
        ):
            price_id = price["id"]
        else:
            # A new Price takes over the lookup key; subscribers on the old one keep it. The key
            # names the Price it replaces: a failed save retried replays the same new Price, but
            # going back to an earlier amount (5 -> 6 -> 5) makes a fresh one that takes the
            # lookup key, instead of replaying the first Price, which no longer holds it.
            replaced = price["id"] if price else "none"
            price_id = gateway.create_price(
                {
                    "product": tier.stripe_product_id,
                    "unit_amount": amount,
                    "currency": tier.currency,
                    "recurring": {"interval": str(interval)},
                    "lookup_key": key,
                    "transfer_lookup_key": True,
                    "metadata": {"tier": tier.slug},
                },
                key_scope=f"price-{key}-{replaced}",
            )
            changes.append(f"{tier.slug}: {interval} price {price_id} ({amount} {tier.currency})")
        if interval == Interval.MONTH:
            tier.stripe_monthly_price_id = price_id
        else:
            tier.stripe_yearly_price_id = price_id
    db.session.flush()
    return changes
