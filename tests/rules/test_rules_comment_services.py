"""The comment rules as the service states them, whoever calls it (issue 15).

The views check ownership and the edit window first, to pick their page; the service must
still refuse on its own, since it is the one place the rules live (a job, a command, an API
view may call it without those checks).
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from membership.comments import services
from membership.comments.services import CommentRefused
from membership.extensions import db
from membership.models import Article, AuditEvent, Comment, CommentReport, User
from membership.models.types import utcnow
from membership.settings import set_setting


@pytest.fixture
def author(make_user):
    return make_user("rita@example.org", display_name="Rita")


@pytest.fixture
def other(make_user):
    return make_user("omar@example.org", display_name="Omar")


def comment_by(user, article, *, status="published", minutes_ago=1) -> Comment:
    comment = Comment(
        article_id=article.id,
        author_id=user.id,
        body="The original words.",
        status=status,
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )
    db.session.add(comment)
    if status == "published":
        article.comment_count += 1
    db.session.commit()
    return comment


def refusal(action, *args) -> tuple[str, int]:
    with pytest.raises(CommentRefused) as refused:
        action(*args)
    return refused.value.message, refused.value.status


def published_reply(user, top: Comment) -> Comment:
    """A published reply by `user` under `top`, counted in its thread and its story."""
    reply = Comment(article_id=top.article_id, author_id=user.id, body="A reply.", thread_id=top.id)
    db.session.add(reply)
    top.reply_count += 1
    db.session.get(Article, top.article_id).comment_count += 1
    db.session.commit()
    return reply


def shown_count(article) -> int:
    return db.session.scalar(select(Article.comment_count).where(Article.id == article.id))


def test_only_the_author_may_edit(article, author, other):
    comment = comment_by(author, article)
    assert refusal(services.edit_comment, other, comment, "Defaced.") == (
        "You can only edit your own comments.",
        403,
    )
    assert comment.body == "The original words." and comment.edited_at is None


def test_an_edit_after_fifteen_minutes_is_refused(article, author):
    comment = comment_by(author, article, minutes_ago=16)
    assert refusal(services.edit_comment, author, comment, "Second thoughts.") == (
        "Comments can be edited for 15 minutes after posting.",
        403,
    )
    assert comment.body == "The original words."


def test_an_edit_within_fifteen_minutes_is_marked(article, author):
    comment = comment_by(author, article, minutes_ago=14)
    services.edit_comment(author, comment, "Better words.")
    assert comment.body == "Better words." and comment.edited_at is not None


def test_only_the_author_may_delete(article, author, other):
    comment = comment_by(author, article)
    assert refusal(services.delete_comment, other, comment) == (
        "You can only delete your own comments.",
        403,
    )
    assert comment.status == "published" and shown_count(article) == 1


def test_a_deleted_comment_loses_its_words_and_its_place_in_the_count(article, author):
    comment = comment_by(author, article)
    services.delete_comment(author, comment)
    db.session.commit()
    assert (comment.status, comment.body) == ("deleted", "")
    assert comment.edited_at is not None
    assert shown_count(article) == 0
    services.delete_comment(author, comment)  # twice (two tabs): counted once
    db.session.commit()
    assert shown_count(article) == 0


def test_deleting_a_held_comment_leaves_the_count(article, author, make_user):
    comment_by(make_user(), article)
    held = comment_by(author, article, status="pending")
    services.delete_comment(author, held)
    db.session.commit()
    assert (held.status, held.body) == ("deleted", "")
    assert shown_count(article) == 1


def test_deleting_an_account_blanks_each_of_its_comments_once(article, author, other):
    """Published, held or already deleted: each is blanked once; another reader's stays."""
    kept = comment_by(other, article)
    published, held = comment_by(author, article), comment_by(author, article, status="pending")
    deleted_before = comment_by(author, article)
    services.delete_comment(author, deleted_before)
    db.session.commit()
    services.delete_comments_of(author)
    db.session.commit()
    assert [c.status for c in (published, held, deleted_before)] == ["deleted"] * 3
    assert (kept.status, kept.body) == ("published", "The original words.")
    assert shown_count(article) == 1


def discussion_version(article) -> int:
    """What the cached discussion is keyed by: it must move with every visible change."""
    return db.session.scalar(select(Article.discussion_version).where(Article.id == article.id))


def test_only_staff_feature_and_only_published_comments(article, author, make_user):
    moderator = make_user("mod@example.org", role="moderator")
    comment = comment_by(author, article)
    assert refusal(services.feature_comment, author, comment, True) == (
        "Only moderators can feature comments.",
        403,
    )
    held = comment_by(author, article, status="pending")
    assert refusal(services.feature_comment, moderator, held, True) == (
        "Only a published comment can be featured.",
        422,
    )
    assert held.featured_at is None and comment.featured_at is None


