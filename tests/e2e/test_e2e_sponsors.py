"""Journeys: a guest gives once and a reader gives monthly through the stand-in Stripe Checkout,
each appears on the sponsors wall as they chose; a refund takes the guest off the wall."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Locator, Page, expect

from tests.e2e.actions import sign_in, unique_email


def fill_sponsor_form(
    page: Page, *, amount: str, frequency: str, recognition: str, wall_name: str | None
) -> None:
    """/sponsor, filled in as a reader would, then on to Stripe Checkout."""
    page.goto("/sponsor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sponsor independent journalism")
    page.get_by_label(frequency, exact=True).check()
    page.get_by_label(re.compile(r"^Amount, from ")).fill(amount)
    page.get_by_label(recognition, exact=True).check()
    if wall_name is not None:
        page.get_by_label("Name on the wall").fill(wall_name)
    page.get_by_role("button", name="Continue to payment").click()


def on_checkout(page: Page, stripe) -> Locator:
    """The stand-in's hosted Checkout page; returns its order summary."""
    expect(page).to_have_url(re.compile("^" + re.escape(stripe.base_url) + r"/pay/cs_"))
    return page.get_by_role("table", name="Order summary")


def wall_entry(page: Page, name: str) -> Locator:
    return page.locator(".sponsor-list > li").filter(
        has=page.locator("strong", has_text=re.compile("^" + re.escape(name) + "$"))
    )


def sponsor_as_guest(page: Page, stripe, app_server, name: str, email: str) -> None:
    """A guest gives $25 once, named with the amount, and comes back to the thanks page."""
    fill_sponsor_form(
        page,
        amount="25",
        frequency="Once",
        recognition="Show my name and the amount",
        wall_name=name,
    )
    summary = on_checkout(page, stripe)
    expect(summary).to_contain_text("Sponsorship of the newsroom")
    expect(summary).to_contain_text("25.00 USD")
    expect(summary).not_to_contain_text("per month")
    # A guest has no Stripe customer: Checkout asks for the email address.
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(
        re.compile("^" + re.escape(app_server.url("/sponsor/thanks")) + r"\?session_id=cs_")
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    expect(page.get_by_text("Your sponsorship of $25 keeps our reporting free")).to_be_visible()


def test_a_guest_gives_once_and_appears_on_the_wall_with_name_and_amount(
    page, stripe, app_server, site_data
):
    email = unique_email("guest")
    name = f"Guest Sponsor {email[6:10]}"
    sponsor_as_guest(page, stripe, app_server, name, email)

    page.get_by_role("link", name="See the sponsors wall").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Our sponsors")
    # $25 is the Patrons level (from $25 up to Champions at $100).
    patrons = page.get_by_role("region", name="Patrons")
    entry = patrons.locator(".sponsor-list > li").filter(has_text=name)
    expect(entry).to_have_count(1)
    expect(entry.locator(".muted")).to_have_text("$25")

    [row] = site_data.sponsorships_named(name)
    assert (row["email"], row["frequency"], row["amount"], row["status"]) == (
        email,
        "once",
        2500,
        "paid",
    ), row
    assert row["user_id"] is None, row


def test_a_reader_gives_monthly_and_appears_by_name_only(
    page, stripe, app_server, make_reader, site_data
):
    email, name = make_reader("Monthly Sponsor")
    sign_in(page, email, display_name=name)

    page.goto("/sponsor")
    # Signed in, the name on the wall starts as the display name.
    expect(page.get_by_label("Name on the wall")).to_have_value(name)
    fill_sponsor_form(
        page, amount="12", frequency="Monthly", recognition="Show my name only", wall_name=None
    )
    summary = on_checkout(page, stripe)
    expect(summary).to_contain_text("Monthly sponsorship of the newsroom")
    expect(summary).to_contain_text("12.00 USD per month")
    # The reader is a Stripe customer already: no email to type.
    expect(page.get_by_label("Email")).to_have_count(0)
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(re.compile(re.escape(app_server.url("/sponsor/thanks"))))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    expect(page.get_by_text("Your monthly sponsorship of $12")).to_be_visible()

    page.goto("/sponsors")
    entry = wall_entry(page, name)
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("monthly")
    expect(entry).not_to_contain_text("$")
    expect(page.get_by_role("region", name="Friends")).to_contain_text(name)

    [row] = site_data.sponsorships_named(name)
    assert (row["frequency"], row["recognition"], row["amount"], row["status"]) == (
        "monthly",
        "name_only",
        1200,
        "active",
    ), row
    assert row["user_id"] == site_data.user(email)["id"], row


def test_a_refunded_gift_leaves_the_wall(page, stripe, app_server, site_data):
    email = unique_email("refunded")
    name = f"Refunded Sponsor {email[9:13]}"
    sponsor_as_guest(page, stripe, app_server, name, email)
    page.goto("/sponsors")
    expect(wall_entry(page, name)).to_have_count(1)

    [row] = site_data.sponsorships_named(name)
    intent = row["stripe_payment_intent_id"]
    assert intent and intent.startswith("pi_"), row
    deliveries_before = len(stripe.deliveries)
    stripe.refund(intent)

    # The stand-in POSTs charge.refunded to the app; the wall follows once it is handled.
    deadline = time.monotonic() + 10
    while wall_entry(page, name).count() and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        page.reload()
    expect(wall_entry(page, name)).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_text("Our sponsors")
    handled = [(d.type, d.status) for d in stripe.deliveries[deliveries_before:]]
    assert ("charge.refunded", 200) in handled, handled
