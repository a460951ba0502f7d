"""Journey: a reader adds a passkey on the account page, signs out, and signs in with it.

The authenticator is Chromium's virtual one (CDP `WebAuthn.enable` and
`WebAuthn.addVirtualAuthenticator`): a platform authenticator with resident keys and user
verification, as a phone or laptop would be. WebAuthn refuses an IP address as the relying party
id, so this journey has its own server whose SITE_URL is http://localhost:PORT.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.actions import sign_in, sign_out, unique_email
from tests.e2e.conftest import BrowserGuard
from tests.e2e.harness import DESKTOP, AppServer, SiteData, start_app


@pytest.fixture(scope="module")
def localhost_server(tmp_path_factory, smtp_server) -> Iterator[AppServer]:
    """The app under gunicorn, served and addressed as localhost (a valid WebAuthn RP id)."""
    controller, _mailbox = smtp_server
    workdir = tmp_path_factory.mktemp("e2e-passkeys")
    with start_app(workdir, mail_port=controller.port, site_host="localhost", workers=1) as server:
        yield server
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, f"the app logged an error:\n{server.log_tail(120)}"


@pytest.fixture
def passkey_page(browser, localhost_server):
    """A page on the localhost server with a virtual authenticator attached, and its CDP link."""
    guard = BrowserGuard()
    context = browser.new_context(
        base_url=localhost_server.base_url, viewport=DESKTOP, locale="en-GB", timezone_id="UTC"
    )
    guard.watch(context)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield page, cdp, authenticator["authenticatorId"]
    context.close()
    guard.check()


def test_add_a_passkey_then_sign_in_with_it(passkey_page, localhost_server):
    page, cdp, authenticator_id = passkey_page
    site = SiteData(localhost_server)
    email, name = unique_email("passkey"), "Passkey Reader"
    site.create_user(email, name)
    try:
        sign_in(page, email, display_name=name)

        page.goto("/account")
        page.get_by_role("link", name="Manage passkeys").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Passkeys")
        expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
        page.get_by_label("Name of the new passkey").fill("Work laptop")
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.get_by_text("Your passkey is saved.")).to_be_visible()
        expect(page.get_by_label("Name", exact=True)).to_have_value("Work laptop")

        credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
        [credential] = credentials["credentials"]
        assert credential["isResidentCredential"] is True
        assert credential["rpId"] == "localhost"

        sign_out(page)
        page.goto("/login")
        page.get_by_role("button", name="Sign in with a passkey").click()
        expect(page.get_by_text(f"Welcome back, {name}.")).to_be_visible()
        expect(page.get_by_role("navigation", name="Account")).to_contain_text(name)
        expect(page).to_have_url(re.compile(r"/$"))

        with site.session() as session:
            from sqlalchemy import select

            from membership.models import User, WebAuthnCredential

            stored = session.scalars(
                select(WebAuthnCredential).join(User).where(User.email == email)
            ).all()
            assert [(row.name, row.last_used_at is not None) for row in stored] == [
                ("Work laptop", True)
            ]
            assert stored[0].sign_count >= 1  # the counter the authenticator reported
    finally:
        site.close()
