"""Fixtures of the browser suite: one app under gunicorn for the session, a loopback SMTP server
(`smtp_server` from tests/conftest.py), the stand-in Stripe, Chromium, and helpers.

Every test under tests/e2e/ is marked `e2e`: the unit runs select `-m "not e2e"`, this suite
runs with `-m e2e` (`make test-e2e`). Journeys of later features go in new files here, with
these fixtures; the pages that the accessibility and phone-width checks visit are listed in
`pages.py`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.actions import sign_in, unique_email
from tests.e2e.harness import (
    DESKTOP,
    AppServer,
    SiteData,
    is_loopback,
    launch_chromium,
    start_app,
)

E2E_DIR = Path(__file__).parent
CALL_FAILED = pytest.StashKey[bool]()
expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember whether the test itself failed (or xfailed), for the browser guard."""
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed or hasattr(report, "wasxfail")
    return report


# --- servers ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stripe_service():
    """The stand-in Stripe for the whole browser session (never reset: the app's prices live
    there). Its checkout and portal pages are what the browser sees of Stripe."""
    from tests.stripe_stub import StripeStub

    stub = StripeStub().start()
    yield stub
    stub.stop()
    assert stub.server_errors == [], "\n".join(stub.server_errors)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, smtp_server, stripe_service) -> Iterator[AppServer]:
    """The app under gunicorn, 2 workers, on a fresh SQLite database with the demo content."""
    controller, _mailbox = smtp_server
    workdir = tmp_path_factory.mktemp("e2e-app")
    with start_app(workdir, mail_port=controller.port, stripe=stripe_service) as server:
        yield server
        assert server.process.poll() is None, f"gunicorn died:\n{server.log_tail()}"
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, f"the app logged an error:\n{server.log_tail(120)}"


@pytest.fixture
def stripe(stripe_service):
    """The stand-in; every webhook it sends during the test must be accepted with 200."""
    deliveries_before = len(stripe_service.deliveries)
    errors_before = len(stripe_service.delivery_errors)
    yield stripe_service
    deliveries = stripe_service.deliveries[deliveries_before:]
    refused = [d for d in deliveries if d.status != 200]
    assert refused == [], f"webhooks not accepted: {refused}"
    assert stripe_service.delivery_errors[errors_before:] == []


@pytest.fixture(scope="session")
def site_data(app_server) -> Iterator[SiteData]:
    data = SiteData(app_server)
    yield data
    data.close()


class Inbox:
    """What the loopback SMTP server received, read as a reader would read their email."""

    def __init__(self, mailbox) -> None:
        self._mailbox = mailbox

    def wait_for(self, address: str, subject: str = "", timeout: float = 10.0):
        """The newest email to `address` whose subject contains `subject`.

        The app sends right after its transaction commits, before it answers; the short poll
        only covers the SMTP server's own thread.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self._mailbox.to(address) if subject in str(m["Subject"])]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                got = [(m["To"], m["Subject"]) for m in self._mailbox.messages]
                raise AssertionError(f"no email to {address} about {subject!r}; got {got}")
            time.sleep(0.05)

    def link(self, address: str, path_fragment: str, subject: str = "") -> str:
        """The first link in that email whose URL contains `path_fragment`."""
        message = self.wait_for(address, subject)
        body = self.text_of(message)
        for url in re.findall(r"https?://\S+", body):
            if path_fragment in url:
                return url
        raise AssertionError(f"no link with {path_fragment!r} in: {body}")

    def text_of(self, message) -> str:
        return self._mailbox.text_of(message)


@pytest.fixture(scope="session")
def inbox(smtp_server) -> Inbox:
    _controller, mailbox = smtp_server
    return Inbox(mailbox)


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


class BrowserGuard:
    """Records what must never happen in a test: requests off loopback, CSP violations and
    uncaught script errors."""

    def __init__(self) -> None:
        self.offsite: list[str] = []
        self.csp: list[str] = []
        self.page_errors: list[str] = []

    def watch(self, context: BrowserContext) -> None:
        context.on("request", self._request)
        context.on("page", self._page)

    def _request(self, request) -> None:
        if not is_loopback(request.url):
            self.offsite.append(request.url)

    def _page(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)

    def check(self) -> None:
        assert self.offsite == [], f"the browser left loopback: {self.offsite}"
        assert self.csp == [], f"Content-Security-Policy violations: {self.csp}"
        assert self.page_errors == [], f"script errors: {self.page_errors}"


@pytest.fixture
def new_context(request, browser, app_server) -> Iterator:
    """A factory of isolated browser profiles (own cookies), closed after the test.

    After a test that passed, nothing may have left loopback, broken the Content-Security-Policy
    or thrown a script error (a failed test has already said what went wrong)."""
    contexts: list[BrowserContext] = []
    guard = BrowserGuard()

    def make(viewport: dict | None = None, **options) -> BrowserContext:
        context = browser.new_context(
            base_url=app_server.base_url,
            viewport=viewport or DESKTOP,
            locale="en-GB",
            timezone_id="UTC",
            **options,
        )
        guard.watch(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    if not request.node.stash.get(CALL_FAILED, False):
        guard.check()


@pytest.fixture
def page(new_context) -> Page:
    """A page in a fresh desktop-sized browser profile."""
    return new_context().new_page()


# --- readers ----------------------------------------------------------------------------------


@pytest.fixture
def make_reader(site_data):
    """Create an account directly in the database; returns (email, display name)."""

    def make(name: str = "Reader", *, prefix: str = "reader", **options) -> tuple[str, str]:
        email = unique_email(prefix)
        display_name = f"{name} {email[len(prefix) + 1 : len(prefix) + 5]}"
        site_data.create_user(email, display_name, **options)
        return email, display_name

    return make


@pytest.fixture
def signed_in_page(page, make_reader) -> tuple[Page, str, str]:
    """A page signed in as a new confirmed reader: (page, email, display name)."""
    email, name = make_reader()
    sign_in(page, email, display_name=name)
    return page, email, name


@pytest.fixture
def make_admin(make_reader, site_data):
    """An administrator with two-factor sign-in on; returns (email, display name, TOTP secret)."""

    def make(name: str = "Editor") -> tuple[str, str, str]:
        email, display_name = make_reader(name, prefix="admin", role="admin")
        return email, display_name, site_data.enable_two_factor(email)

    return make
