"""POST /stripe/webhook: verified, recorded once, applied in the same transaction."""

import logging

from flask import Blueprint, request

from membership.billing import events
from membership.billing import stripe_gateway as gateway
from membership.extensions import csrf, db
from membership.sponsors.events import handle_sponsorship_event

log = logging.getLogger(__name__)
bp = Blueprint("stripe", __name__)

# Every feature's handler sees every verified event: event dict -> None.
EVENT_HANDLERS = [events.handle_membership_event, handle_sponsorship_event]


@bp.route("/stripe/webhook", methods=["POST"])
@csrf.exempt
def webhook():
    """Stripe's signed events; 400 for anything unverified, 200 once applied (or seen before)."""
    payload = request.get_data(cache=False)
    try:
        event = gateway.verify_webhook(payload, request.headers.get("Stripe-Signature"))
    except gateway.InvalidWebhook as error:
        log.warning("rejected webhook: %s", error)
        return {"error": "invalid signature or payload"}, 400
    if not events.record_event(event):
        db.session.rollback()
        return {"status": "duplicate"}, 200
    try:
        for handler in EVENT_HANDLERS:
            handler(event)
    except gateway.PaymentProviderError:
        # Stripe could not be asked for the current object: undo everything, the event
        # included, and answer 503 so Stripe delivers it again later.
        db.session.rollback()
        log.warning("webhook %s deferred: Stripe unreachable", event["id"])
        return {"status": "retry later"}, 503
    db.session.commit()
    return {"status": "ok"}, 200
