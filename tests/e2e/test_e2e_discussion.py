"""The discussion in the browser: every action in place with JavaScript (htmx), and the same
action as a plain form and redirect with JavaScript off; axe and phone width on its states."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.actions import sign_in
from tests.e2e.harness import (
    BLOCKING_IMPACTS,
    DESKTOP,
    PHONE,
    axe_violations,
    describe_violations,
    horizontal_overflow,
    without_known_app_bugs,
)

ARTICLE = "library-expands-hotspot-lending"
LONG_ARTICLE = "primary-care-waits-lengthen"
JAVASCRIPT = pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])


@pytest.fixture
def reader(new_context, make_reader):
    """A signed-in reader's page, JavaScript on or off: (page, email, name)."""

    def make(javascript: bool, viewport: dict = DESKTOP, **options):
        page = new_context(viewport=viewport, java_script_enabled=javascript).new_page()
        email, name = make_reader("Discussant", age=timedelta(days=3), **options)
        sign_in(page, email, display_name=name)
        return page, email, name

    return make


def open_discussion(page: Page, javascript: bool, path: str = f"/articles/{ARTICLE}") -> None:
    """Open the story at its discussion; with JavaScript, mark the window to see it is kept."""
    page.goto(path + "#comments")
    expect(page.locator("#comments")).to_be_visible()
    if javascript:
        page.evaluate("window.stayedOnPage = true")


def stayed_on_page(page: Page) -> bool:
    """True when the action updated the page in place (no navigation, no reload)."""
    return page.evaluate("window.stayedOnPage === true")


def expect_announced(page: Page, message: str) -> None:
    expect(page.locator("#discussion-status")).to_have_text(message)


@JAVASCRIPT
def test_like(reader, make_reader, site_data, javascript):
    author, _name = make_reader("Author")
    comment = site_data.post_comment(author, ARTICLE, "Worth liking: the hotspots work.")
    page, _email, _name = reader(javascript)
    open_discussion(page, javascript)
    like = page.locator(f"#c{comment}").get_by_role("button", name="Like")
    expect(like).to_have_attribute("aria-pressed", "false")
    like.click()
    like = page.locator(f"#c{comment}").get_by_role("button", name="Like")
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f"#c{comment}")).to_contain_text("1 like")
    if javascript:
        expect_announced(page, "Liked")
        expect(like).to_be_focused()
        assert stayed_on_page(page)
    else:
        expect(page).to_have_url(re.compile(rf"/articles/{ARTICLE}#c{comment}$"))


@JAVASCRIPT
def test_post_and_reply(reader, make_reader, site_data, javascript):
    other, other_name = make_reader("Neighbour")
    theirs = site_data.post_comment(other, ARTICLE, "Does the library lend chargers too?")
    page, email, name = reader(javascript)
    open_discussion(page, javascript)
    first = f"A comment posted with JavaScript {'on' if javascript else 'off'}."
    page.get_by_label("Your comment").fill(first)
    page.get_by_role("button", name="Post comment").click()
    mine = page.get_by_role("article", name=f"Comment by {name}").filter(has_text=first)
    expect(mine).to_have_count(1)
    if javascript:
        expect_announced(page, "Comment posted")
        expect(mine).to_be_focused()
        expect(page.get_by_label("Your comment")).to_have_value("")
        assert stayed_on_page(page)
    else:
        expect(page.get_by_text("Your comment is posted.")).to_be_visible()

    site_data.let_time_pass(email)
    page.locator(f"#c{theirs}").get_by_role("link", name="Reply").click()
    box = page.get_by_label(f"Your reply to {other_name}")
    if javascript:
        expect(box).to_be_focused()
    expect(page.locator(f"#r{theirs}")).to_contain_text(f"Your reply to {other_name}")
    reply = "Yes, USB-C chargers, for a week at a time."
    box.fill(reply)
    page.get_by_role("button", name="Post reply").click()
    thread = page.locator("li.thread").filter(has=page.locator(f"#c{theirs}"))
    expect(
        thread.locator("ol.replies").get_by_role("article", name=f"Comment by {name}")
    ).to_contain_text(reply)
    if javascript:
        expect_announced(page, "Comment posted")
        assert stayed_on_page(page)
    else:
        expect(page.get_by_text("Your comment is posted.")).to_be_visible()


