"""Comments: posting, replies, editing, deletion, likes, reports and reply emails."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from membership.extensions import db
from membership.models import Article, Comment, CommentLike, CommentReport, User
from membership.models.types import utcnow
from tests.conftest import add_threads

ARTICLE_URL = "/articles/harbor-story"
POST_URL = "/articles/harbor-story/comments"


def post(client, body: str, **extra):
    """Submit the comment form from the article page, as a browser does."""
    page = client.get(
        ARTICLE_URL + (f"?reply_to={extra['reply_to']}" if "reply_to" in extra else "")
    )
    html = page.get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|submission_id)"[^>]*value="([^"]*)"', html))
    fields.update({"body": body, **extra})
    return client.post(POST_URL, data=fields)


def comments() -> list[Comment]:
    return list(db.session.scalars(select(Comment).order_by(Comment.id)))


def age(comment: Comment, **delta) -> None:
    """Pretend the comment (and its author's last post) is older."""
    earlier = utcnow() - timedelta(**delta)
    db.session.execute(update(Comment).where(Comment.id == comment.id).values(created_at=earlier))
    db.session.execute(update(User).values(last_comment_at=earlier))
    db.session.commit()


@pytest.fixture
def reader(make_user):
    """An established confirmed reader (older than a day, so the 5-second interval applies)."""
    return make_user(
        "reader@example.org", display_name="Rita", created_at=utcnow() - timedelta(days=30)
    )


@pytest.fixture
def other(make_user):
    return make_user(
        "other@example.org", display_name="Omar", created_at=utcnow() - timedelta(days=30)
    )


@pytest.fixture
def reader_client(app, reader, login):
    client = app.test_client()
    assert login(client, reader.email).status_code == 302
    return client


@pytest.fixture
def other_client(app, other, login):
    client = app.test_client()
    assert login(client, other.email).status_code == 302
    return client


def test_anonymous_reader_sees_comments_and_an_invitation(client, article, reader_client):
    post(reader_client, "First!")
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "First!" in page
    assert "Sign in to leave a comment." in page
    assert f'href="/login?next={ARTICLE_URL}"' in page
    assert f'href="/register?next={ARTICLE_URL}"' in page
    assert 'name="body"' not in page


def test_post_a_comment(reader_client, article):
    response = post(reader_client, "A thoughtful remark.\n\nSecond paragraph.")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(ARTICLE_URL + "#c")
    [comment] = comments()
    assert comment.body == "A thoughtful remark.\n\nSecond paragraph."
    page = reader_client.get(ARTICLE_URL).get_data(as_text=True)
    assert "<p>A thoughtful remark.</p><p>Second paragraph.</p>" in page
    assert db.session.get(Article, article.id).comment_count == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "Write something before posting."), ("   \n ", "Write something before posting.")],
)
def test_empty_comment_is_refused(reader_client, article, body, message):
    response = post(reader_client, body)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert comments() == []


def test_length_limits(reader_client, article):
    assert post(reader_client, "x" * 5001).status_code == 422
    assert comments() == []
    assert post(reader_client, "y" * 5000).status_code == 302
    assert post(reader_client, "z").status_code in (302, 429)


def test_text_is_stored_as_written(reader_client, article):
    body = "  <b>bold?</b> & ünïcode\tand tabs  "
    post(reader_client, body)
    assert comments()[0].body == body


# --- replies --------------------------------------------------------------------------------


def test_reply_joins_the_thread_and_deeper_replies_mention_whom(
    reader_client, other_client, article
):
    post(reader_client, "Top-level")
    [top] = comments()
    age(top, seconds=10)
    post(other_client, "A reply", reply_to=str(top.id))
    reply = comments()[1]
    assert (reply.thread_id, reply.reply_to_id) == (top.id, top.id)
    age(reply, seconds=10)
    post(reader_client, "Reply to the reply", reply_to=str(reply.id))
    deeper = comments()[2]
    assert deeper.thread_id == top.id, "one level only: deeper replies attach to the thread"
    assert deeper.reply_to_id == reply.id
    page = reader_client.get(ARTICLE_URL).get_data(as_text=True)
    assert "In reply to Omar" in page
    assert db.session.get(Comment, top.id).reply_count == 2


