"""Wording and layout left rough by the merge: "Sign in", staff's second factor, plans, account."""

import html
import re
from pathlib import Path

import pytest

from membership.extensions import db
from membership.models import Tier

ROOT = Path(__file__).resolve().parent.parent
TAG = re.compile(r"<[^>]+>")
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
OTHER_WORDS = re.compile(r"\blog ?in\b|\blogged in\b", re.I)


def visible_text(page: str) -> str:
    """The words a reader sees (tags, scripts and styles removed)."""
    text = html.unescape(TAG.sub(" ", SCRIPT_OR_STYLE.sub(" ", page)))
    return re.sub(r"\s+([,.;:])", r"\1", re.sub(r"\s+", " ", text))


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/articles/harbor-story",
        "/login",
        "/login/email-link",
        "/register",
        "/reset-password",
        "/membership",
        "/sponsor",
    ],
)
def test_a_visitor_reads_sign_in_and_never_log_in(client, make_article, url):
    make_article(slug="harbor-story", title="Harbor story")
    response = client.get(url)
    assert response.status_code == 200
    words = visible_text(response.get_data(as_text=True))
    assert "Sign in" in words
    assert not OTHER_WORDS.search(words), OTHER_WORDS.search(words)


def test_the_comment_gate_invites_a_visitor_to_sign_in(client, make_article):
    make_article(slug="harbor-story")
    page = client.get("/articles/harbor-story").get_data(as_text=True)
    assert '<p class="gate-message">Sign in to leave a comment.</p>' in page
    assert re.search(r'href="/login\?next=/articles/harbor-story">Sign in</a>', page)


@pytest.mark.parametrize("role", ["editor", "moderator", "admin"])
def test_staff_are_told_a_passkey_counts_as_their_second_factor(app, make_user, login, role):
    user = make_user(f"{role}@example.org", role=role)
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    words = visible_text(client.get("/account/two-factor").get_data(as_text=True))
    assert "editors, moderators and administrators" in words
    assert "passkey, which counts as the second factor" in words


def test_a_reader_is_not_told_about_staff_rules(signed_in):
    words = visible_text(signed_in.get("/account/two-factor").get_data(as_text=True))
    assert "administrators" not in words


def test_the_free_tier_says_free_once(client):
    db.session.add_all(
        [
            Tier(slug="free", name="Free", position=0),
            Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000),
        ]
    )
    db.session.commit()
    page = client.get("/membership").get_data(as_text=True)
    card = page[page.index('id="tier-free"') : page.index('id="tier-supporter"')]
    assert len(re.findall(r"\bFree\b", visible_text(card))) == 1
    assert re.search(r'<p class="price">\$0 <span class="muted">/ month</span></p>', card)


def test_a_long_email_on_the_account_page_is_cut_whole_not_mid_word(app, make_user, login):
    email = "a.very.long.name.for.a.mailbox@correspondents.example.org"
    make_user(email)
    client = app.test_client()
    assert login(client, email).status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert f'<span class="fact-email" title="{email}">{email}</span>' in page
    css = (ROOT / "static" / "site.css").read_text()
    rule = re.search(r"\.fact-email \{([^}]*)\}", css).group(1)
    assert "text-overflow: ellipsis" in rule and "white-space: nowrap" in rule
    facts = re.search(r"\.facts dd \{([^}]*)\}", css).group(1)
    assert "anywhere" not in facts


def test_the_readme_gallery_shows_every_screenshot_and_no_missing_one():
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"docs/screenshots/([\w-]+\.png)", readme))
    taken = {path.name for path in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert taken, "make screenshots has been run"
    assert listed == taken, (sorted(taken - listed), sorted(listed - taken))
