"""Fixtures shared by the rule tests: paid tiers in the stand-in Stripe, a signed-in member."""

import pytest

from membership.billing.catalogue import sync_tier
from membership.extensions import db
from membership.models import Tier


@pytest.fixture
def tiers(app, stripe_stub):
    """Two paid tiers, synced to the stand-in Stripe."""
    rows = [
        Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000, position=1),
        Tier(slug="patron", name="Patron", monthly_price=1500, yearly_price=15000, position=2),
    ]
    db.session.add_all(rows)
    db.session.flush()
    for tier in rows:
        sync_tier(tier)
    db.session.commit()
    return {tier.slug: tier for tier in rows}


@pytest.fixture
def member(app, make_user, login):
    """A confirmed reader, signed in."""
    user = make_user("member@example.org", display_name="Mia")
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    client.user = user
    return client
