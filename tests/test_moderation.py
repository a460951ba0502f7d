"""/admin/comments: queues, single and bulk moderation, hold rules, stopping an author."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.models import Article, AuditEvent, Comment, CommentReport, User
from membership.models.types import utcnow
from membership.settings import set_setting


@pytest.fixture
def moderator(make_staff_client):
    """A signed-in moderator, past two-factor sign-in (staff roles require it)."""
    return make_staff_client("moderator", "mod@example.org")


@pytest.fixture
def reported(article, make_user):
    """Three comments, each reported by two readers."""
    author = make_user("loud@example.org", display_name="Loud")
    reporters = [make_user(f"r{n}@example.org") for n in range(2)]
    comments = []
    for number in range(3):
        comment = Comment(article_id=article.id, author_id=author.id, body=f"Rant {number}")
        db.session.add(comment)
        db.session.flush()
        for reporter in reporters:
            db.session.add(
                CommentReport(comment_id=comment.id, reporter_id=reporter.id, reason="abuse")
            )
        comment.open_report_count = 2
        comments.append(comment)
    article.comment_count = 3
    db.session.commit()
    return comments


def test_moderator_clears_reported_comments_in_bulk(moderator, reported, client):
    page = moderator.get("/admin/comments").get_data(as_text=True)
    assert all(f"Rant {n}" in page for n in range(3))
    response = moderator.submit(
        "/admin/comments/moderate",
        {"action": "hide", "ids": [str(c.id) for c in reported[:2]], "queue": "reported"},
        page="/admin/comments",
    )
    assert response.status_code == 302
    statuses = [db.session.get(Comment, c.id).status for c in reported]
    assert statuses == ["removed", "removed", "published"]
    assert db.session.scalar(select(Article.comment_count)) == 1
    reports = db.session.scalars(select(CommentReport.status)).all()
    assert sorted(reports) == ["open", "open", "upheld", "upheld", "upheld", "upheld"]
    public = client.get("/articles/harbor-story").get_data(as_text=True)
    assert "Rant 0" not in public and "Rant 2" in public
    assert "Rant 0" in moderator.get("/admin/comments?queue=hidden").get_data(as_text=True)
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("comment.hide") == 2


def test_approve_dismisses_reports_and_restores_a_held_comment(moderator, reported):
    held = reported[0]
    held.status = "pending"
    db.session.commit()
    moderator.submit(
        "/admin/comments/moderate",
        {"action": "approve", "ids": [str(held.id)], "queue": "held"},
        page="/admin/comments?queue=held",
    )
    comment = db.session.get(Comment, held.id)
    assert (comment.status, comment.open_report_count) == ("published", 0)
    assert set(
        db.session.scalars(select(CommentReport.status).where(CommentReport.comment_id == held.id))
    ) == {"dismissed"}


def test_delete_blanks_the_text(moderator, reported):
    moderator.submit(
        "/admin/comments/moderate",
        {"action": "delete", "ids": [str(reported[0].id)]},
        page="/admin/comments",
    )
    comment = db.session.get(Comment, reported[0].id)
    assert (comment.status, comment.body) == ("deleted", "")


@pytest.mark.parametrize(
    "form",
    [{"action": "publish", "ids": ["1"]}, {"action": "hide"}, {"action": "hide", "ids": ["x"]}],
)
def test_bad_moderation_requests_change_nothing(moderator, reported, form):
    response = moderator.submit("/admin/comments/moderate", form, page="/admin/comments")
    assert response.status_code == 302
    assert {c.status for c in db.session.scalars(select(Comment))} == {"published"}


def test_moderator_stops_an_author_from_commenting(app, moderator, reported, login):
    until = (utcnow() + timedelta(days=7)).strftime("%Y-%m-%d")
    moderator.submit(
        f"/admin/comments/{reported[0].id}/suspend-author",
        {"reason": "Repeated abuse", "until": until},
        page="/admin/comments",
    )
    author = db.session.scalar(select(User).where(User.email == "loud@example.org"))
    assert author.status == "suspended" and author.suspended_until is not None
    client = app.test_client()
    login(client, author.email)
    page = client.get("/articles/harbor-story").get_data(as_text=True)
    assert "Repeated abuse" in page and 'name="body"' not in page


def test_readers_cannot_moderate(app, make_user, login, reported):
    client = app.test_client()
    login(client, make_user("reader@example.org").email)
    assert client.get("/admin/comments").status_code == 403


# --- hold rules --------------------------------------------------------------------------------


@pytest.fixture
def writer(app, make_user, login):
    user = make_user("writer@example.org", created_at=utcnow() - timedelta(days=30))
    client = app.test_client()
    login(client, user.email)
    return client


def post(client, body):
    return client.submit(
        "/articles/harbor-story/comments", {"body": body}, page="/articles/harbor-story"
    )


@pytest.mark.parametrize(
    ("setting", "value", "body"),
    [
        ("hold_first_comments", 1, "My very first comment"),
        ("hold_links", True, "See https://example.org/offer"),
        ("hold_words", ["casino"], "Visit my CASINO"),
    ],
)
def test_hold_rules_send_comments_to_review(writer, article, client, setting, value, body):
    set_setting(setting, value)
    db.session.commit()
    assert post(writer, body).status_code == 302
    comment = db.session.scalar(select(Comment))
    assert comment.status == "pending"
    assert body not in client.get("/articles/harbor-story").get_data(as_text=True)
    assert db.session.get(Article, article.id).comment_count == 0


def test_comments_not_matching_the_rules_publish(writer, article):
    set_setting("hold_words", ["casino"])
    set_setting("hold_links", True)
    db.session.commit()
    post(writer, "A plain remark")
    assert db.session.scalar(select(Comment.status)) == "published"


@pytest.mark.parametrize("role", ["editor", "moderator"])
def test_a_moderator_cannot_suspend_a_member_of_staff(moderator, article, make_admin, role):
    """Staff accounts are an administrator's business: a moderator stops readers only."""
    colleague = make_admin(f"{role}@example.org", role=role)
    comment = Comment(article_id=article.id, author_id=colleague.id, body="Staff note")
    db.session.add(comment)
    db.session.commit()
    response = moderator.submit(
        f"/admin/comments/{comment.id}/suspend-author",
        {"reason": "Disagreement"},
        page="/admin/comments",
    )
    assert response.status_code == 302
    db.session.refresh(colleague)
    assert colleague.status == "active"
    assert colleague.role == role
