"""The app keeps within what Stripe accepts: what the stricter stand-in Stripe revealed."""

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.models import Tier
from tests.conftest import stripe_settings

TIER = {
    "name": "Benefactor",
    "slug": "benefactor",
    "description": "",
    "benefits": "",
    "monthly_price": "1000",
    "position": "3",
    "active": "y",
}


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


def test_a_yearly_price_beyond_stripes_largest_amount_is_a_form_error(admin_client, stripe_stub):
    """1,000,000.00 a year is 100,000,000 cents: Stripe's limit is 99,999,999."""
    response = admin_client.submit("/admin/tiers/new", {**TIER, "yearly_price": "1000000"})
    assert response.status_code == 422
    assert "Number must be between 0 and 999999.99." in response.get_data(as_text=True)
    assert stripe_stub.requests == []
    assert db.session.scalar(select(Tier)) is None


def test_the_largest_yearly_price_stripe_takes_is_saved(admin_client, stripe_stub):
    response = admin_client.submit("/admin/tiers/new", {**TIER, "yearly_price": "999999.99"})
    assert response.status_code == 302, response.get_data(as_text=True)
    tier = db.session.scalar(select(Tier))
    assert tier.yearly_price == 99_999_999
    assert stripe_stub._db[tier.stripe_yearly_price_id]["unit_amount"] == 99_999_999
