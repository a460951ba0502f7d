"""The only module that talks to Stripe.

Every call has a 10-second timeout and two network retries; every create carries an idempotency
key of ours, so a retried request never makes a second object. Stripe failures surface as
`PaymentProviderError` with a message fit for a reader.

Idempotency keys are built here, never by callers: a caller names the attempt (`key_scope`,
e.g. "checkout-42-<10-minute window>") and the key is that scope plus a digest of the exact
parameters sent. Stripe refuses a key sent again with other parameters (400
`idempotency_error`) and keeps refusing for 24 hours, so a key that could be reused with new
parameters (a reader who renamed themselves between two attempts, a tier renamed after a failed
sync) would lock that action out for a day. With the digest, the same request replays its
first answer, and a different request is a different key: it can never be the same key with
other parameters, whatever a caller puts in its scope.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import stripe
from flask import current_app

log = logging.getLogger(__name__)
T = TypeVar("T")

SIGNATURE_TOLERANCE = 300
DEFAULT_TIMEOUT = 10


class PaymentProviderError(Exception):
    """Stripe could not be reached or refused the request."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class PaymentsNotConfigured(PaymentProviderError):
    """No STRIPE_SECRET_KEY: the site runs, paid features are off."""

    def __init__(self) -> None:
        super().__init__("Payments are not set up yet.", retryable=False)


class InvalidWebhook(Exception):
    """A webhook whose signature, timestamp or body does not check out."""


def is_configured() -> bool:
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def _client() -> stripe.StripeClient:
    """One client per app and configuration (tests switch STRIPE_API_BASE)."""
    config = current_app.config
    if not config.get("STRIPE_SECRET_KEY"):
        raise PaymentsNotConfigured()
    key = (config["STRIPE_SECRET_KEY"], config.get("STRIPE_API_BASE"), config["STRIPE_TIMEOUT"])
    cache: dict[tuple[Any, ...], stripe.StripeClient] = current_app.extensions.setdefault(
        "stripe_clients", {}
    )
    if key not in cache:
        base = {"api": config["STRIPE_API_BASE"]} if config.get("STRIPE_API_BASE") else None
        cache[key] = stripe.StripeClient(
            config["STRIPE_SECRET_KEY"],
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=2,
            http_client=stripe.RequestsClient(timeout=config["STRIPE_TIMEOUT"]),
        )
    return cache[key]


