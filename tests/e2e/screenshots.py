"""Render the main pages with demo data to PNG files for the README (`make screenshots`).

    .venv/bin/python -m tests.e2e.screenshots [OUTPUT_DIR]     # default: docs/screenshots

Starts the app under gunicorn on a throwaway database with the demo content and the stand-in
Stripe, adds a few demo readers and a discussion, subscribes one of them through Checkout, and
photographs the pages in Chromium 1280 pixels wide (and the home page on a phone).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.actions import sign_in
from tests.e2e.harness import DESKTOP, PHONE, ROOT, SiteData, launch_chromium, start_app
from tests.e2e.pages import DEMO_ARTICLE

DEMO_READER = ("ada.lindgren@example.org", "Ada Lindgren")
DISCUSSION = [
    # (email, display name, comment, index of the comment it replies to)
    (
        "marta@example.org",
        "Marta Lindqvist",
        "Good to see the two utilities sharing engineers and data rather than money. "
        "Will the leak-detection results be published?",
        None,
    ),
    (
        "jonas@example.org",
        "Jonas Ekberg",
        "The agreement says an annual public report, the first one next autumn.",
        0,
    ),
]


def seed_discussion(data: SiteData) -> None:
    ids: list[int] = []
    for email, name, body, reply_to in DISCUSSION:
        data.create_user(email, name)
        parent = ids[reply_to] if reply_to is not None else None
        ids.append(data.post_comment(email, DEMO_ARTICLE, body, reply_to=parent))


def shoot(page: Page, path: str, target: Path, *, full_page: bool = False) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response}"
    page.screenshot(path=str(target), full_page=full_page, animations="disabled")
    print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")


def main(output: Path) -> None:
    from tests.stripe_stub import StripeStub

    output.mkdir(parents=True, exist_ok=True)
    stub = StripeStub().start()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="screenshots-") as workdir,
            start_app(Path(workdir), stripe=stub) as server,
        ):
            data = SiteData(server)
            seed_discussion(data)
            email, name = DEMO_READER
            data.create_user(email, name)
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                options = {"base_url": server.base_url, "locale": "en-GB", "timezone_id": "UTC"}

                visitor = browser.new_context(viewport=DESKTOP, **options).new_page()
                shoot(visitor, "/", output / "home.png")
                shoot(visitor, "/register", output / "register.png")
                shoot(visitor, "/login", output / "login.png")

                phone = browser.new_context(viewport=PHONE, **options).new_page()
                shoot(phone, "/", output / "home-phone.png")

                reader = browser.new_context(viewport=DESKTOP, **options).new_page()
                sign_in(reader, email, display_name=name)
                shoot(reader, "/membership", output / "membership.png")
                subscribe_demo_reader(reader, server.base_url)
                data.post_comment(
                    email, DEMO_ARTICLE, "Worth paying for reporting like this. Thank you."
                )
                reader.goto(f"/articles/{DEMO_ARTICLE}#comments")
                shoot(reader, f"/articles/{DEMO_ARTICLE}", output / "article.png", full_page=True)
                shoot(reader, "/account", output / "account.png", full_page=True)
                browser.close()
            data.close()
    finally:
        stub.stop()


def subscribe_demo_reader(page: Page, base_url: str) -> None:
    """Supporter, monthly, through the stand-in's Checkout page."""
    page.goto("/membership")
    page.get_by_role("region", name="Supporter").get_by_role(
        "button", name="Subscribe monthly"
    ).click()
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Supporter!")
    assert page.url.startswith(base_url), page.url


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    print(f"Writing screenshots to {target}:")
    main(target.resolve())
