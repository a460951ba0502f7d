"""Stripe events about sponsorships, dispatched from the one webhook endpoint."""

from membership.billing import stripe_gateway as gateway
from membership.sponsors import services


def handle_sponsorship_event(event: dict) -> None:
    """Apply one verified event; objects are fetched again from Stripe, never trusted."""
    kind, obj = event["type"], event["data"]["object"]  # checked by verify_webhook
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if services.is_sponsorship(obj):
            services.fulfil_session(gateway.retrieve_checkout_session(obj["id"]))
    elif kind == "checkout.session.async_payment_failed":
        if services.is_sponsorship(obj):
            services.fail_session(gateway.retrieve_checkout_session(obj["id"]))
    elif kind == "invoice.paid":
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        routed_kind = (details.get("metadata") or {}).get("kind")
        if routed_kind in (None, services.KIND):  # unknown: look it up; a membership: skip
            services.record_invoice(obj)
    elif kind in ("customer.subscription.updated", "customer.subscription.deleted"):
        if services.is_sponsorship(obj):
            services.sync_subscription(gateway.retrieve_subscription(obj["id"]))
    elif kind == "charge.refunded":
        services.apply_charge(obj["id"])
    elif kind in ("charge.dispute.created", "charge.dispute.closed", "charge.dispute.updated"):
        services.apply_dispute(obj["id"])