def _call(description: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one Stripe call, turning its errors into PaymentProviderError."""
    try:
        return function(*args, **kwargs)
    except stripe.CardError as exc:
        message = exc.user_message or "The card was declined."
        raise PaymentProviderError(message, retryable=False) from exc
    except stripe.InvalidRequestError as exc:
        log.error("Stripe refused %s: %s", description, exc.user_message or exc)
        raise PaymentProviderError(
            "The payment provider refused the request. Please contact us.", retryable=False
        ) from exc
    except stripe.IdempotencyError as exc:
        # A key of ours sent again with other parameters: a bug here, never the reader's fault.
        log.error("Stripe refused the idempotency key of %s: %s", description, exc)
        raise PaymentProviderError(
            "The payment provider refused the request. Please contact us.", retryable=False
        ) from exc
    except stripe.StripeError as exc:
        log.warning("Stripe unavailable during %s: %s", description, type(exc).__name__)
        raise PaymentProviderError(
            "Our payment provider is not responding. Nothing was charged; please try again in "
            "a minute."
        ) from exc


def idempotency_key(key_scope: str, params: dict[str, Any]) -> str:
    """The key for one request: the caller's scope and a digest of the exact parameters."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return f"{key_scope}-{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


def _options(key_scope: str | None, params: dict[str, Any]) -> dict[str, Any]:
    return {"idempotency_key": idempotency_key(key_scope, params)} if key_scope else {}


# --- customers and checkout -----------------------------------------------------------------


def create_customer(email: str, name: str, user_id: int) -> str:
    """A Stripe Customer for one of our readers (its id in metadata)."""
    params = {"email": email, "name": name, "metadata": {"user_id": str(user_id)}}
    customer = _call(
        "customer creation",
        _client().v1.customers.create,
        params=params,
        options=_options(f"customer-{user_id}", params),
    )
    return str(customer.id)


def retrieve_customer_email(customer_id: str) -> str | None:
    """The customer's email in Stripe; None for a deleted customer or one without an email."""
    customer = _call("customer lookup", _client().v1.customers.retrieve, customer_id)
    if getattr(customer, "deleted", False):
        return None
    email = customer.to_dict().get("email")
    return str(email) if email else None


def create_checkout_session(params: dict[str, Any], key_scope: str) -> dict[str, Any]:
    """Create a Checkout Session; returns {"id", "url"}."""
    session = _call(
        "checkout",
        _client().v1.checkout.sessions.create,
        params=params,
        options=_options(key_scope, params),
    )
    return {"id": session.id, "url": session.url}


def retrieve_checkout_session(session_id: str) -> dict[str, Any]:
    session = _call(
        "checkout lookup",
        _client().v1.checkout.sessions.retrieve,
        session_id,
        params={"expand": ["subscription", "payment_intent"]},
    )
    return session.to_dict()


def create_portal_session(customer_id: str, return_url: str) -> str:
    session = _call(
        "billing portal",
        _client().v1.billing_portal.sessions.create,
        params={"customer": customer_id, "return_url": return_url},
    )
    return str(session.url)


# --- subscriptions --------------------------------------------------------------------------


def retrieve_subscription(subscription_id: str) -> dict[str, Any]:
    subscription = _call(
        "subscription lookup", _client().v1.subscriptions.retrieve, subscription_id
    )
    return subscription.to_dict()


def update_subscription(
    subscription_id: str, params: dict[str, Any], key_scope: str | None = None
) -> dict[str, Any]:
    subscription = _call(
        "subscription update",
        _client().v1.subscriptions.update,
        subscription_id,
        params=params,
        options=_options(key_scope, {"id": subscription_id, **params}),
    )
    return subscription.to_dict()


def cancel_subscription_now(subscription_id: str) -> dict[str, Any]:
    subscription = _call(
        "subscription cancellation", _client().v1.subscriptions.cancel, subscription_id
    )
    return subscription.to_dict()


def preview_price_change(
    customer_id: str, subscription_id: str, item_id: str, price_id: str, proration_date: int
) -> dict[str, Any]:
    """What switching the subscription item to `price_id` now would invoice."""
    invoice = _call(
        "price change preview",
        _client().v1.invoices.create_preview,
        params={
            "customer": customer_id,
            "subscription": subscription_id,
            "subscription_details": {
                "items": [{"id": item_id, "price": price_id}],
                "proration_behavior": "always_invoice",
                "proration_date": proration_date,
            },
        },
    )
    return invoice.to_dict()


def iter_subscriptions() -> Iterator[dict[str, Any]]:
    """Every subscription in the account, oldest pages last (auto-paginated)."""
    page = _call(
        "subscription listing",
        _client().v1.subscriptions.list,
        params={"status": "all", "limit": 100},
    )
    for subscription in page.auto_paging_iter():
        yield subscription.to_dict()


def iter_events(types: list[str], since: int) -> Iterator[dict[str, Any]]:
    page = _call(
        "event listing",
        _client().v1.events.list,
        params={"types": types, "created": {"gte": since}, "limit": 100},
    )
    for event in page.auto_paging_iter():
        yield event.to_dict()


# --- catalogue ------------------------------------------------------------------------------


def find_prices(lookup_keys: list[str]) -> dict[str, dict[str, Any]]:
    page = _call(
        "price lookup",
        _client().v1.prices.list,
        params={"lookup_keys": lookup_keys, "active": True, "limit": 100},
    )
    return {price.lookup_key: price.to_dict() for price in page.data if price.lookup_key}


def create_product(params: dict[str, Any], key_scope: str) -> str:
    product = _call(
        "product creation",
        _client().v1.products.create,
        params=params,
        options=_options(key_scope, params),
    )
    return str(product.id)


def update_product(product_id: str, params: dict[str, Any]) -> None:
    _call("product update", _client().v1.products.update, product_id, params=params)


def create_price(params: dict[str, Any], key_scope: str) -> str:
    price = _call(
        "price creation",
        _client().v1.prices.create,
        params=params,
        options=_options(key_scope, params),
    )
    return str(price.id)


def retrieve_payment_intent(payment_intent_id: str) -> dict[str, Any]:
    """The payment intent with its latest charge expanded (callers read the charge's fields)."""
    intent = _call(
        "payment lookup",
        _client().v1.payment_intents.retrieve,
        payment_intent_id,
        params={"expand": ["latest_charge"]},
    )
    return intent.to_dict()


def retrieve_charge(charge_id: str) -> dict[str, Any]:
    return _call("charge lookup", _client().v1.charges.retrieve, charge_id).to_dict()


def retrieve_invoice(invoice_id: str) -> dict[str, Any]:
    """An invoice with its payments (current API: invoice.payments, not invoice.charge)."""
    invoice = _call(
        "invoice lookup",
        _client().v1.invoices.retrieve,
        invoice_id,
        params={"expand": ["payments"]},
    )
    return invoice.to_dict()


def retrieve_dispute(dispute_id: str) -> dict[str, Any]:
    return _call("dispute lookup", _client().v1.disputes.retrieve, dispute_id).to_dict()


# --- webhooks -------------------------------------------------------------------------------


def verify_webhook(payload: bytes, signature_header: str | None) -> dict[str, Any]:
    """Check Stripe's signature on the raw body: 300 s tolerance, in the past and the future."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise InvalidWebhook("no webhook secret configured")
    if not signature_header:
        raise InvalidWebhook("missing Stripe-Signature header")
    timestamps = [
        part.split("=", 1)[1]
        for part in signature_header.split(",")
        if part.startswith("t=") and "=" in part
    ]
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        raise InvalidWebhook("malformed Stripe-Signature header")
    if int(timestamps[0]) > time.time() + SIGNATURE_TOLERANCE:
        raise InvalidWebhook("timestamp in the future")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature_header, secret, SIGNATURE_TOLERANCE)
        event = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidWebhook("body is not a JSON event") from exc
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(str(exc)) from exc
    # Every Stripe event has an id, a type and the object it is about: the handlers read them
    # without fallbacks.
    if not isinstance(event, dict):
        raise InvalidWebhook("body is not an event")
    data = event.get("data")
    if not (
        isinstance(data, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(data.get("object"), dict)
    ):
        raise InvalidWebhook("body is not an event")
    return event
