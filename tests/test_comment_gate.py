"""The gate matrix: who is offered the comment form and whose POST is accepted, per policy."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from membership.auth.standing import ban, suspend
from membership.extensions import db
from membership.models import Comment
from membership.models.types import utcnow
from membership.settings import set_setting

READERS = ["anonymous", "unconfirmed", "suspended", "banned", "free", "paying"]
# (site-wide policy, per-article override, auto-close days, how old the article is in days)
POLICIES = {
    "everyone": ("everyone", None, 0, 1),
    "paying-only": ("paying", None, 0, 1),
    "closed": ("closed", None, 0, 1),
    "auto-closed": ("everyone", None, 7, 8),
    "article-paying-override": ("everyone", "paying", 0, 1),
    "article-closed-override": ("everyone", "closed", 0, 1),
    "article-opens-a-closed-site": ("closed", "everyone", 0, 1),
    "auto-close-not-yet": ("everyone", None, 7, 6),
}
ALLOWED = {
    "everyone": {"free", "paying"},
    "paying-only": {"paying"},
    "closed": set(),
    "auto-closed": set(),
    "article-paying-override": {"paying"},
    "article-closed-override": set(),
    "article-opens-a-closed-site": {"free", "paying"},
    "auto-close-not-yet": {"free", "paying"},
}
# The whole sentence under the discussion, matched exactly (a banned reader's sessions end).
EXPECTED_TEXT = {
    "anonymous": re.escape("Sign in to leave a comment."),
    "unconfirmed": re.escape(
        "Please confirm your email address to comment. We sent a link to unconfirmed@example.org."
    ),
    "suspended": r"Your account is suspended until \d\d [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC: "
    r"Heated language\.",
    "banned": re.escape("Sign in to leave a comment."),
}


def gate_message(html: str) -> str:
    """The sentence that says why there is no comment box."""
    found = re.findall(r'<p class="gate-message">(.*?)</p>', html, re.S)
    assert len(found) == 1, html
    return found[0]


@pytest.fixture
def reader_client(app, make_user, login):
    """A client for each kind of reader, signed in where that is possible."""

    def factory(kind: str):
        client = app.test_client()
        if kind == "anonymous":
            return client
        fields = {"created_at": utcnow() - timedelta(days=30)}
        if kind == "unconfirmed":
            fields["confirmed"] = False
        if kind == "paying":
            fields["paying"] = True
        user = make_user(f"{kind}@example.org", display_name=kind.title(), **fields)
        assert login(client, user.email).status_code == 302
        if kind == "suspended":
            suspend(user, reason="Heated language", until=utcnow() + timedelta(days=2))
        if kind == "banned":
            ban(user, reason="Spam")
        db.session.commit()
        if kind == "suspended":  # suspension ends sessions; the reader signs in again
            assert login(client, user.email).status_code == 302
        return client

    return factory


@pytest.mark.parametrize("policy", list(POLICIES))
@pytest.mark.parametrize("kind", READERS)
def test_gate_matrix(make_article, reader_client, policy, kind):
    site, override, close_days, age_days = POLICIES[policy]
    set_setting("comment_policy", site)
    set_setting("comments_auto_close_days", close_days)
    article = make_article(
        slug="gated", comment_policy=override, published_at=utcnow() - timedelta(days=age_days)
    )
    client = reader_client(kind)
    allowed = kind in ALLOWED[policy]

    page = client.get("/articles/gated")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    offers_form = 'name="body"' in html
    assert offers_form == allowed

    if not allowed:
        if policy in ("closed", "article-closed-override"):
            assert gate_message(html) == "Comments are closed on this story."
        elif policy == "auto-closed":
            assert gate_message(html) == "Comments closed automatically on this story."
        elif kind in EXPECTED_TEXT:
            assert re.fullmatch(EXPECTED_TEXT[kind], gate_message(html))
        else:
            assert gate_message(html) == "Comments on this story are open to paying members."
    else:
        assert 'class="gate-message"' not in html

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)
    )
    response = client.post(
        f"/articles/{article.slug}/comments",
        data={"csrf_token": token.group(1), "body": f"From {kind} under {policy}"},
    )
    stored = db.session.scalars(select(Comment)).all()
    if allowed:
        assert response.status_code == 302
        assert len(stored) == 1
    else:
        assert response.status_code == 403
        assert stored == []


def test_suspended_reader_sees_why_and_until_when(make_article, reader_client):
    make_article(slug="gated")
    html = reader_client("suspended").get("/articles/gated").get_data(as_text=True)
    assert "Heated language" in html
    assert "suspended until" in html


def test_unconfirmed_reader_gets_a_resend_button(make_article, reader_client, mailbox):
    make_article(slug="gated")
    client = reader_client("unconfirmed")
    html = client.get("/articles/gated").get_data(as_text=True)
    assert "Resend the confirmation link" in html
    response = client.submit("/confirm/resend?next=/articles/gated", {}, page="/articles/gated")
    assert response.status_code == 302
    assert response.headers["Location"] == "/articles/gated"
    assert mailbox.last("unconfirmed@example.org")["Subject"] == "Confirm your email address"


def test_expired_suspension_lets_the_reader_comment_again(make_article, make_user, app, login):
    make_article(slug="gated")
    user = make_user(
        "back@example.org",
        status="suspended",
        suspended_until=utcnow() - timedelta(minutes=1),
        created_at=utcnow() - timedelta(days=30),
    )
    client = app.test_client()
    login(client, user.email)
    assert 'name="body"' in client.get("/articles/gated").get_data(as_text=True)


def test_comments_visible_to_everyone_even_when_closed(make_article, app, make_user):
    article = make_article(slug="gated", comment_policy="closed")
    author = make_user("author@example.org")
    db.session.add(Comment(article_id=article.id, author_id=author.id, body="Before closing"))
    db.session.commit()
    assert "Before closing" in app.test_client().get("/articles/gated").get_data(as_text=True)
