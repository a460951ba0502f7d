"""Render the main pages with demo data to PNG files for the README (`make screenshots`).

    .venv/bin/python -m tests.e2e.screenshots [OUTPUT_DIR]     # default: docs/screenshots

Starts the app under gunicorn on a throwaway database with the demo content and the stand-in
Stripe, adds a few demo readers, a discussion and a report, subscribes one reader through
Checkout, has an administrator label and suspend a reader, and photographs every reader and admin
page in Chromium at 1280 pixels (`name.png`) and 375 pixels (`name-phone.png`).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.actions import sign_in, sign_in_with_code
from tests.e2e.harness import DESKTOP, PHONE, ROOT, SiteData, launch_chromium, start_app
from tests.e2e.pages import DEMO_ARTICLE

DEMO_READER = ("ada.lindgren@example.org", "Ada Lindgren")
DEMO_ADMIN = ("editor@example.org", "Elin Editor")
LOCKED_ARTICLE = "downtown-storefront-vacancies-ease"  # for subscribers
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


def seed_discussion(data: SiteData) -> list[int]:
    """The demo discussion; returns the comment ids."""
    ids: list[int] = []
    for email, name, body, reply_to in DISCUSSION:
        data.create_user(email, name)
        parent = ids[reply_to] if reply_to is not None else None
        ids.append(data.post_comment(email, DEMO_ARTICLE, body, reply_to=parent))
    return ids


# (file name, path, full page at 1280?) of the pages a visitor sees, signed out.
VISITOR_PAGES = [
    ("home", "/", False),
    ("section", "/section/world", False),
    ("tag", "/tag/local-government", False),
    ("story-locked", f"/articles/{LOCKED_ARTICLE}", True),
    ("register", "/register", False),
    ("login", "/login", False),
    ("login-email-link", "/login/email-link", False),
    ("reset-password", "/reset-password", False),
    ("sponsor", "/sponsor", True),
    ("sponsors-wall", "/sponsors", False),
    ("not-found", "/no-such-page", False),
]
# The pages of the signed-in member (after subscribing).
READER_PAGES = [
    ("article", f"/articles/{DEMO_ARTICLE}", True),
    ("membership", "/membership", False),
    ("account", "/account", True),
    ("account-passkeys", "/account/passkeys", False),
]
# Every admin page; `{member}` and `{article}` are filled in with ids from the demo data.
ADMIN_PAGES = [
    ("admin-dashboard", "/admin", True),
    ("admin-members", "/admin/members", True),
    ("admin-member", "/admin/members/{member}", True),
    ("admin-moderation", "/admin/comments", True),
    ("admin-audit", "/admin/audit", True),
    ("admin-articles", "/admin/articles", False),
    ("admin-article", "/admin/articles/{article}", False),
    ("admin-tiers", "/admin/tiers", False),
    ("admin-settings", "/admin/settings", False),
    ("admin-jobs", "/admin/jobs", True),
    ("admin-billing-conflicts", "/admin/billing/conflicts", False),
]


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
    """Open the path (a 404 is expected only for not-found) and save the picture."""
    response = page.goto(path)
    expected = 404 if "no-such-page" in path else 200
    assert response is not None and response.status == expected, f"{path}: {response}"
    picture(page, target, full_page=full_page)


def picture(page: Page, target: Path, *, full_page: bool = False) -> None:
    page.screenshot(path=str(target), full_page=full_page, animations="disabled")
    print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")


def shoot_both(browser, options: dict, state, pages, output: Path, ids: dict) -> None:
    """Each page at 1280 pixels (`name.png`) and 375 pixels (`name-phone.png`), in the signed-in
    state given (cookies of one sign-in: a TOTP code cannot be used twice)."""
    for viewport, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        page = browser.new_context(viewport=viewport, storage_state=state, **options).new_page()
        for name, path, full_page in pages:
            # On a phone every long page is a full-length strip: that is how it is read.
            shoot(page, path.format(**ids), output / f"{name}{suffix}.png", full_page=full_page)
        page.context.close()


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
            comment_ids = seed_discussion(data)
            email, name = DEMO_READER
            data.create_user(email, name)
            admin_email, admin_name = DEMO_ADMIN
            data.create_user(admin_email, admin_name, role="admin")
            secret = data.enable_two_factor(admin_email)
            data.create_user("nils@example.org", "Nils Aronsson")
            data.report_comment(comment_ids[0], "nils@example.org", "off-topic")
            ids = demo_ids(data)
            # A wall with each kind of recognition (its empty state is tested over HTTP).
            data.add_paid_sponsorship(
                "Ingrid Halvorsen", 15000, message="For the council coverage."
            )
            data.add_paid_sponsorship("Pia Sandberg", 2500, frequency="monthly")
            data.add_paid_sponsorship("Tove Berg", 1000, recognition="name_only")
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                options = {"base_url": server.base_url, "locale": "en-GB", "timezone_id": "UTC"}

                shoot_both(browser, options, None, VISITOR_PAGES, output, ids)

                reader = browser.new_context(viewport=DESKTOP, **options).new_page()
                sign_in(reader, email, display_name=name)
                subscribe_demo_reader(reader, server.base_url)
                data.post_comment(
                    email, DEMO_ARTICLE, "Worth paying for reporting like this. Thank you."
                )
                state = reader.context.storage_state()
                reader.context.close()
                shoot_both(browser, options, state, READER_PAGES, output, ids)
                # Before the admin suspends Marta, who writes in the long thread.
                seed_long_discussion(data, email)
                shoot_discussion(browser, options, output, DEMO_READER)

                admin = browser.new_context(viewport=DESKTOP, **options).new_page()
                sign_in_with_code(admin, admin_email, secret, display_name=admin_name)
                act_as_admin(admin, ids, output)
                state = admin.context.storage_state()
                admin.context.close()
                shoot_both(browser, options, state, ADMIN_PAGES, output, ids)
                browser.close()
            data.close()
    finally:
        stub.stop()


def demo_ids(data: SiteData) -> dict[str, int]:
    """The ids the admin paths need: Marta (who commented) and the demo story."""
    from sqlalchemy import select

    from membership.models import Article

    with data.session() as session:
        article = session.scalar(select(Article.id).where(Article.slug == DEMO_ARTICLE))
    return {"member": data.user(DISCUSSION[0][0])["id"], "article": article}


def act_as_admin(page: Page, ids: dict, output: Path) -> None:
    """A label and a suspension through the member page (its confirmation page photographed),
    so the member page, its timeline and the audit log carry real entries."""
    page.goto(f"/admin/members/{ids['member']}")
    page.get_by_label("New label").fill("Press")
    page.get_by_role("button", name="Add label").click()
    expect(page.get_by_text("Marta Lindqvist is labelled “press”.")).to_be_visible()
    page.get_by_label("Reason, shown to the member").fill("Repeated off-topic posts")
    page.get_by_label("Until (optional)").last.fill("2099-01-12")
    page.get_by_role("button", name="Suspend", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Suspend: Marta Lindqvist")
    picture(page, output / "admin-confirm.png")
    page.get_by_role("button", name="Suspend Marta Lindqvist").click()
    expect(page.get_by_text("Marta Lindqvist is suspended until 12 Jan 2099.")).to_be_visible()


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
