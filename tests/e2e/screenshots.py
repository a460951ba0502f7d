"""Render the main pages with demo data to PNG files for the README (`make screenshots`).

    .venv/bin/python -m tests.e2e.screenshots [OUTPUT_DIR]     # default: docs/screenshots

Starts the app under gunicorn on a throwaway database with the demo content and the stand-in
Stripe, adds a few demo readers and a discussion, subscribes one of them through Checkout, and
photographs the pages in Chromium 1280 pixels wide (and the home page on a phone).
"""

from __future__ import annotations

import re
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


# A longer discussion for the discussion's own pictures: a featured staff comment, a member,
# likes and a thread long enough for "Show N more replies".
MODERATOR = ("desk@example.org", "Newsroom Desk")
LONG_THREAD = [
    ("ingrid@example.org", "Ingrid Halvorsen", "Who pays for the new meters, the utilities or us?"),
    ("marta@example.org", None, "The agreement splits it: each utility pays for its own side."),
    ("jonas@example.org", None, "And the state grant covers the first two years of software."),
    ("ingrid@example.org", None, "Good. Then the rates should not move before 2028."),
    ("pia@example.org", "Pia Sandberg", "The council minutes say the same, page 14."),
    ("marta@example.org", None, "Thanks, Pia. That settles it for me."),
]


def seed_long_discussion(data: SiteData, liker: str) -> None:
    """The featured staff comment, a long thread with likes (after `seed_discussion`)."""
    email, name = MODERATOR
    data.create_user(email, name, role="moderator")
    desk = data.post_comment(
        email,
        DEMO_ARTICLE,
        "Thanks for the questions. We will publish the leak-detection figures as soon as the "
        "utilities release them, and link the full agreement under the story.",
    )
    data.feature_comment(desk, email)
    parent = None
    for author, author_name, body in LONG_THREAD:
        if author_name:
            data.create_user(author, author_name)
        comment = data.post_comment(author, DEMO_ARTICLE, body, reply_to=parent)
        parent = parent or comment
    data.like_comment(parent, liker)
    data.like_comment(desk, liker)


def shoot_discussion(browser, options: dict, output: Path, reader: tuple[str, str]) -> None:
    """The discussion at 1280 and 375 pixels: as a visitor, as a reader, replying, editing."""
    email, name = reader
    path = f"/articles/{DEMO_ARTICLE}"

    def section(page: Page, target: Path) -> None:
        page.locator("#comments").screenshot(path=str(target), animations="disabled")
        print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")

    for viewport, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        visitor = browser.new_context(viewport=viewport, **options).new_page()
        visitor.goto(path + "#comments")
        section(visitor, output / f"discussion-visitor{suffix}.png")
        visitor.context.close()

        page = browser.new_context(viewport=viewport, **options).new_page()
        sign_in(page, email, display_name=name)
        page.goto(path + "#comments")
        section(page, output / f"discussion{suffix}.png")
        thread = page.locator("li.thread").filter(has_text=LONG_THREAD[0][2])
        thread.locator(".comment").first.get_by_role("link", name="Reply").click()
        expect(page.get_by_label(re.compile("^Your reply to"))).to_be_focused()
        thread.locator("details.more-replies > summary").click()
        section(page, output / f"discussion-replying{suffix}.png")
        own = page.locator(".comment.is-own").first
        own.get_by_role("link", name="Edit").click()
        expect(page.get_by_label("Edit your comment")).to_be_visible()
        section(page, output / f"discussion-editing{suffix}.png")
        page.context.close()


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
                seed_long_discussion(data, email)
                shoot_discussion(browser, options, output, DEMO_READER)
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