@JAVASCRIPT
def test_edit_with_cancel_then_save(reader, site_data, javascript):
    page, email, name = reader(javascript)
    original = f"Edit me ({'js' if javascript else 'no-js'}), there is a typo hree."
    comment = site_data.post_comment(email, ARTICLE, original)
    open_discussion(page, javascript)
    own = page.locator(f"#c{comment}")
    own.get_by_role("link", name="Edit").click()
    if javascript:
        expect(page.get_by_label("Edit your comment")).to_be_focused()
        page.locator(f"#c{comment}").get_by_role("link", name="Cancel").click()
        expect(page.locator(f"#c{comment} .comment-body")).to_have_text(original)
        page.locator(f"#c{comment}").get_by_role("link", name="Edit").click()
    else:
        expect(page.get_by_role("heading", level=1)).to_have_text("Edit your comment")
        page.get_by_role("link", name="Cancel").click()
        expect(page).to_have_url(re.compile(rf"#c{comment}$"))
        page.locator(f"#c{comment}").get_by_role("link", name="Edit").click()
    edited = original.replace("hree", "here")
    page.get_by_label("Edit your comment" if javascript else "Your comment").fill(edited)
    page.get_by_role("button", name="Save").click()
    own = page.get_by_role("article", name=f"Comment by {name}").filter(has_text=edited)
    expect(own).to_contain_text("(edited)")
    if javascript:
        expect_announced(page, "Comment updated")
        assert stayed_on_page(page)
    else:
        expect(page.get_by_text("Your comment is updated.")).to_be_visible()


@JAVASCRIPT
def test_delete(reader, site_data, javascript):
    page, email, _name = reader(javascript)
    words = f"Delete me ({'js' if javascript else 'no-js'})."
    comment = site_data.post_comment(email, ARTICLE, words)
    open_discussion(page, javascript)
    if javascript:
        page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#c{comment}").get_by_role("link", name="Delete").click()
    if javascript:
        expect(page.locator(f"#c{comment}")).to_have_text("Your comment is deleted.")
        expect_announced(page, "Comment deleted")
        assert stayed_on_page(page)
    else:
        expect(page.get_by_role("heading", level=1)).to_have_text("Delete your comment?")
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_text("Your comment is deleted.")).to_be_visible()
    expect(page.get_by_text(words)).to_have_count(0)


@JAVASCRIPT
def test_report(reader, make_reader, site_data, javascript):
    author, _name = make_reader("Loud")
    comment = site_data.post_comment(author, ARTICLE, "Buy cheap watches at my shop!")
    page, email, _name = reader(javascript)
    open_discussion(page, javascript)
    page.locator(f"#c{comment}").get_by_role("link", name="Report").click()
    if not javascript:
        expect(page.get_by_role("heading", level=1)).to_have_text("Report a comment")
    page.get_by_label("Spam or advertising").check()
    page.get_by_role("button", name="Send the report").click()
    if javascript:
        expect(page.locator(f"#c{comment}")).to_contain_text("Reported")
        expect_announced(page, "Thank you. A moderator will look at this comment.")
        assert stayed_on_page(page)
    else:
        expect(
            page.get_by_text("Thank you. A moderator will look at this comment.")
        ).to_be_visible()
        expect(page.locator(f"#c{comment}")).to_contain_text("Reported")
    assert site_data.reports_of(comment) == [(email, "spam", "open")]


@pytest.fixture(scope="module")
def long_discussion(site_data):
    """55 threads on one story: a page of 50 and "Show more comments"."""
    email = "long-discussion@example.org"
    site_data.create_user(email, "Prolific Reader", age=timedelta(days=3))
    return [
        site_data.post_comment(email, LONG_ARTICLE, f"Thread number {number:02d}")
        for number in range(55)
    ]


