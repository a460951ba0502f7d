"""Stripe events about memberships: recorded once, applied by re-fetching the object."""

from sqlalchemy.dialects import postgresql, sqlite

from membership.billing import stripe_gateway as gateway
from membership.billing.services import (
    fulfil_checkout_session,
    notify_payment_failed,
    sync_subscription,
)
from membership.extensions import db
from membership.models import StripeEvent

SUBSCRIPTION_EVENTS = {
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
}
CHECKOUT_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
INVOICE_EVENTS = {"invoice.paid", "invoice.payment_failed", "invoice.payment_succeeded"}
# `INSERT ... ON CONFLICT` is written in each database's own dialect: the two this app supports.
INSERT_IGNORING_CONFLICTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _invoice_subscription_id(invoice: dict) -> str | None:
    """Current API: parent.subscription_details.subscription; older API: invoice.subscription."""
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    subscription = details.get("subscription") or invoice.get("subscription")
    if isinstance(subscription, dict):
        return subscription.get("id")
    return subscription


def record_event(event: dict) -> bool:
    """Store the event id; False when it was already handled (the caller then does nothing).

    One `INSERT ... ON CONFLICT DO NOTHING` (PostgreSQL and SQLite alike) instead of a savepoint
    around an INSERT: no SAVEPOINT/RELEASE round trips. A concurrent delivery of the same event
    waits on the primary key until the first transaction ends, then inserts nothing (or inserts,
    if the first one rolled back), so the event still takes effect once. The primary key is the
    table's only unique constraint, so the conflict needs no target; `created_at` is the
    column's default. `verify_webhook` has checked that the type is a string.
    """
    insert = INSERT_IGNORING_CONFLICTS[db.session.get_bind().dialect.name]
    inserted = db.session.execute(
        insert(StripeEvent)
        .values(id=event["id"], type=event["type"])
        .on_conflict_do_nothing()
        .returning(StripeEvent.id)  # a row only when inserted (rowcount is -1 on psycopg)
    )
    return inserted.scalar() is not None


def handle_membership_event(event: dict) -> None:
    """Apply one verified event, re-fetching the object it is about."""
    kind, obj = event["type"], event["data"]["object"]  # checked by verify_webhook
    if kind in CHECKOUT_EVENTS:
        if (obj.get("metadata") or {}).get("kind", "membership") == "membership":
            fulfil_checkout_session(gateway.retrieve_checkout_session(obj["id"]))
    elif kind in SUBSCRIPTION_EVENTS:
        sync_subscription(gateway.retrieve_subscription(obj["id"]))
    elif kind in INVOICE_EVENTS:
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        if (details.get("metadata") or {}).get("kind") not in (None, "membership"):
            return
        subscription_id = _invoice_subscription_id(obj)
        if subscription_id:
            record = sync_subscription(gateway.retrieve_subscription(subscription_id))
            if record is not None and kind == "invoice.payment_failed":
                notify_payment_failed(record)
