"""A stand-in for the Stripe API on loopback, for tests driving the real `stripe` SDK.

    stub = StripeStub().start()                 # once per session; stub.reset() per test
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": stub.base_url})
    stub.deliver_to = lambda payload, headers: app_client.post(
        "/stripe/webhook", data=payload, headers=headers
    ).status_code                               # or stub.webhook_url = "http://..."
    session = client.v1.checkout.sessions.create(params={...})
    stub.complete_checkout(session.id)          # events wait in stub.outbox ...
    stub.deliver()                              # ... or set stub.auto_deliver = True

Objects are Stripe's own examples (`fixtures.json`, a subset of Stripe's `openapi/fixtures3.json`,
MIT licence, Copyright Stripe, Inc.) with the fields the stub manages overridden.
"""

from ._events import Delivery
from ._util import StripeError
from .stub import StripeStub

__all__ = ["Delivery", "StripeError", "StripeStub"]