def test_reply_to_a_comment_of_another_article_is_refused(reader_client, article, make_article):
    elsewhere = make_article(slug="elsewhere")
    foreign = Comment(article_id=elsewhere.id, body="Elsewhere")
    db.session.add(foreign)
    db.session.commit()
    response = post(reader_client, "Sneaky", reply_to=str(foreign.id))
    assert response.status_code == 422
    assert len(comments()) == 1


def test_reply_email_with_unsubscribe_link(reader_client, other_client, article, mailbox, reader):
    post(reader_client, "Original thought")
    [top] = comments()
    post(other_client, "I disagree, politely.", reply_to=str(top.id))
    message = mailbox.last(reader.email)
    assert message["Subject"] == "Omar replied to your comment"
    text = mailbox.text_of(message)
    assert "I disagree, politely." in text
    unsubscribe = mailbox.link(reader.email, "/unsubscribe/replies/")
    assert str(message["List-Unsubscribe"]).strip() == f"<{unsubscribe}>"

    path = unsubscribe.removeprefix("http://portal.test")
    anonymous = reader_client.application.test_client()
    assert anonymous.get(path).status_code == 200
    assert db.session.get(User, reader.id).notify_replies, "GET changes nothing"
    assert anonymous.submit(path).status_code == 200
    assert not db.session.get(User, reader.id).notify_replies

    age(comments()[1], seconds=10)
    mailbox.clear()
    post(other_client, "Another reply", reply_to=str(top.id))
    assert mailbox.to(reader.email) == []


def test_no_email_for_replying_to_yourself(reader_client, article, mailbox, reader):
    post(reader_client, "Original")
    [top] = comments()
    age(top, seconds=10)
    post(reader_client, "Adding to my own point", reply_to=str(top.id))
    assert mailbox.to(reader.email) == []


def test_reply_notifications_setting_on_the_account_page(reader_client, reader):
    page = reader_client.get("/account").get_data(as_text=True)
    assert "Email me when someone replies to my comments" in page
    response = reader_client.submit("/account/notifications", {}, page="/account")
    assert response.status_code == 302
    assert not db.session.get(User, reader.id).notify_replies
    reader_client.submit("/account/notifications", {"notify_replies": "y"}, page="/account")
    assert db.session.get(User, reader.id).notify_replies


def test_broken_unsubscribe_link_is_404(client):
    assert client.get("/unsubscribe/replies/not-a-token").status_code == 404


# --- editing and deleting -------------------------------------------------------------------


def test_edit_within_fifteen_minutes_marks_edited(reader_client, article):
    post(reader_client, "Typo here")
    [comment] = comments()
    assert reader_client.get(f"/comments/{comment.id}/edit").status_code == 200
    response = reader_client.submit(f"/comments/{comment.id}/edit", {"body": "No typo here"})
    assert response.status_code == 302
    db.session.refresh(comment)
    assert comment.body == "No typo here" and comment.edited_at is not None
    assert "(edited)" in reader_client.get(ARTICLE_URL).get_data(as_text=True)


def test_edit_after_fifteen_minutes_is_refused(reader_client, article):
    post(reader_client, "Old words")
    [comment] = comments()
    age(comment, minutes=16)
    response = reader_client.submit(
        f"/comments/{comment.id}/edit", {"body": "New words"}, page=ARTICLE_URL
    )
    assert response.status_code == 403
    assert "15 minutes" in response.get_data(as_text=True)
    db.session.refresh(comment)
    assert comment.body == "Old words"


