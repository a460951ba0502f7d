"""A stand-in for the Stripe API on loopback, for tests driving the real `stripe` SDK.

Objects are Stripe's own examples (`fixtures.json`, a subset of Stripe's `openapi/fixtures3.json`,
MIT licence, Copyright Stripe, Inc.) with the fields the stub manages overridden.
"""

from ._events import Delivery
from ._util import StripeError
from .stub import StripeStub

__all__ = ["Delivery", "StripeError", "StripeStub"]