def test_featuring_is_audited_with_the_author_and_renews_the_discussion(article, author, make_user):
    moderator = make_user("mod@example.org", role="moderator")
    comment = comment_by(author, article)
    before = discussion_version(article)
    assert services.feature_comment(moderator, comment, True) is True
    db.session.commit()
    assert comment.featured_at is not None
    assert discussion_version(article) > before
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "comment.feature"))
    assert (event.actor_id, event.target_id) == (moderator.id, comment.id)
    assert event.details == {"author_id": author.id}


def test_edits_and_likes_renew_the_discussion(article, author, other):
    comment = comment_by(author, article)
    before = discussion_version(article)
    services.edit_comment(author, comment, "Better words.")
    db.session.commit()
    edited = discussion_version(article)
    assert edited > before
    services.toggle_like(other, comment)
    db.session.commit()
    assert discussion_version(article) > edited


def test_a_reader_cannot_like_their_own_comment(article, author):
    comment = comment_by(author, article)
    assert refusal(services.toggle_like, author, comment) == (
        "You cannot like your own comment.",
        403,
    )


def test_likes_are_per_reader_and_per_comment(article, author, other, make_user):
    first, second = comment_by(author, article), comment_by(author, article)
    third_reader = make_user("tess@example.org")
    assert services.toggle_like(other, first) is True
    assert services.toggle_like(other, second) is True  # liking another keeps the first
    assert services.toggle_like(third_reader, first) is True  # another reader's like adds
    db.session.commit()
    db.session.refresh(first)
    db.session.refresh(second)
    assert (first.like_count, second.like_count) == (2, 1)
    assert services.toggle_like(other, first) is False  # taking it back removes only theirs
    db.session.commit()
    db.session.refresh(first)
    assert first.like_count == 1


def test_deleting_a_reply_takes_it_out_of_its_threads_count(article, author, other):
    top = comment_by(other, article)
    reply = published_reply(author, top)
    services.delete_comment(author, reply)
    db.session.commit()
    db.session.refresh(top)
    assert top.reply_count == 0 and shown_count(article) == 1


def test_deleting_a_held_comment_renews_the_discussion(article, author):
    held = comment_by(author, article, status="pending")
    before = discussion_version(article)
    services.delete_comment(author, held)
    db.session.commit()
    assert discussion_version(article) > before


def test_a_reader_may_report_two_comments(article, author, other):
    first, second = comment_by(author, article), comment_by(author, article)
    assert services.report_comment(other, first, "spam")[1] is True
    assert services.report_comment(other, second, "spam")[1] is True
    assert services.report_comment(other, second, "spam")[1] is False  # once per reader
    db.session.commit()
    reported = db.session.scalars(select(CommentReport.comment_id).order_by(CommentReport.id))
    assert list(reported) == [first.id, second.id]


def test_a_report_for_another_reason_needs_a_word_of_explanation(article, author, other):
    comment = comment_by(author, article)
    assert refusal(services.report_comment, other, comment, "other", "  ") == (
        "Tell us briefly what is wrong.",
        422,
    )


def test_a_reply_hidden_by_reports_leaves_its_threads_count(article, author, other):
    set_setting("report_threshold", 1)
    top = comment_by(other, article)
    reply = published_reply(author, top)
    services.report_comment(other, reply, "spam")
    db.session.commit()
    db.session.refresh(top)
    assert reply.status == "pending"
    assert (top.reply_count, shown_count(article)) == (0, 1)


def test_two_readers_may_post_the_same_words(article, author, other):
    services.post_comment(author, article, "Well said.")
    comment, created = services.post_comment(other, article, "Well said.")
    assert created and comment.author_id == other.id


def test_a_newcomers_first_comments_wait_for_a_moderator(article, author, other):
    set_setting("hold_first_comments", 1)
    comment_by(other, article)  # someone else's published comment counts for nothing
    first, _ = services.post_comment(author, article, "My first words here.")
    assert first.status == "pending"
    db.session.execute(update(User).values(last_comment_at=None))
    second, _ = services.post_comment(author, article, "Still new here.")
    assert second.status == "pending", "a held comment is not yet a published one"