@JAVASCRIPT
def test_sort_and_load_more(new_context, long_discussion, javascript):
    page = new_context(java_script_enabled=javascript).new_page()
    open_discussion(page, javascript, f"/articles/{LONG_ARTICLE}")
    sort = page.get_by_role("navigation", name="Sort comments")
    expect(sort.get_by_role("link", name="Oldest")).to_have_attribute("aria-current", "true")
    sort.get_by_role("link", name="Newest").click()
    expect(sort.get_by_role("link", name="Newest")).to_have_attribute("aria-current", "true")
    expect(sort.get_by_role("link", name="Oldest")).not_to_have_attribute("aria-current", "true")
    threads = page.locator("li.thread")
    expect(threads.first).to_contain_text("Thread number 54")
    expect(threads).to_have_count(50)
    expect(page).to_have_url(re.compile(r"\?sort=newest#comments$"))
    page.get_by_role("link", name="Show more comments").click()
    if javascript:
        expect(threads).to_have_count(55)
        expect(page.locator(".comment").filter(has_text="Thread number 04").first).to_be_focused()
        expect_announced(page, "More comments loaded")
        assert stayed_on_page(page)
    else:
        expect(threads).to_have_count(5)
        expect(page.get_by_role("link", name="Earlier comments")).to_be_visible()
    expect(threads.last).to_contain_text("Thread number 00")
    expect(page.get_by_role("link", name="Show more comments")).to_have_count(0)


@JAVASCRIPT
def test_moderator_features_a_comment(reader, make_reader, site_data, javascript):
    author, _name = make_reader("Insightful")
    words = f"A comment worth featuring ({'js' if javascript else 'no-js'})."
    comment = site_data.post_comment(author, ARTICLE, words)
    page, _email, _name = reader(javascript, role="moderator")
    open_discussion(page, javascript)
    page.locator(f"#c{comment}").get_by_role("button", name="Feature").click()
    featured = page.get_by_role("region", name="Featured")
    expect(featured).to_contain_text(words)
    expect(page.locator(f"#c{comment}").get_by_role("button", name="Unfeature")).to_be_visible()
    if javascript:
        expect_announced(page, "Comment featured")
        assert stayed_on_page(page)
    else:
        expect(page.get_by_text("Comment featured.")).to_be_visible()
    page.locator(f"#c{comment}").get_by_role("button", name="Unfeature").click()
    expect(page.get_by_role("region", name="Featured").filter(has_text=words)).to_have_count(0)


def test_readers_see_no_controls_they_cannot_use(new_context, make_reader, site_data):
    author, _name = make_reader("Visible")
    comment = site_data.post_comment(author, ARTICLE, "Visitors read, they do not act.")
    page = new_context().new_page()
    # A query string of its own: anonymous pages may be served from a short page cache.
    open_discussion(page, True, f"/articles/{ARTICLE}?visitor={comment}")
    block = page.locator(f"#c{comment}")
    expect(block.get_by_role("button", name="Like")).to_have_count(0)
    expect(block.get_by_role("link", name="Report")).to_have_count(0)
    expect(block.get_by_role("button", name="Feature")).to_have_count(0)
    expect(block.get_by_role("link", name="Reply")).to_have_count(0)


def test_permalinked_comment_is_highlighted(reader, make_reader, site_data):
    author, _name = make_reader("Linked")
    comment = site_data.post_comment(author, ARTICLE, "Link straight to me.")
    page, _email, _name = reader(False)
    page.goto(f"/comments/{comment}")
    expect(page).to_have_url(re.compile(rf"/articles/{ARTICLE}#c{comment}$"))
    highlighted = page.locator(f"#c{comment}")
    expect(highlighted).to_have_css("background-color", "rgb(255, 246, 214)")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_discussion_states_pass_axe(reader, make_reader, site_data, viewport):
    """Threads with a long one, featured, own comments, a reply form and an edit in place."""
    other, _other_name = make_reader("Thread Starter")
    top = site_data.post_comment(other, ARTICLE, "A thread that goes on and on.")
    for number in range(5):
        site_data.post_comment(other, ARTICLE, f"More on that, part {number}.", reply_to=top)
    page, email, _name = reader(True, viewport)
    own = site_data.post_comment(email, ARTICLE, "My own comment, with Edit and Delete.")
    open_discussion(page, True)
    page.locator(f"#c{top}").get_by_role("link", name="Reply").click()
    expect(page.locator(f"#r{top} form")).to_be_visible()
    page.locator("li.thread").filter(has=page.locator(f"#c{top}")).locator("summary").click()
    page.locator(f"#c{own}").get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Edit your comment")).to_be_visible()
    blocking = [
        v for v in without_known_app_bugs(axe_violations(page)) if v["impact"] in BLOCKING_IMPACTS
    ]
    assert blocking == [], describe_violations(blocking)
    overflow = horizontal_overflow(page)
    assert overflow["scrollWidth"] <= overflow["viewport"], overflow
