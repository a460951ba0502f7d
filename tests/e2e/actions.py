"""What a reader does in the browser, shared by the journeys and the screenshots script."""

from __future__ import annotations

import re
import uuid

import pyotp
from playwright.sync_api import Page, expect

from tests.e2e.harness import PASSWORD


def unique_email(prefix: str = "reader") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


def sign_in(page: Page, email: str, password: str = PASSWORD, display_name: str | None = None):
    """Sign in through the form, as a reader does, and wait for the greeting."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Welcome back")).to_be_visible()
    if display_name:
        expect(page.get_by_role("navigation", name="Account")).to_contain_text(display_name)


def sign_out(page: Page) -> None:
    page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def sign_in_with_code(
    page: Page,
    email: str,
    totp_secret: str,
    password: str = PASSWORD,
    display_name: str | None = None,
):
    """Sign in with the password, then the authenticator code on the two-factor page."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login/two-factor$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    page.get_by_label("Code").fill(pyotp.TOTP(totp_secret).now())
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Welcome back")).to_be_visible()
    if display_name:
        expect(page.get_by_role("navigation", name="Account")).to_contain_text(display_name)
