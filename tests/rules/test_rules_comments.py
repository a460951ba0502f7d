"""Comment rules a reader or a moderator would notice, through the pages (issue 15)."""

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from membership.extensions import db
from membership.models import Comment, CommentLike, CommentReport, User
from membership.models.types import utcnow
from membership.settings import set_setting
from tests.rules.pages import alerts
from tests.test_comments import ARTICLE_URL, post

REFUSED = "Only confirmed accounts in good standing can do that."


@pytest.fixture
def reader(make_user):
    """An established confirmed reader (older than a day, so the 5-second interval applies)."""
    return make_user(
        "rita@example.org", display_name="Rita", created_at=utcnow() - timedelta(days=30)
    )


@pytest.fixture
def other(make_user):
    return make_user(
        "omar@example.org", display_name="Omar", created_at=utcnow() - timedelta(days=30)
    )


def signed_in_as(app, login, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def comment_by(user, article, body="A remark.", status="published") -> Comment:
    comment = Comment(article_id=article.id, author_id=user.id, body=body, status=status)
    db.session.add(comment)
    if status == "published":
        article.comment_count += 1
    db.session.commit()
    return comment


def shown_count(client) -> str:
    """The count beside the "Comments" heading of the story."""
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    start = page.index('id="comments-title"')
    return page[start : page.index("</h2>", start)].split("(")[1].split(")")[0]


def suspended(app, login, user):
    """The reader is suspended by a moderator, then signs in again (which they may)."""
    from membership.auth.standing import suspend

    suspend(db.session.get(User, user.id), reason="Flooding")
    db.session.commit()
    return signed_in_as(app, login, user)


# --- replies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "removed", "deleted"])
def test_a_comment_not_shown_cannot_be_replied_to(app, login, article, reader, other, status):
    hidden = comment_by(other, article, "Not shown.", status=status)
    client = signed_in_as(app, login, reader)
    response = post(client, "My reply", reply_to=str(hidden.id))
    assert response.status_code == 422
    assert alerts(response) == ["That comment cannot be replied to."]
    assert db.session.scalar(select(func.count(Comment.id))) == 1


def test_a_reply_to_a_comment_on_another_story_is_refused(
    app, login, article, make_article, reader, other
):
    elsewhere = comment_by(other, make_article(slug="elsewhere"), "Elsewhere.")
    client = signed_in_as(app, login, reader)
    response = post(client, "My reply", reply_to=str(elsewhere.id))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Comment.id))) == 1


