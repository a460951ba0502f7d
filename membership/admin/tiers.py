"""Tier administration: prices in Stripe follow every save."""

from decimal import Decimal

from sqlalchemy import select

from membership import audit
from membership.billing import stripe_gateway as gateway
from membership.billing.catalogue import sync_tier
from membership.cache import bump_site_version
from membership.extensions import db
from membership.models import Tier, User
from membership.settings import get_setting


class TierError(Exception):
    """A tier change the rules refuse."""


def _minor(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1)))


def save_tier(tier: Tier | None, values: dict, editor: User) -> tuple[Tier, list[str]]:
    """Create or update a tier, then bring Stripe in step (if payments are set up)."""
    clash = db.session.scalar(select(Tier.id).where(Tier.slug == values["slug"]))
    if clash is not None and (tier is None or clash != tier.id):
        raise TierError("Another tier already uses this slug.")
    if tier is None:
        tier = Tier(currency=get_setting("currency"))
    elif tier.stripe_product_id and tier.slug != values["slug"]:
        raise TierError("The slug of a tier already in Stripe cannot change.")
    tier.name = values["name"].strip()
    tier.slug = values["slug"]
    tier.description = values["description"] or ""
    tier.benefits = [
        line.strip() for line in (values["benefits"] or "").splitlines() if line.strip()
    ]
    tier.monthly_price = _minor(values["monthly_price"])
    tier.yearly_price = _minor(values["yearly_price"])
    tier.position = values["position"] or 0
    tier.active = bool(values["active"])
    if (tier.monthly_price == 0) != (tier.yearly_price == 0):
        raise TierError("A paid tier needs both a monthly and a yearly price (or neither).")
    db.session.add(tier)
    db.session.flush()
    bump_site_version()  # plans and invitations on the reading pages
    changes = sync_tier(tier) if gateway.is_configured() else []
    audit.record(editor, "tier.save", tier, slug=tier.slug, stripe=changes or None)
    return tier, changes
