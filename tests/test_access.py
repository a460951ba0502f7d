"""The access function of a Stripe subscription, as a table."""

from datetime import UTC, datetime, timedelta

import pytest

from membership.access import CANCEL_GRACE, subscription_access

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=10)
PAST = NOW - timedelta(days=1)

TABLE = [
    # status, cancel_at_period_end, current_period_end, access, needs new card
    ("active", False, LATER, True, False),
    ("active", True, LATER, True, False),
    ("active", False, PAST, True, False),  # renewal webhook late: Stripe still says active
    ("active", True, PAST, False, False),  # cancelled at period end, and the end has passed
    ("active", True, NOW - CANCEL_GRACE + timedelta(minutes=1), True, False),
    ("active", True, NOW - CANCEL_GRACE, True, False),  # the grace ends this very instant
    ("trialing", False, LATER, True, False),
    ("trialing", True, PAST, False, False),
    ("past_due", False, LATER, True, True),
    ("past_due", False, PAST, True, True),  # until Stripe ends it
    ("incomplete", False, LATER, False, False),
    ("incomplete_expired", False, LATER, False, False),
    ("unpaid", False, LATER, False, False),
    ("canceled", False, LATER, False, False),
    ("canceled", True, LATER, False, False),
    ("paused", False, LATER, False, False),
    ("something-new", False, LATER, False, False),
    ("active", False, None, True, False),
]


@pytest.mark.parametrize(("status", "cancel", "period_end", "access", "card"), TABLE)
def test_subscription_access(status, cancel, period_end, access, card):
    result = subscription_access(status, cancel, period_end, NOW)
    assert (result.has_access, result.needs_new_card) == (access, card)