@pytest.mark.parametrize("status", ["pending", "removed"])
def test_the_reply_form_of_a_comment_not_shown_says_why_there_is_none(
    app, login, article, reader, other, status
):
    hidden = comment_by(other, article, "Not shown.", status=status)
    client = signed_in_as(app, login, reader)
    response = client.get(f"/comments/{hidden.id}/reply", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert alerts(response) == ["That comment cannot be replied to."]


# --- readers not in good standing ---------------------------------------------------------------


def test_a_suspended_reader_cannot_edit_their_comment(app, login, article, reader):
    client = signed_in_as(app, login, reader)
    assert post(client, "Before.").status_code == 302
    comment = db.session.scalar(select(Comment))
    client = suspended(app, login, reader)
    response = client.submit(f"/comments/{comment.id}/edit", {"body": "After."})
    assert response.status_code == 403
    assert alerts(response) == [REFUSED]
    assert db.session.get(Comment, comment.id).body == "Before."


def test_a_suspended_reader_cannot_like(app, login, article, reader, other):
    comment = comment_by(other, article)
    client = suspended(app, login, reader)
    response = client.submit(f"/comments/{comment.id}/like", page=ARTICLE_URL)
    assert response.status_code == 403
    assert alerts(response) == [REFUSED]
    assert db.session.scalar(select(func.count(CommentLike.comment_id))) == 0
    assert db.session.get(Comment, comment.id).like_count == 0


def test_a_suspended_reader_cannot_report(app, login, article, reader, other):
    comment = comment_by(other, article)
    client = suspended(app, login, reader)
    response = client.submit(f"/comments/{comment.id}/report", {"reason": "abuse"})
    assert response.status_code == 403
    assert alerts(response) == [REFUSED]
    assert db.session.scalar(select(func.count(CommentReport.id))) == 0


def test_an_unconfirmed_reader_cannot_like_or_report(app, login, article, make_user, other):
    comment = comment_by(other, article)
    client = signed_in_as(app, login, make_user("new@example.org", confirmed=False))
    assert client.submit(f"/comments/{comment.id}/like", page=ARTICLE_URL).status_code == 403
    assert client.submit(f"/comments/{comment.id}/report", {"reason": "spam"}).status_code == 403
    assert db.session.get(Comment, comment.id).like_count == 0


# --- moderation ---------------------------------------------------------------------------------


def test_approving_a_held_comment_restores_the_comment_count(
    app, login, article, reader, make_staff_client
):
    set_setting("hold_links", True)
    db.session.commit()
    client = signed_in_as(app, login, reader)
    assert post(client, "Read https://example.org/report").status_code == 302
    held = db.session.scalar(select(Comment))
    assert held.status == "pending"
    assert shown_count(app.test_client()) == "0"

    moderator = make_staff_client("moderator")  # staff sign in with a second factor
    response = moderator.submit(
        "/admin/comments/moderate",
        {"action": "approve", "ids": [str(held.id)], "queue": "held"},
        page="/admin/comments?queue=held",
    )
    assert response.status_code == 302
    assert shown_count(app.test_client()) == "1"
    # Approving again (a second moderator's click) counts it once.
    moderator.submit(
        "/admin/comments/moderate",
        {"action": "approve", "ids": [str(held.id)], "queue": "held"},
        page="/admin/comments?queue=held",
    )
    assert shown_count(app.test_client()) == "1"


# --- likes and reports on comments in every state -----------------------------------------------


@pytest.mark.parametrize("status", ["pending", "removed", "deleted"])
def test_a_comment_not_shown_cannot_be_liked(app, login, article, reader, other, status):
    comment = comment_by(other, article, status=status)
    client = signed_in_as(app, login, reader)
    response = client.submit(f"/comments/{comment.id}/like", page=ARTICLE_URL)
    assert response.status_code == 422
    assert alerts(response) == ["This comment cannot be liked."]
    assert db.session.get(Comment, comment.id).like_count == 0


@pytest.mark.parametrize("status", ["removed", "deleted"])
def test_a_comment_no_longer_shown_cannot_be_reported(app, login, article, reader, other, status):
    comment = comment_by(other, article, status=status)
    client = signed_in_as(app, login, reader)
    response = client.submit(f"/comments/{comment.id}/report", {"reason": "spam"})
    assert response.status_code == 422
    assert alerts(response) == ["This comment is no longer shown."]
    assert db.session.scalar(select(func.count(CommentReport.id))) == 0


def test_a_held_comment_can_still_be_reported(app, login, article, reader, other):
    comment = comment_by(other, article, status="pending")
    client = signed_in_as(app, login, reader)
    response = client.submit(f"/comments/{comment.id}/report", {"reason": "spam"})
    assert response.status_code == 302
    assert db.session.get(Comment, comment.id).open_report_count == 1
    assert db.session.get(Comment, comment.id).status == "pending"


def test_reporting_your_own_comment_says_why(app, login, article, reader):
    comment = comment_by(reader, article)
    client = signed_in_as(app, login, reader)
    response = client.submit(f"/comments/{comment.id}/report", {"reason": "spam"})
    assert response.status_code == 403
    assert alerts(response) == ["You cannot report your own comment."]


def test_each_reader_reports_once_and_the_threshold_counts_readers(
    app, login, article, reader, make_user
):
    comment = comment_by(reader, article, "Contentious")
    clients = [signed_in_as(app, login, make_user(f"r{n}@example.org")) for n in range(3)]
    first = clients[0].submit(f"/comments/{comment.id}/report", {"reason": "abuse"})
    assert "A moderator will look at this comment." in clients[0].get(
        first.headers["Location"]
    ).get_data(as_text=True)
    again = clients[0].submit(f"/comments/{comment.id}/report", {"reason": "spam"})
    assert "You have already reported this comment." in clients[0].get(
        again.headers["Location"]
    ).get_data(as_text=True)
    clients[1].submit(f"/comments/{comment.id}/report", {"reason": "abuse"})
    shown = db.session.get(Comment, comment.id)
    assert (shown.open_report_count, shown.status) == (2, "published"), "threshold is 3"
    assert shown_count(app.test_client()) == "1"
    clients[2].submit(f"/comments/{comment.id}/report", {"reason": "abuse"})
    assert db.session.get(Comment, comment.id).status == "pending"
    assert shown_count(app.test_client()) == "0"


# --- reply notifications --------------------------------------------------------------------------


def test_a_reply_email_greets_the_author_and_links_to_the_reply(
    app, login, article, reader, other, mailbox
):
    top = comment_by(reader, article, "Original thought")
    post(signed_in_as(app, login, other), "A reply.", reply_to=str(top.id))
    reply = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
    text = mailbox.text_of(mailbox.last(reader.email))
    assert text.startswith("Hello Rita,") or "\nHello Rita," in text
    assert 'Omar replied to your comment on "Harbor story"' in text
    assert f"http://portal.test/articles/harbor-story#c{reply.id}" in text


@pytest.mark.parametrize("author", ["banned", "unconfirmed", "opted out"])
def test_no_reply_email_to_an_author_who_should_not_get_one(
    app, login, article, reader, other, mailbox, author
):
    top = comment_by(reader, article, "Original thought")
    user = db.session.get(User, reader.id)
    if author == "banned":
        user.status = "banned"
    elif author == "unconfirmed":
        user.email_confirmed_at = None
    else:
        user.notify_replies = False
    db.session.commit()
    assert (
        post(signed_in_as(app, login, other), "A reply.", reply_to=str(top.id)).status_code == 302
    )
    assert mailbox.to(reader.email) == []


def test_an_unsubscribe_link_from_a_months_old_email_still_works(app, reader, monkeypatch):
    import time

    from itsdangerous import TimestampSigner

    from membership.auth import tokens
    from membership.comments.services import UNSUBSCRIBE_REPLIES

    with monkeypatch.context() as past:
        # The link of a reply email sent three months ago.
        past.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 90 * 86400)
        token = tokens.make_token(UNSUBSCRIBE_REPLIES, {"uid": reader.id})
    anonymous = app.test_client()
    assert anonymous.get(f"/unsubscribe/replies/{token}").status_code == 200
    assert anonymous.submit(f"/unsubscribe/replies/{token}").status_code == 200
    assert not db.session.get(User, reader.id).notify_replies