def test_delete_leaves_a_placeholder_only_where_there_are_replies(
    reader_client, other_client, article
):
    post(reader_client, "Will be replied to")
    post(other_client, "Lonely comment")
    top, lonely = comments()
    age(top, seconds=10)
    post(other_client, "A reply", reply_to=str(top.id))
    assert reader_client.get(f"/comments/{top.id}/delete").status_code == 200
    assert reader_client.submit(f"/comments/{top.id}/delete").status_code == 302
    other_client.submit(f"/comments/{lonely.id}/delete")
    page = reader_client.get(ARTICLE_URL).get_data(as_text=True)
    assert "This comment was deleted by its author." in page
    assert page.count("This comment was deleted by its author.") == 1
    assert "Will be replied to" not in page and "Lonely comment" not in page
    assert "A reply" in page
    assert db.session.get(Article, article.id).comment_count == 1


# --- ownership matrix (SECURITY 20) ---------------------------------------------------------


@pytest.mark.parametrize("action", ["edit", "delete"])
def test_cannot_edit_or_delete_another_readers_comment(
    reader_client, other_client, article, action
):
    post(reader_client, "Mine")
    [comment] = comments()
    data = {"body": "Defaced"} if action == "edit" else {}
    response = other_client.submit(f"/comments/{comment.id}/{action}", data, page=ARTICLE_URL)
    assert response.status_code == 403
    db.session.refresh(comment)
    assert (comment.body, comment.status) == ("Mine", "published")
    assert other_client.get(f"/comments/{comment.id}/{action}").status_code == 403


@pytest.mark.parametrize("action", ["edit", "delete", "like", "report"])
def test_anonymous_cannot_act_on_comments(client, reader_client, article, action):
    post(reader_client, "Mine")
    [comment] = comments()
    response = client.submit(f"/comments/{comment.id}/{action}", {"body": "x"}, page="/login")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    db.session.refresh(comment)
    assert comment.body == "Mine" and comment.like_count == 0


def test_like_toggles_once_per_reader(reader_client, other_client, article):
    post(reader_client, "Likeable")
    [comment] = comments()
    url = f"/comments/{comment.id}/like"
    assert other_client.submit(url, page=ARTICLE_URL).status_code == 302
    assert db.session.get(Comment, comment.id).like_count == 1
    pressed = f'id="like-{comment.id}" aria-pressed="true">Like</button>'
    assert pressed in other_client.get(ARTICLE_URL).get_data(as_text=True)
    other_client.submit(url, page=ARTICLE_URL)
    assert db.session.get(Comment, comment.id).like_count == 0
    assert pressed not in other_client.get(ARTICLE_URL).get_data(as_text=True)
    assert db.session.scalars(select(CommentLike)).all() == []


def test_like_own_comment_is_refused(reader_client, article):
    post(reader_client, "Self-love")
    [comment] = comments()
    response = reader_client.submit(f"/comments/{comment.id}/like", page=ARTICLE_URL)
    assert response.status_code == 403
    assert db.session.get(Comment, comment.id).like_count == 0


def test_like_without_csrf_is_refused(reader_client, other_client, article):
    post(reader_client, "Likeable")
    [comment] = comments()
    assert other_client.post(f"/comments/{comment.id}/like").status_code == 400


def test_sort_by_most_liked_and_newest(reader_client, other_client, make_user, login, article):
    post(reader_client, "First and unloved")
    age(comments()[0], minutes=2)
    post(reader_client, "Second and loved")
    loved = comments()[1]
    other_client.submit(f"/comments/{loved.id}/like", page=ARTICLE_URL)
    liked = reader_client.get(ARTICLE_URL + "?sort=liked").get_data(as_text=True)
    assert liked.index("Second and loved") < liked.index("First and unloved")
    newest = reader_client.get(ARTICLE_URL + "?sort=newest").get_data(as_text=True)
    assert newest.index("Second and loved") < newest.index("First and unloved")
    oldest = reader_client.get(ARTICLE_URL).get_data(as_text=True)
    assert oldest.index("First and unloved") < oldest.index("Second and loved")


