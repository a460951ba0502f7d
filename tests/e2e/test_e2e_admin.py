"""Journeys of the newsroom's staff: an administrator signs in with a TOTP code and suspends a
reader, who loses the comment form at once; a moderator hides a queue of reported comments."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.actions import sign_in, sign_in_with_code
from tests.e2e.harness import PASSWORD

SUSPEND_ARTICLE = "council-adopts-automated-decision-tool-rules"
MODERATION_ARTICLE = "primary-care-waits-lengthen"


def confirm_password_if_asked(page: Page) -> bool:
    """On the password re-entry page (destructive actions need a recent sign-in), confirm it.
    Returns whether the page asked."""
    if not re.search(r"/reauthenticate", page.url):
        return False
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    return True


def test_an_admin_signs_in_with_a_code_and_suspends_a_reader(new_context, make_admin, make_reader):
    admin_email, admin_name, secret = make_admin()
    reader_email, reader_name = make_reader("Troublesome")
    reason = "Repeated personal attacks in the comments"

    # The reader is signed in on their own browser and can comment.
    reader = new_context().new_page()
    sign_in(reader, reader_email, display_name=reader_name)
    reader.goto(f"/articles/{SUSPEND_ARTICLE}")
    expect(reader.get_by_label("Your comment")).to_be_visible()
    expect(reader.get_by_role("button", name="Post comment")).to_be_visible()

    # The administrator: password, then the authenticator code.
    admin = new_context().new_page()
    sign_in_with_code(admin, admin_email, secret, display_name=admin_name)

    admin.goto("/admin/members")
    expect(admin.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Members \("))
    admin.get_by_label("Email or name").fill(reader_email)
    admin.get_by_role("button", name="Filter").click()
    expect(admin).to_have_url(re.compile(r"/admin/members\?.*q="))
    rows = admin.get_by_role("region", name="Members").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(reader_email)
    rows.get_by_role("link", name=reader_name).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(reader_name)
    account = admin.get_by_role("region", name="Account")
    expect(account).to_contain_text("Active")
    # Only what applies: an active member has no Reactivate.
    expect(admin.get_by_role("button", name=re.compile(r"^Reactivate"))).to_have_count(0)

    # Suspend: the reason beside the button, then one confirmation page (no "I confirm" boxes).
    danger = admin.get_by_role("region", name="Danger zone")
    for _attempt in range(2):
        danger.get_by_label("Reason, shown to the member").fill(reason)
        danger.get_by_role("button", name="Suspend", exact=True).click()
        admin.wait_for_load_state()
        if not confirm_password_if_asked(admin):
            break
        expect(admin.get_by_role("heading", level=1)).to_have_text(reader_name)
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Suspend: {reader_name}")
    expect(admin.get_by_text(f"“{reason}”")).to_be_visible()
    admin.get_by_role("button", name=f"Suspend {reader_name}").click()
    expect(admin.get_by_text(f"{reader_name} is suspended until further notice.")).to_be_visible()
    account = admin.get_by_role("region", name="Account")
    expect(account.locator("dd").nth(1)).to_have_text(f"Suspended: {reason}")
    expect(admin.get_by_role("button", name=f"Reactivate {reader_name}")).to_be_visible()

    # The reader's open page loses the comment form on reload: a suspension ends the member's
    # sessions (membership.auth.standing.suspend), so the browser is signed out.
    reader.reload()
    expect(reader.get_by_role("heading", level=1)).to_be_visible()
    expect(reader.get_by_label("Your comment")).to_have_count(0)
    expect(reader.get_by_role("navigation", name="Account")).not_to_contain_text(reader_name)
    # A suspended member may still sign in and read, and is told why they cannot comment.
    sign_in(reader, reader_email, display_name=reader_name)
    reader.goto(f"/articles/{SUSPEND_ARTICLE}")
    gate = reader.locator("#comment-form")
    expect(gate).to_contain_text("Your account is suspended")
    expect(gate).to_contain_text(reason)
    expect(reader.get_by_label("Your comment")).to_have_count(0)
    expect(reader.get_by_role("button", name="Post comment")).to_have_count(0)


def test_a_moderator_hides_every_reported_comment(page, make_reader, site_data):
    authors = [make_reader("Heated") for _ in range(3)]
    reporter_email, _reporter_name = make_reader("Reporter")
    bodies = [
        f"Reported remark number {index} about the clinic queues, {email[7:11]}."
        for index, (email, _name) in enumerate(authors, start=1)
    ]
    comment_ids = []
    for (email, _name), body in zip(authors, bodies, strict=True):
        comment_ids.append(site_data.post_comment(email, MODERATION_ARTICLE, body))
        site_data.report_comment(comment_ids[-1], reporter_email, "abuse")
    moderator_email, moderator_name = make_reader("Moderator", role="moderator")
    # Staff roles need two-factor sign-in.
    secret = site_data.enable_two_factor(moderator_email)
    sign_in_with_code(page, moderator_email, secret, display_name=moderator_name)

    # The comments are on the story before anyone moderates them.
    page.goto(f"/articles/{MODERATION_ARTICLE}")
    discussion = page.locator("#comments")
    for body in bodies:
        expect(discussion).to_contain_text(body)

    page.goto("/admin/comments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Comment moderation")
    queue = page.get_by_role("region", name="Comments in the reported queue")
    for body in bodies:
        expect(queue.locator("tbody tr").filter(has_text=body)).to_contain_text("abuse")
    boxes = queue.get_by_role("checkbox", name=re.compile(r"^Select comment \d+$"))
    count = boxes.count()
    assert count >= len(bodies)
    for index in range(count):
        boxes.nth(index).check()
    page.get_by_label("With the selected comments").select_option(label="Hide (uphold the reports)")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text(f"{count} comment(s) updated.")).to_be_visible()
    expect(page.get_by_text("This queue is empty.")).to_be_visible()
    expect(page.get_by_role("region", name="Comments in the reported queue")).to_have_count(0)

    page.goto(f"/articles/{MODERATION_ARTICLE}")
    discussion = page.locator("#comments")
    expect(discussion).to_be_visible()
    for body in bodies:
        expect(discussion).not_to_contain_text(body)
    # Hiding upholds the reports.
    for comment_id in comment_ids:
        assert site_data.reports_of(comment_id) == [(reporter_email, "abuse", "upheld")]