@pytest.mark.parametrize(("days", "works"), [(3649.5, True), (3650.5, False)])
def test_an_unsubscribe_link_works_for_ten_years(app, reader, monkeypatch, days, works):
    import time

    from itsdangerous import TimestampSigner

    from membership.auth import tokens
    from membership.comments.services import UNSUBSCRIBE_REPLIES

    with monkeypatch.context() as past:
        sent = int(time.time() - days * 86400)
        past.setattr(TimestampSigner, "get_timestamp", lambda self: sent)
        token = tokens.make_token(UNSUBSCRIBE_REPLIES, {"uid": reader.id})
    response = app.test_client().get(f"/unsubscribe/replies/{token}")
    assert response.status_code == (200 if works else 404)


def test_a_comment_of_a_deleted_account_can_still_be_replied_to(app, login, article, reader):
    orphan = Comment(article_id=article.id, author_id=None, body="From a closed account.")
    db.session.add(orphan)
    article.comment_count += 1
    db.session.commit()
    client = signed_in_as(app, login, reader)
    assert post(client, "A reply all the same.", reply_to=str(orphan.id)).status_code == 302
    assert db.session.scalar(select(func.count(Comment.id))) == 2


# --- the comment gate, as the discussion and a refused post state it ------------------------------


def gate_message(page: str) -> str:
    """The sentence under the discussion that says why there is no comment box."""
    [message] = re.findall(r'<p class="gate-message">(.*?)</p>', page, re.S)
    return html.unescape(message)