def test_fifty_threads_a_page_with_show_more(client, article, other):
    add_threads(article, other.id, 120)
    first = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Comment number 049" in first and "Comment number 050" not in first
    assert "Show more comments" in first
    third = client.get(ARTICLE_URL + "?cpage=3").get_data(as_text=True)
    assert "Comment number 119" in third and "Show more comments" not in third
    assert client.get(ARTICLE_URL + "?cpage=99&sort=bogus").status_code == 200


# --- reports --------------------------------------------------------------------------------


def test_report_once_and_hide_after_the_threshold(app, reader_client, article, make_user, login):
    post(reader_client, "Contentious")
    [comment] = comments()
    for number in range(3):
        reporter = make_user(f"reporter{number}@example.org")
        client = app.test_client()
        login(client, reporter.email)
        assert client.get(f"/comments/{comment.id}/report").status_code == 200
        response = client.submit(f"/comments/{comment.id}/report", {"reason": "abuse"})
        assert response.status_code == 302
        again = client.submit(f"/comments/{comment.id}/report", {"reason": "spam"})
        assert again.status_code == 302
    reports = db.session.scalars(select(CommentReport)).all()
    assert len(reports) == 3
    assert db.session.get(Comment, comment.id).status == "pending"
    anonymous = app.test_client().get(ARTICLE_URL).get_data(as_text=True)
    assert "Contentious" not in anonymous
    own = reader_client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Contentious" in own and "hidden pending review" in own


def test_report_threshold_is_a_setting(reader_client, other_client, article):
    from membership.settings import set_setting

    set_setting("report_threshold", 1)
    db.session.commit()
    post(reader_client, "Spammy")
    [comment] = comments()
    other_client.submit(f"/comments/{comment.id}/report", {"reason": "spam"})
    assert db.session.get(Comment, comment.id).status == "pending"


def test_report_other_needs_details(reader_client, other_client, article):
    post(reader_client, "Odd")
    [comment] = comments()
    response = other_client.submit(f"/comments/{comment.id}/report", {"reason": "other"})
    assert response.status_code == 422
    assert "Tell us briefly what is wrong." in response.get_data(as_text=True)
    response = other_client.submit(
        f"/comments/{comment.id}/report", {"reason": "other", "details": "Doxxing"}
    )
    assert response.status_code == 302
    assert db.session.scalar(select(CommentReport.details)) == "Doxxing"


@pytest.mark.parametrize("reason", ["", "violence", "OTHER"])
def test_report_with_an_unknown_reason_is_a_form_error(
    reader_client, other_client, article, reason
):
    post(reader_client, "Odd")
    [comment] = comments()
    response = other_client.submit(f"/comments/{comment.id}/report", {"reason": reason})
    assert response.status_code == 422
    assert db.session.scalars(select(CommentReport)).all() == []


def test_cannot_report_your_own_comment(reader_client, article):
    post(reader_client, "Mine")
    [comment] = comments()
    response = reader_client.submit(f"/comments/{comment.id}/report", {"reason": "spam"})
    assert response.status_code == 403


# --- pace, duplicates, double submits (SECURITY 25) -----------------------------------------


def test_one_comment_every_five_seconds(reader_client, article):
    assert post(reader_client, "One").status_code == 302
    response = post(reader_client, "Two")
    assert response.status_code == 429
    assert "too fast" in response.get_data(as_text=True)
    age(comments()[0], seconds=6)
    assert post(reader_client, "Two").status_code == 302


def test_new_accounts_wait_longer(app, make_user, login, article):
    newcomer = make_user("new@example.org")
    client = app.test_client()
    login(client, newcomer.email)
    assert post(client, "Hello").status_code == 302
    age(comments()[0], seconds=10)
    assert post(client, "Hello again").status_code == 429
    age(comments()[0], seconds=31)
    assert post(client, "Hello again").status_code == 302


