"""The hot write paths stay small: a comment POST and a webhook, counted in statements and
transactions (issue 11), with their rules still in force."""

import json
import re
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from membership.extensions import db
from membership.models import Comment, StripeEvent, User, UserSession
from membership.models.types import utcnow
from tests.conftest import stripe_settings

ARTICLE_URL = "/articles/harbor-story"


@contextmanager
def recorded():
    """Every statement sent to the database meanwhile, and the number of BEGINs and COMMITs."""
    seen = {"statements": [], "begins": 0, "commits": 0}

    def statement(conn, cursor, sql, parameters, context, executemany):
        seen["statements"].append(" ".join(sql.split()))

    def begin(conn):
        seen["begins"] += 1

    def commit(conn):
        seen["commits"] += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "begin", begin)
    event.listen(db.engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "begin", begin)
        event.remove(db.engine, "commit", commit)


@pytest.fixture
def reader_client(app, make_user, login):
    """A signed-in, established reader (the 5-second pace applies)."""
    user = make_user("rita@example.org", created_at=utcnow() - timedelta(days=30))
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def form_of(client) -> dict:
    html = client.get(ARTICLE_URL).get_data(as_text=True)
    return dict(re.findall(r'name="(csrf_token|submission_id)"[^>]*value="([^"]*)"', html))


def idle_sessions() -> None:
    """Make the session's activity stamp due, as after a few minutes away."""
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()


def test_a_comment_post_is_one_transaction_with_the_activity_stamp(reader_client, article):
    fields = form_of(reader_client)
    idle_sessions()
    with recorded() as seen:
        response = reader_client.post(f"{ARTICLE_URL}/comments", data={**fields, "body": "Hi."})
    assert response.status_code == 302
    assert seen["commits"] == 1, seen["statements"]
    writes = [s for s in seen["statements"] if s.split()[0] in ("INSERT", "UPDATE")]
    assert len(writes) == 4, writes  # pace stamp, comment, article counter, session activity
    # Reads: the session (with the site version: settings are kept per process and reloaded
    # when it changes, so another instance's settings change applies at once), the article, the
    # double-submit and duplicate check.
    assert len(seen["statements"]) <= 7, "\n".join(s[:150] for s in seen["statements"])
    assert not any("SAVEPOINT" in s for s in seen["statements"])
    stamp = db.session.scalar(select(UserSession.last_seen_at))
    assert utcnow() - stamp < timedelta(minutes=1), "the activity stamp was committed"
    comment = db.session.scalar(select(Comment))
    assert response.headers["Location"].endswith(f"{ARTICLE_URL}#c{comment.id}")
    user = db.session.scalar(select(User).where(User.email == "rita@example.org"))
    assert user.last_comment_at == comment.created_at


def test_a_post_on_a_long_discussion_counts_its_page_in_the_same_transaction(
    reader_client, article, make_user
):
    """The redirect's page is counted before the commit: no second transaction after it."""
    other = make_user("olga@example.org")
    start = utcnow() - timedelta(hours=2)
    db.session.add_all(
        Comment(
            article_id=article.id,
            author_id=other.id,
            body=f"Earlier remark {n}.",
            created_at=start + timedelta(minutes=n),
        )
        for n in range(60)
    )
    article.comment_count = 60
    db.session.commit()
    fields = form_of(reader_client)
    with recorded() as seen:
        response = reader_client.post(f"{ARTICLE_URL}/comments", data={**fields, "body": "Hi."})
    assert response.status_code == 302
    assert (seen["begins"], seen["commits"]) == (1, 1), seen["statements"]
    assert any(s.startswith("SELECT count(comments.id)") for s in seen["statements"])
    comment = db.session.scalar(select(Comment).where(Comment.body == "Hi."))
    # 60 earlier threads: the new one is the 61st, on the second page of 50.
    assert response.headers["Location"].endswith(f"{ARTICLE_URL}?cpage=2#c{comment.id}")


def test_resubmitted_form_returns_the_first_comment_and_keeps_the_pace_stamp(
    reader_client, article
):
    fields = {**form_of(reader_client), "body": "Once only."}
    first = reader_client.post(f"{ARTICLE_URL}/comments", data=fields)
    stamped = db.session.scalar(
        select(User.last_comment_at).where(User.last_comment_at.is_not(None))
    )
    # Ten seconds later (past the pace), the same form arrives again.
    earlier = stamped - timedelta(seconds=10)
    db.session.execute(update(User).values(last_comment_at=earlier))
    db.session.execute(update(Comment).values(created_at=earlier))
    db.session.commit()
    again = reader_client.post(f"{ARTICLE_URL}/comments", data=fields)
    assert again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count(Comment.id))) == 1
    assert (
        db.session.scalar(
            select(User.last_comment_at).where(
                User.id == db.session.scalar(select(Comment.author_id))
            )
        )
        == earlier
    ), "a resubmission is not a new post"


def test_a_refused_post_leaves_no_pace_stamp(reader_client, article):
    fields = form_of(reader_client)
    assert (
        reader_client.post(f"{ARTICLE_URL}/comments", data={**fields, "body": ""}).status_code
        == 422
    )
    assert (
        db.session.scalar(select(User.last_comment_at).where(User.email == "rita@example.org"))
        is None
    )


def test_pace_and_duplicate_window_answer_with_their_messages(reader_client, article):
    fields = form_of(reader_client)
    url = f"{ARTICLE_URL}/comments"
    assert reader_client.post(url, data={**fields, "body": "Same words."}).status_code == 302
    fast = reader_client.post(url, data={**form_of(reader_client), "body": "Other words."})
    assert fast.status_code == 429
    assert "commenting too fast" in fast.get_data(as_text=True)
    past = utcnow() - timedelta(seconds=30)
    db.session.execute(update(User).values(last_comment_at=past))
    db.session.commit()
    again = reader_client.post(url, data={**form_of(reader_client), "body": "Same words."})
    assert again.status_code == 422
    assert "same comment a moment ago" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Comment.id))) == 1


# --- webhooks ------------------------------------------------------------------------------


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


def signed_event(stub, kind: str = "balance.available", event_id: str | None = None):
    payload = json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "data": {"object": {"object": "balance"}},
        }
    ).encode()
    return payload, {"Stripe-Signature": stub.sign(payload), "Content-Type": "application/json"}


def test_an_event_is_recorded_once_without_a_savepoint(app, stripe_stub):
    client = app.test_client()
    payload, headers = signed_event(stripe_stub, event_id="evt_once")
    with recorded() as seen:
        first = client.post("/stripe/webhook", data=payload, headers=headers)
    assert (first.status_code, first.get_json()) == (200, {"status": "ok"})
    assert not any("SAVEPOINT" in s for s in seen["statements"]), seen["statements"]
    assert [s.split()[0] for s in seen["statements"]] == ["INSERT"]
    assert seen["commits"] == 1
    second = client.post("/stripe/webhook", data=payload, headers=headers)
    assert (second.status_code, second.get_json()) == (200, {"status": "duplicate"})
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 1
    assert db.session.scalar(select(StripeEvent.type)) == "balance.available"