@pytest.mark.parametrize(
    ("level", "why"),
    [
        ("members", "This story is for registered readers, and so is its discussion."),
        ("paid", "This story is for subscribers, and so is its discussion."),
    ],
)
def test_a_reader_who_cannot_read_the_story_is_told_why_they_cannot_comment(article, level, why):
    article.access_level = level
    db.session.commit()
    gate = services.comment_gate(None, article)
    assert (gate.allowed, gate.reason) == (False, "cannot-read")
    assert gate.message == f"{why} Once you can read it, you can take part."


@pytest.mark.parametrize(
    ("shut", "reason", "message"),
    [
        ("closed", "closed", "Comments are closed on this story."),
        ("auto-closed", "auto-closed", "Comments closed automatically on this story."),
        ("suspended", "suspended", "Your account is suspended: Flooding."),
    ],
)
def test_the_gate_names_why_it_is_shut(article, author, shut, reason, message):
    """The reason picks what the page offers beside the sentence (sign in, confirm, plans)."""
    from membership.auth.standing import suspend

    if shut == "closed":
        article.comment_policy = "closed"
    elif shut == "auto-closed":
        set_setting("comments_auto_close_days", 1)
        article.published_at = utcnow() - timedelta(days=2)
    else:
        suspend(author, reason="Flooding")
    db.session.commit()
    gate = services.comment_gate(author, article)
    assert (gate.allowed, gate.reason, gate.message) == (False, reason, message)


def test_a_banned_account_is_offered_only_to_sign_in(article, author):
    """Even an old session's user object: a banned account counts as signed out."""
    from membership.auth.standing import ban

    ban(author, reason="Spam")
    db.session.commit()
    gate = services.comment_gate(author, article)
    assert (gate.allowed, gate.reason, gate.message) == (
        False,
        "anonymous",
        "Sign in to leave a comment.",
    )


def test_a_reader_past_their_first_comments_is_published_at_once(article, author, other):
    set_setting("hold_first_comments", 2)
    comment_by(other, article)
    comment_by(author, article)
    db.session.execute(update(User).values(last_comment_at=None))
    second, _ = services.post_comment(author, article, "My second words here.")
    assert second.status == "pending", "one published comment of two"
    comment_by(author, article)
    db.session.execute(update(User).values(last_comment_at=None))
    third, _ = services.post_comment(author, article, "Now I am known here.")
    assert third.status == "published"


def test_a_post_the_gate_refuses_says_why(article, author):
    from membership.auth.standing import ban

    ban(author, reason="Spam")
    db.session.commit()
    assert refusal(services.post_comment, author, article, "Hello?") == (
        "Sign in to leave a comment.",
        403,
    )


def test_the_same_words_twice_in_a_row_are_refused(article, author):
    services.post_comment(author, article, "Well said.", submission_id="first-form")
    db.session.execute(update(User).values(last_comment_at=None))
    refused = refusal(
        lambda: services.post_comment(author, article, "Well said.", submission_id="second-form")
    )
    assert refused == ("You posted the same comment a moment ago.", 422)


def test_a_resubmitted_form_returns_the_first_comment(article, author):
    first, created = services.post_comment(author, article, "Once.", submission_id="form-1")
    assert created
    again, created = services.post_comment(author, article, "Once.", submission_id="form-1")
    assert (again.id, created) == (first.id, False)
    assert db.session.scalar(select(func.count(Comment.id))) == 1


# --- the words of a comment: the service's own checks behind the form's -------------------------


@pytest.mark.parametrize("body", ["", "   ", " \n\t \n"])
def test_a_blank_or_whitespace_only_comment_is_refused(article, author, body):
    assert refusal(services.post_comment, author, article, body) == (
        "Write something before posting.",
        422,
    )
    assert db.session.scalar(select(func.count(Comment.id))) == 0


@pytest.mark.parametrize("body", ["", "  \n "])
def test_an_edit_cannot_blank_a_comment(article, author, body):
    comment = comment_by(author, article)
    assert refusal(services.edit_comment, author, comment, body) == (
        "Write something before posting.",
        422,
    )
    assert comment.body == "The original words."


def test_a_comment_is_at_most_5000_characters(article, author):
    assert refusal(services.post_comment, author, article, "x" * 5001) == (
        "Comments are at most 5,000 characters.",
        422,
    )
    comment, created = services.post_comment(author, article, "y" * 5000)
    assert created and len(comment.body) == 5000


def test_an_edit_is_at_most_5000_characters(article, author):
    comment = comment_by(author, article)
    assert refusal(services.edit_comment, author, comment, "x" * 5001) == (
        "Comments are at most 5,000 characters.",
        422,
    )
    services.edit_comment(author, comment, "y" * 5000)
    assert comment.body == "y" * 5000


# --- a form sent twice, comments posted without a form ------------------------------------------


