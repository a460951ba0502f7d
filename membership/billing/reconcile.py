"""Repair local state that missed webhooks: re-read subscriptions and recent events from Stripe."""

import time
from collections.abc import Callable, Iterable

from sqlalchemy import select

from membership.billing import events, services
from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.models import StripeEvent, Subscription, SubscriptionConflict

EVENT_TYPES = sorted(events.SUBSCRIPTION_EVENTS | events.CHECKOUT_EVENTS | events.INVOICE_EVENTS)


def _state(record: Subscription | None) -> tuple | None:
    if record is None:
        return None
    return (record.status, record.tier_id, record.cancel_at_period_end, record.current_period_end)


def reconcile(
    days: int,
    progress: Callable[[Iterable], Iterable] = lambda items: items,
    handlers: Iterable[Callable[[dict], None]] = (),
) -> list[str]:
    """Sync every Stripe subscription, replay unseen events of the last `days`; returns changes."""
    changes: list[str] = []
    for stripe_sub in progress(list(gateway.iter_subscriptions())):
        existing = db.session.scalar(
            select(Subscription).where(Subscription.stripe_subscription_id == stripe_sub["id"])
        )
        before = _state(existing)
        record = services.sync_subscription(stripe_sub)
        if record is None or record.user_id is None:
            conflict = db.session.scalar(
                select(SubscriptionConflict).where(
                    SubscriptionConflict.stripe_subscription_id == stripe_sub["id"]
                )
            )
            if conflict is not None:
                changes.append(
                    f"CONFLICT subscription {stripe_sub['id']} not applied: {conflict.reason}"
                )
        if record is not None and _state(record) != before:
            was = before[0] if before else "missing"
            changes.append(
                f"subscription {record.stripe_subscription_id}: {was} -> {record.status}"
            )
    since = int(time.time()) - days * 86400
    for event in gateway.iter_events(EVENT_TYPES, since):
        if db.session.get(StripeEvent, event["id"]) is not None:
            continue
        if events.record_event(event):
            for handler in handlers:
                handler(event)
            changes.append(f"event {event['id']} ({event.get('type')}) applied")
    db.session.flush()
    return changes