def test_same_text_within_five_minutes_is_refused(reader_client, article):
    post(reader_client, "Repeat after me")
    age(comments()[0], seconds=30)
    response = post(reader_client, "Repeat after me")
    assert response.status_code == 422
    assert "same comment" in response.get_data(as_text=True)
    age(comments()[0], minutes=6)
    assert post(reader_client, "Repeat after me").status_code == 302


def test_double_submitted_form_creates_one_comment(reader_client, article):
    page = reader_client.get(ARTICLE_URL).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|submission_id)"[^>]*value="([^"]*)"', page))
    data = {**fields, "body": "Clicked twice"}
    first = reader_client.post(POST_URL, data=data)
    second = reader_client.post(POST_URL, data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(comments()) == 1


def test_hourly_limit_per_reader(make_app, make_user, login):
    app = make_app(COMMENT_LIMIT_PER_USER="2/hour")
    with app.app_context():
        from membership.models import Section

        section = Section(slug="world", name="World", description="", position=0)
        db.session.add(section)
        db.session.add(
            Article(
                slug="harbor-story",
                title="Harbor story",
                summary="",
                body="",
                author_name="A",
                section=section,
                status="published",
                published_at=utcnow() - timedelta(hours=1),
            )
        )
        writer = make_user("writer@example.org", created_at=utcnow() - timedelta(days=9))
        client = app.test_client()
        login(client, writer.email)
        statuses = []
        for number in range(3):
            statuses.append(post(client, f"Comment {number}").status_code)
            db.session.execute(update(User).values(last_comment_at=None))
            db.session.commit()
    assert statuses == [302, 302, 429]


def test_journey_from_article_to_first_comment(client, article, mailbox):
    """Article -> register -> confirm -> sign in -> back on the same article -> comment."""
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    register_link = re.search(r'href="(/register\?next=[^"]+)"', page).group(1)
    password = "a quiet evening on the harbor"
    response = client.submit(
        register_link,
        {
            "email": "newcomer@example.org",
            "display_name": "Newcomer",
            "password": password,
            "password_confirm": password,
            "next": ARTICLE_URL,
        },
    )
    assert response.status_code == 302
    link = mailbox.link("newcomer@example.org", "/confirm/").removeprefix("http://portal.test")
    assert "next=" in link
    confirmed = client.submit(link)
    assert confirmed.headers["Location"] == f"/login?next={ARTICLE_URL}"
    signed_in = client.submit(
        confirmed.headers["Location"],
        {"email": "newcomer@example.org", "password": password, "next": ARTICLE_URL},
    )
    assert signed_in.headers["Location"] == ARTICLE_URL
    db.session.execute(update(User).values(created_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    assert post(client, "Glad to join the discussion.").status_code == 302
    assert "Glad to join the discussion." in client.get(ARTICLE_URL).get_data(as_text=True)


def test_supporter_badge_on_comments(client, article, make_user):
    member = make_user("member@example.org", paying=True)
    free = make_user("free@example.org")
    db.session.add_all(
        [
            Comment(article_id=article.id, author_id=member.id, body="From a member"),
            Comment(article_id=article.id, author_id=free.id, body="From a free reader"),
        ]
    )
    db.session.commit()
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    member_block = page.split("From a member")[0].rsplit('<article id="c', 1)[1]
    free_block = page.split("From a free reader")[0].rsplit('<article id="c', 1)[1]
    assert 'class="badge badge-paid">Member<' in member_block
    assert "badge" not in free_block


def test_deleting_an_account_blanks_its_comments(app, reader_client, other_client, article):
    post(reader_client, "Soon gone")
    [top] = comments()
    post(other_client, "Reply stays", reply_to=str(top.id))
    reader_client.submit(
        "/account/delete",
        {"current_password": "correct horse battery staple", "understood": "y"},
        page="/account",
    )
    page = app.test_client().get(ARTICLE_URL).get_data(as_text=True)
    assert "Soon gone" not in page
    assert "This comment was deleted by its author." in page
    assert "Reply stays" in page