def test_comments_posted_without_a_form_are_never_taken_for_a_resubmission(article, author):
    """A job or a command posts without a form id: each comment is a new one."""
    first, _ = services.post_comment(author, article, "First words.")
    db.session.execute(update(User).values(last_comment_at=None))
    second, created = services.post_comment(author, article, "Second words.")
    assert created and second.id != first.id
    assert db.session.scalar(select(func.count(Comment.id))) == 2


def test_a_form_sent_again_returns_its_comment_whatever_words_it_now_carries(article, author):
    """Even words the reader posted a moment ago from another form: the form posts once."""
    earlier, _ = services.post_comment(author, article, "Agreed.", submission_id="form-0")
    db.session.execute(update(User).values(last_comment_at=None))
    first, _ = services.post_comment(author, article, "Agreed, mostly.", submission_id="form-1")
    again, created = services.post_comment(author, article, "Agreed.", submission_id="form-1")
    assert (again.id, created) == (first.id, False)
    assert again.id != earlier.id and again.body == "Agreed, mostly."


# --- reports ------------------------------------------------------------------------------------


def test_a_report_without_details_records_none(article, author, other):
    report, created = services.report_comment(other, comment_by(author, article), "spam")
    assert created and report.details == ""


def test_a_reports_details_keep_their_first_500_characters(article, author, other):
    details = "a" * 500 + "b" * 100
    services.report_comment(other, comment_by(author, article), "other", details)
    db.session.commit()
    assert db.session.scalar(select(CommentReport.details)) == "a" * 500


# --- the exact instants of the pace, duplicate, edit and closing rules ---------------------------


@pytest.fixture
def clock(monkeypatch):
    """The comment rules' clock, stopped at one instant (whole seconds)."""
    now = utcnow().replace(microsecond=0)
    monkeypatch.setattr(services, "utcnow", lambda: now)
    return now


def test_a_reader_may_post_again_exactly_five_seconds_later(article, author, clock):
    author.created_at = clock - timedelta(days=30)
    author.last_comment_at = clock - timedelta(seconds=5)
    db.session.commit()
    _, created = services.post_comment(author, article, "Five seconds on.")
    assert created


def test_an_account_exactly_one_day_old_is_no_longer_new(article, author, clock):
    """New accounts wait 30 seconds between comments; from their first day's end, 5."""
    author.created_at = clock - timedelta(days=1)
    author.last_comment_at = clock - timedelta(seconds=5)
    db.session.commit()
    _, created = services.post_comment(author, article, "A day old now.")
    assert created


def test_the_same_words_exactly_five_minutes_later_are_a_new_comment(article, author, clock):
    comment_by(author, article, minutes_ago=0).created_at = clock - timedelta(minutes=5)
    db.session.commit()
    _, created = services.post_comment(author, article, "The original words.")
    assert created


def test_a_comment_can_still_be_edited_at_the_fifteenth_minute(article, author, clock):
    comment = comment_by(author, article)
    comment.created_at = clock - timedelta(minutes=15)
    db.session.commit()
    services.edit_comment(author, comment, "Just in time.")
    assert comment.body == "Just in time."


def test_comments_close_at_the_instant_the_auto_close_days_end(article, clock):
    set_setting("comments_auto_close_days", 7)
    article.published_at = clock - timedelta(days=7)
    db.session.commit()
    assert services.comment_gate(None, article).message == (
        "Comments closed automatically on this story."
    )


def test_the_duplicate_window_runs_from_the_instant_of_posting(article, author, monkeypatch):
    posted = utcnow() - timedelta(seconds=1)
    monkeypatch.setattr(services, "utcnow", lambda: posted)
    first, _ = services.post_comment(author, article, "Said once.")
    assert first.created_at == posted
    monkeypatch.setattr(services, "utcnow", lambda: posted + timedelta(minutes=5))
    _, created = services.post_comment(author, article, "Said once.")
    assert created


# --- why a comment waits for a moderator (the reason the operator reads in the log) --------------


@pytest.mark.parametrize(
    ("settings", "body", "reason"),
    [
        ({"hold_first_comments": 1}, "Hello.", "first comments"),
        ({"hold_links": True}, "See https://example.org/x", "contains a link"),
        ({"hold_words": ["Scam"]}, "What a SCAM this is.", "held word"),
        ({"hold_links": True, "hold_words": ["scam"]}, "Plain words.", None),
    ],
)
def test_a_held_comment_says_which_hold_rule_caught_it(author, settings, body, reason):
    for name, value in settings.items():
        set_setting(name, value)
    assert services.hold_reason(author, body) == reason
