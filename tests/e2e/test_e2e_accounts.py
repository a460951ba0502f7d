"""Journeys: a password reset from the email link; "Sign out other sessions" ends another
browser's session."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.actions import sign_in
from tests.e2e.harness import PASSWORD, PHONE

NEW_PASSWORD = "lighthouse keepers count tides"


def test_password_reset_from_the_email_link(page, inbox, app_server, make_reader):
    email, name = make_reader("Forgetful")

    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    link = inbox.link(email, "/reset-password/", subject="Reset your password")
    assert link.startswith(app_server.base_url + "/reset-password/"), link
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()

    # A reset signs nobody in.
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(
        page.get_by_text("Your password has been changed. Please sign in with it.")
    ).to_be_visible()
    expect(page.get_by_role("navigation", name="Account")).not_to_contain_text(name)

    # The old password no longer works; the new one does.
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Incorrect email or password.")).to_be_visible()
    sign_in(page, email, NEW_PASSWORD, display_name=name)

    # The link worked once.
    response = page.goto(link)
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has already been used")


def test_sign_out_other_sessions_ends_the_second_browser(new_context, make_reader):
    email, name = make_reader("Two Devices")
    laptop = new_context().new_page()
    phone = new_context(viewport=PHONE).new_page()
    sign_in(laptop, email, display_name=name)
    sign_in(phone, email, display_name=name)

    laptop.goto("/account")
    sessions = laptop.get_by_role("table").locator("tbody tr")
    expect(sessions).to_have_count(2)
    expect(sessions.filter(has_text="(this device)")).to_have_count(1)
    laptop.get_by_role("button", name="Sign out other sessions").click()
    expect(laptop.get_by_text("Signed out of 1 other session(s).")).to_be_visible()
    expect(sessions).to_have_count(1)
    expect(laptop.get_by_role("button", name="Sign out other sessions")).to_be_disabled()

    # The other browser's cookie no longer signs it in.
    phone.goto("/account")
    expect(phone).to_have_url(re.compile(r"/login\?next=%2Faccount$"))
    expect(phone.get_by_text("Please sign in to see this page.")).to_be_visible()
    expect(phone.get_by_role("navigation", name="Account")).not_to_contain_text(name)

    # This one stays signed in.
    laptop.reload()
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Your account")
