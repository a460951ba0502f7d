"""Journey: a new reader registers, confirms from the email, signs in and joins the discussion."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.actions import sign_in, sign_out, unique_email
from tests.e2e.harness import PASSWORD

ARTICLE = "seagrass-returns-to-harborview-bay"


def test_register_confirm_comment_reply_edit_report_and_sign_out(
    page, inbox, app_server, site_data, make_reader
):
    other_email, other_name = make_reader("Neighbour")
    their_comment = site_data.post_comment(
        other_email, ARTICLE, "The eelgrass survey numbers look encouraging this year."
    )
    email = unique_email("journey")
    name = "Journey Reader"

    # Register from the header link.
    page.goto("/")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your free account")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/register/check-email$"))

    # The confirmation email's link (built from SITE_URL) shows a button; a GET confirms nothing.
    link = inbox.link(email, "/confirm/", subject="Confirm your email address")
    assert link.startswith(app_server.base_url + "/confirm/"), link
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    assert site_data.user(email)["email_confirmed_at"] is None
    page.get_by_role("button", name="Confirm my email").click()
    expect(page.get_by_text("Thank you, your email address is confirmed.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login"))
    assert site_data.user(email)["email_confirmed_at"] is not None

    sign_in(page, email, display_name=name)

    # Comment on a story.
    page.goto(f"/articles/{ARTICLE}")
    first = "Glad the bay is recovering. Will the survey be repeated next summer?"
    page.get_by_label("Your comment").fill(first)
    page.get_by_role("button", name="Post comment").click()
    # In place (htmx): the live region says what happened, and focus moves to the comment.
    expect(page.locator("#discussion-status")).to_have_text("Comment posted")
    mine = page.get_by_role("article", name=f"Comment by {name}")
    expect(mine).to_have_count(1)
    expect(mine.locator(".comment-body")).to_have_text(first)
    expect(mine).to_be_focused()

    # Reply to the other reader (new accounts wait 30 s between comments: time passes in the
    # database instead of the test sleeping).
    site_data.let_time_pass(email)
    theirs = page.locator(f"#c{their_comment}")
    expect(theirs).to_contain_text(other_name)
    theirs.get_by_role("link", name="Reply").click()
    # The reply form opens under the comment it answers, with the focus in it.
    reply_box = theirs.get_by_label(f"Your reply to {other_name}")
    expect(reply_box).to_be_focused()
    reply = "The county said it will; the report is due in the autumn."
    reply_box.fill(reply)
    page.get_by_role("button", name="Post reply").click()
    expect(page.locator("#discussion-status")).to_have_text("Comment posted")
    thread = page.locator("li.thread").filter(has=page.locator(f"#c{their_comment}"))
    replies = thread.locator("ol.replies")
    expect(replies.get_by_role("article", name=f"Comment by {name}")).to_contain_text(reply)
    notice = inbox.wait_for(other_email, subject=f"{name} replied to your comment")
    assert f"/articles/{ARTICLE}" in inbox.text_of(notice)

    # Edit the first comment.
    own_first = page.get_by_role("article", name=f"Comment by {name}").filter(has_text=first)
    own_first.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Edit your comment")).to_be_focused()
    edited = "Glad the bay is recovering. The survey will be repeated, the county says."
    page.get_by_label("Edit your comment").fill(edited)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#discussion-status")).to_have_text("Comment updated")
    own_edited = page.get_by_role("article", name=f"Comment by {name}").filter(has_text=edited)
    expect(own_edited).to_contain_text("(edited)")
    expect(page.get_by_text(first)).to_have_count(0)

    # Report the other reader's comment (own comments offer no Report link).
    expect(own_edited.get_by_role("link", name="Report")).to_have_count(0)
    page.locator(f"#c{their_comment}").get_by_role("link", name="Report").click()
    report_form = page.locator(f"#r{their_comment} form")
    expect(report_form).to_contain_text("Why should a moderator look at this comment?")
    report_form.get_by_label("Off-topic").check()
    page.get_by_role("button", name="Send the report").click()
    expect(page.locator("#discussion-status")).to_have_text(
        "Thank you. A moderator will look at this comment."
    )
    expect(page.locator(f"#c{their_comment}")).to_contain_text("Reported")
    assert site_data.reports_of(their_comment) == [(email, "off-topic", "open")]

    # Signed out, the discussion stays readable but the comment form is gone.
    sign_out(page)
    page.goto(f"/articles/{ARTICLE}")
    expect(page.locator("#comments")).to_contain_text(edited)
    expect(page.get_by_label("Your comment")).to_have_count(0)
    expect(page.get_by_role("button", name="Post comment")).to_have_count(0)
    expect(page.locator("#comment-form")).to_contain_text("Sign in to leave a comment.")
