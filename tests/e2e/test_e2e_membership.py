"""Journey: a reader subscribes through Checkout, sees the tier and the badge, opens the billing
portal and cancels at the end of the period. The stand-in Stripe serves Checkout and the portal
and POSTs its signed webhooks to the app as they happen."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.actions import sign_in

ARTICLE = "library-expands-hotspot-lending"


def subscribe(page: Page, stripe, app_server, tier: str = "Supporter", price: str = "5.00"):
    """From /membership through Stripe Checkout (the stand-in's page) back to the app."""
    page.goto("/membership")
    card = page.get_by_role("region", name=tier)
    expect(card).to_contain_text("/ month")
    card.get_by_role("button", name="Subscribe monthly").click()
    expect(page).to_have_url(re.compile("^" + re.escape(stripe.base_url) + r"/pay/cs_"))
    summary = page.get_by_role("table", name="Order summary")
    expect(summary).to_contain_text(f"{tier}")
    expect(summary).to_contain_text(f"{price} USD per month")
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(re.compile(re.escape(app_server.url("/membership/success"))))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome to {tier}!")


def test_subscribe_through_checkout_see_tier_and_badge_then_cancel_at_period_end(
    page, stripe, app_server, inbox, make_reader, site_data
):
    email, name = make_reader("Member")
    other_email, other_name = make_reader("Free Reader")
    site_data.post_comment(other_email, ARTICLE, "A free reader's comment carries no badge.")
    sign_in(page, email, display_name=name)

    subscribe(page, stripe, app_server)
    handled = {d.type for d in stripe.deliveries if d.status == 200}
    assert "checkout.session.completed" in handled, stripe.deliveries
    inbox.wait_for(email, subject="Welcome to Supporter")

    # The account page shows the plan.
    page.get_by_role("link", name="Your account").click()
    membership = page.get_by_role("region", name="Membership")
    expect(membership).to_contain_text("Supporter · $5 / month")
    expect(membership).to_contain_text("Renews on")
    expect(membership.locator("dd").nth(1)).to_have_text("Active")

    # Comments carry the Member badge; a free reader's do not.
    page.goto(f"/articles/{ARTICLE}")
    page.get_by_label("Your comment").fill("Happy to chip in for stories like this one.")
    page.get_by_role("button", name="Post comment").click()
    # Posted in place (htmx): the comment appears without a reload.
    mine = page.get_by_role("article", name=f"Comment by {name}").filter(
        has_text="Happy to chip in"
    )
    expect(mine).to_have_count(1)
    expect(mine.locator(".badge")).to_have_text("Member")
    theirs = page.get_by_role("article", name=f"Comment by {other_name}")
    expect(theirs).to_be_visible()
    expect(theirs.locator(".badge")).to_have_count(0)

    # Cancel at the end of the period: access stays until then, and it can be resumed.
    page.goto("/account")
    membership = page.get_by_role("region", name="Membership")
    membership.get_by_role("button", name="Cancel at period end").click()
    expect(
        page.get_by_text("Your membership will end at the end of the current period.")
    ).to_be_visible()
    membership = page.get_by_role("region", name="Membership")
    expect(membership.locator("dd").nth(1)).to_have_text("Ends at period end")
    expect(membership).to_contain_text("Ends on")
    expect(membership.get_by_role("button", name="Resume membership")).to_be_visible()
    page.goto("/membership")
    expect(page.get_by_text("You are a member: Supporter")).to_be_visible()


def test_manage_billing_opens_the_stripe_portal_and_links_back(
    page, stripe, app_server, make_reader
):
    email, name = make_reader("Portal Member")
    sign_in(page, email, display_name=name)
    subscribe(page, stripe, app_server)

    page.goto("/account")
    answers = []
    page.on("response", lambda response: answers.append((response.url, response.status)))
    page.get_by_role("button", name="Manage billing").click()
    portal = re.compile("^" + re.escape(stripe.base_url) + r"/portal/bps_")
    expect(page).to_have_url(portal, timeout=5_000)
    assert (app_server.url("/membership/portal"), 303) in answers
    expect(page.get_by_role("heading", level=1)).to_have_text("Test billing portal")
    expect(page.get_by_role("region", name="Supporter")).to_contain_text("active")
    page.get_by_role("link", name="Return to the site").click()
    expect(page).to_have_url(app_server.url("/account"))