def test_an_unconfirmed_readers_post_is_refused_with_the_reason(app, login, article, make_user):
    client = signed_in_as(app, login, make_user("new@example.org", confirmed=False))
    response = post(client, "Hello, everyone.")
    assert response.status_code == 403
    assert alerts(response) == ["Please confirm your email address to comment."]
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_a_free_reader_on_a_story_for_paying_members_is_shown_the_plans(
    app, login, article, reader
):
    set_setting("comment_policy", "paying")
    db.session.commit()
    page = signed_in_as(app, login, reader).get(ARTICLE_URL).get_data(as_text=True)
    assert gate_message(page) == "Comments on this story are open to paying members."
    gate = page[page.index('<div class="comment-gate"') :]
    gate = gate[: gate.index("</div>")]
    assert '<a class="button" href="/membership">See membership plans</a>' in gate


@pytest.mark.parametrize(("level", "paying"), [("members", False), ("paid", True)])
def test_a_reader_who_may_read_the_story_may_comment_on_it(
    app, login, article, make_user, level, paying
):
    article.access_level = level
    db.session.commit()
    user = make_user("ann@example.org", paying=paying, created_at=utcnow() - timedelta(days=30))
    response = post(signed_in_as(app, login, user), "Read it all, and I agree.")
    assert response.status_code == 302
    assert db.session.scalar(select(Comment.body)) == "Read it all, and I agree."


@pytest.mark.parametrize(
    ("reason", "notice"),
    [("Flooding", "Your account is suspended: Flooding."), (None, "Your account is suspended.")],
)
def test_a_suspension_until_further_notice_says_only_what_is_known(
    app, login, article, reader, reason, notice
):
    """A moderator gives a reason; a members import may suspend without one or an end date."""
    user = db.session.get(User, reader.id)
    user.status, user.status_reason, user.suspended_until = "suspended", reason, None
    db.session.commit()
    page = signed_in_as(app, login, reader).get(ARTICLE_URL).get_data(as_text=True)
    assert gate_message(page) == notice


def test_comments_close_a_day_after_publication_when_the_site_says_one_day(
    app, login, make_article, reader
):
    set_setting("comments_auto_close_days", 1)
    make_article(slug="harbor-story", published_at=utcnow() - timedelta(days=1, minutes=1))
    page = signed_in_as(app, login, reader).get(ARTICLE_URL).get_data(as_text=True)
    assert gate_message(page) == "Comments closed automatically on this story."
    assert 'name="body"' not in page


# --- with the shared caches on, as in production ------------------------------------------------


@pytest.fixture
def cached_app(make_app, shared_cache_config):
    """The same site on the same database, with the shared page and discussion caches on."""
    return make_app(**shared_cache_config)


def post_in_place(client, body: str, **extra):
    """Submit the comment form as the page's script does: the answer is the new discussion."""
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|submission_id)"[^>]*value="([^"]*)"', page))
    return client.post(
        "/articles/harbor-story/comments",
        data={**fields, "body": body, **extra},
        headers={"HX-Request": "true"},
    )


def test_a_comment_posted_in_place_is_in_the_discussion_it_gets_back(
    cached_app, login, article, reader
):
    client = signed_in_as(cached_app, login, reader)
    assert "Fresh words." not in client.get(ARTICLE_URL).get_data(as_text=True)  # now cached
    response = post_in_place(client, "Fresh words.")
    assert response.status_code == 200
    assert "Fresh words." in response.get_data(as_text=True)


def test_every_change_to_a_discussion_shows_to_visitors_of_a_cached_story(
    cached_app, login, article, reader, other
):
    visitor = cached_app.test_client()
    assert "A remark worth liking." not in visitor.get(ARTICLE_URL).get_data(as_text=True)
    author = signed_in_as(cached_app, login, reader)
    assert post(author, "A remark worth liking.").status_code == 302
    assert "A remark worth liking." in visitor.get(ARTICLE_URL).get_data(as_text=True)
    comment = db.session.scalar(select(Comment))
    liker = signed_in_as(cached_app, login, other)
    assert liker.submit(f"/comments/{comment.id}/like", page=ARTICLE_URL).status_code == 302
    page = visitor.get(ARTICLE_URL).get_data(as_text=True)
    assert "A remark worth liking." in page and "1 like<" in page
