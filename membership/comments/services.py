"""Comment rules: who may post, posting, replies, edits, deletion, likes and reports."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, case, delete, false, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from membership import audit
from membership.access import has_paid_access, may_read
from membership.auth import tokens
from membership.cache import bump_discussion
from membership.comments.rendering import URL_PATTERN
from membership.extensions import db
from membership.mail import external_url, queue_email
from membership.models import (
    AccessLevel,
    Article,
    Comment,
    CommentLike,
    CommentReport,
    CommentStatus,
    ReportReason,
    User,
)
from membership.models.types import UTCDateTime, utcnow
from membership.settings import get_setting

log = logging.getLogger(__name__)

MAX_LENGTH = 5000
EDIT_WINDOW = timedelta(minutes=15)
DUPLICATE_WINDOW = timedelta(minutes=5)
POST_INTERVAL = timedelta(seconds=5)
NEW_ACCOUNT_POST_INTERVAL = timedelta(seconds=30)
NEW_ACCOUNT_AGE = timedelta(days=1)
UNSUBSCRIBE_REPLIES = "unsubscribe-replies"


class Policy(StrEnum):
    EVERYONE = "everyone"
    PAYING = "paying"
    CLOSED = "closed"


class GateReason(StrEnum):
    OPEN = "open"
    ANONYMOUS = "anonymous"
    UNCONFIRMED = "unconfirmed"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    AUTO_CLOSED = "auto-closed"
    PAYING_ONLY = "paying-only"
    CANNOT_READ = "cannot-read"


@dataclass(frozen=True)
class Gate:
    """What the comment box offers this reader on this article, and why."""

    reason: GateReason
    message: str

    @property
    def allowed(self) -> bool:
        return self.reason == GateReason.OPEN


class CommentRefused(Exception):
    """A comment action the rules do not allow; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 403):  # 403 unless a refusal says otherwise
        super().__init__(message)
        self.message = message
        self.status = status


def effective_policy(article: Article) -> Policy:
    return Policy(article.comment_policy or get_setting("comment_policy"))


def auto_close_time(article: Article) -> datetime | None:
    days = int(get_setting("comments_auto_close_days") or 0)
    if days <= 0 or article.published_at is None:
        return None
    return article.published_at + timedelta(days=days)


def comment_gate(user: User | None, article: Article) -> Gate:
    """Decide whether the reader may post here; the page and the POST both ask this."""
    policy = effective_policy(article)
    closes = auto_close_time(article)
    if policy == Policy.CLOSED:
        return Gate(GateReason.CLOSED, "Comments are closed on this story.")
    if closes is not None and closes <= utcnow():
        return Gate(GateReason.AUTO_CLOSED, "Comments closed automatically on this story.")
    if not may_read(user, article):
        # The story's own paywall invites the reader in; the discussion only says why it is shut.
        if article.access_level == AccessLevel.MEMBERS:
            why = "This story is for registered readers, and so is its discussion."
        else:
            why = "This story is for subscribers, and so is its discussion."
        return Gate(GateReason.CANNOT_READ, f"{why} Once you can read it, you can take part.")
    # A banned account is not authenticated (User.is_active): it meets the signed-out gate.
    if user is None or not user.is_authenticated:
        return Gate(GateReason.ANONYMOUS, "Sign in to leave a comment.")
    if not user.is_confirmed:
        return Gate(GateReason.UNCONFIRMED, "Please confirm your email address to comment.")
    if user.is_suspended:
        until = f" until {user.suspended_until:%d %B %Y, %H:%M} UTC" if user.suspended_until else ""
        reason = f": {user.status_reason}" if user.status_reason else ""
        return Gate(GateReason.SUSPENDED, f"Your account is suspended{until}{reason}.")
    if policy == Policy.PAYING and not has_paid_access(user):
        return Gate(GateReason.PAYING_ONLY, "Comments on this story are open to paying members.")
    return Gate(GateReason.OPEN, "")


def _require_good_standing(user: User) -> None:
    if not user.is_in_good_standing:
        raise CommentRefused("Only confirmed accounts in good standing can do that.")


def _check_body(body: str) -> str:
    if not body or not body.strip():
        raise CommentRefused("Write something before posting.", 422)
    if len(body) > MAX_LENGTH:
        raise CommentRefused(f"Comments are at most {MAX_LENGTH:,} characters.", 422)
    return body


def _post_interval(user: User, now: datetime) -> timedelta:
    """The least time between two of this reader's posts (longer for a new account)."""
    return NEW_ACCOUNT_POST_INTERVAL if now - user.created_at < NEW_ACCOUNT_AGE else POST_INTERVAL


def _claim_post_slot(user: User, now: datetime) -> datetime | None:
    """Lock the author's row and stamp `now` as their last post if the pace allows it.

    One `UPDATE ... RETURNING` on every database: it serialises this reader's posts (a row lock
    held until the transaction ends), checks the interval and records the new post time. It
    returns the value the row holds afterwards: `now` when the slot was claimed, else the time
    of the reader's last post. A refused post rolls back, so the stamp never outlives it.
    """
    interval = _post_interval(user, now)
    stamp = literal(now, UTCDateTime)
    slot_free = or_(User.last_comment_at.is_(None), User.last_comment_at <= now - interval)
    return db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(last_comment_at=case((slot_free, stamp), else_=User.last_comment_at))
        .returning(User.last_comment_at)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def _earlier_or_duplicate(
    user: User, body: str, submission_id: str | None, now: datetime
) -> tuple[Comment | None, bool]:
    """One query for both checks: (the comment this form already posted, is it a duplicate)."""
    same_submission = Comment.submission_id == submission_id if submission_id else false()
    # 1 for this form's earlier comment (sorted first), 0 for a duplicate (never NULL).
    resubmitted = case((same_submission, 1), else_=0)
    row = db.session.execute(
        select(Comment.id, resubmitted.label("resubmitted"))
        .where(
            Comment.author_id == user.id,
            or_(
                same_submission,
                and_(Comment.body == body, Comment.created_at > now - DUPLICATE_WINDOW),
            ),
        )
        .order_by(resubmitted.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, False
    if row.resubmitted:
        return db.session.get(Comment, row.id), False
    return None, True


def post_comment(
    user: User,
    article: Article,
    body: str,
    *,
    reply_to: Comment | None = None,
    submission_id: str | None = None,
) -> tuple[Comment, bool]:
    """Post a comment or reply; returns (comment, created). A resubmitted form returns the first.

    The caller rolls back when nothing was created (a refusal or a resubmitted form), which
    also undoes the pace stamp of `_claim_post_slot`.
    """
    gate = comment_gate(user, article)
    if not gate.allowed:
        raise CommentRefused(gate.message)
    body = _check_body(body)
    if reply_to is not None and (
        reply_to.article_id != article.id or reply_to.status != CommentStatus.PUBLISHED
    ):
        raise CommentRefused("That comment cannot be replied to.", 422)

    now = utcnow()
    last_post = _claim_post_slot(user, now)
    earlier, duplicate = _earlier_or_duplicate(user, body, submission_id, now)
    if earlier is not None:
        return earlier, False
    if last_post != now:
        interval = _post_interval(user, now)
        raise CommentRefused(
            f"You are commenting too fast. Wait {interval.seconds} seconds between comments.",
            429,
        )
    if duplicate:
        raise CommentRefused("You posted the same comment a moment ago.", 422)

    thread_id = None
    if reply_to is not None:
        thread_id = reply_to.thread_id or reply_to.id
    held = hold_reason(user, body)
    comment = Comment(
        article_id=article.id,
        author_id=user.id,
        thread_id=thread_id,
        reply_to_id=reply_to.id if reply_to is not None else None,
        body=body,
        submission_id=submission_id or None,
        created_at=now,
        status=CommentStatus.PENDING if held else CommentStatus.PUBLISHED,
    )
    db.session.add(comment)
    if not held:
        adjust_comment_counts(article.id, thread_id, +1)
    else:
        # The shared discussion does not change: a held comment reaches only its author's own
        # part of the page, read for them on each request.
        log.info("comment by account #%s held for review: %s", user.id, held)
    db.session.flush()
    if reply_to is not None:
        _notify_reply(reply_to, comment, user, article)
    log.info("comment #%s posted by account #%s", comment.id, user.id)
    return comment, True


def hold_reason(user: User, body: str) -> str | None:
    """Why a new comment waits for a moderator (the site's hold rules), or None."""
    first = int(get_setting("hold_first_comments") or 0)
    if first > 0:
        published = db.session.scalar(
            select(func.count(Comment.id)).where(
                Comment.author_id == user.id, Comment.status == CommentStatus.PUBLISHED
            )
        )
        if published < first:
            return "first comments"
    if get_setting("hold_links") and URL_PATTERN.search(body):
        return "contains a link"
    words = [word.lower() for word in get_setting("hold_words") or [] if word]
    if words:
        lowered = body.lower()
        if any(word in lowered for word in words):
            return "held word"
    return None


def adjust_comment_counts(article_id: int, thread_id: int | None, delta: int) -> None:
    """Keep the article's and the thread's counters in step (atomic increments); the same
    UPDATE bumps the discussion's cache version.

    "fetch" takes the new values from the database (RETURNING), not from adding to what this
    request loaded: another reader's comment may have committed in between, and the in-place
    answer looks up the discussion under the version read back here.
    """
    db.session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(
            comment_count=Article.comment_count + delta,
            discussion_version=Article.discussion_version + 1,
        )
        .execution_options(synchronize_session="fetch")
    )
    if thread_id is not None:
        db.session.execute(
            update(Comment)
            .where(Comment.id == thread_id)
            .values(reply_count=Comment.reply_count + delta)
            .execution_options(synchronize_session="fetch")
        )


def _notify_reply(parent: Comment, reply: Comment, replier: User, article: Article) -> None:
    author = db.session.get(User, parent.author_id) if parent.author_id else None
    if author is None or author.id == replier.id or not author.notify_replies:
        return
    if author.is_banned or not author.is_confirmed:
        return
    unsubscribe = external_url(
        "comments.unsubscribe_replies",
        token=tokens.make_token(UNSUBSCRIBE_REPLIES, {"uid": author.id}),
    )
    queue_email(
        author.email,
        f"{replier.display_name} replied to your comment",
        "comment_reply",
        headers={"List-Unsubscribe": f"<{unsubscribe}>"},
        user=author,
        replier=replier,
        article=article,
        reply=reply,
        comment_url=external_url("articles.article", slug=article.slug, _anchor=f"c{reply.id}"),
        unsubscribe_url=unsubscribe,
    )


def user_for_unsubscribe_token(token: str) -> User | None:
    """The reader an unsubscribe link belongs to; these links do not expire."""
    try:
        payload = tokens.read_token(UNSUBSCRIBE_REPLIES, token, max_age=10 * 365 * 24 * 3600)
    except tokens.TokenInvalid:
        return None
    return db.session.get(User, payload.get("uid"))


def can_edit(user: User | None, comment: Comment) -> bool:
    return (
        user is not None
        and user.is_authenticated
        and comment.author_id == user.id
        and comment.status in (CommentStatus.PUBLISHED, CommentStatus.PENDING)
        and utcnow() - comment.created_at <= EDIT_WINDOW
    )


def edit_comment(user: User, comment: Comment, body: str) -> None:
    """Change your own comment within 15 minutes of posting; it is marked as edited."""
    if comment.author_id != user.id:
        raise CommentRefused("You can only edit your own comments.")
    _require_good_standing(user)
    if not can_edit(user, comment):
        raise CommentRefused("Comments can be edited for 15 minutes after posting.")
    body = _check_body(body)
    if body != comment.body:
        comment.body = body
        comment.edited_at = utcnow()
        bump_discussion(comment.article_id)


def delete_comment(user: User, comment: Comment) -> None:
    """Delete your own comment; a placeholder stays where others replied to it."""
    if comment.author_id != user.id:
        raise CommentRefused("You can only delete your own comments.")
    if comment.status == CommentStatus.DELETED:
        return
    was_counted = comment.status == CommentStatus.PUBLISHED
    comment.status = CommentStatus.DELETED
    comment.body = ""
    comment.edited_at = utcnow()
    if was_counted:
        adjust_comment_counts(comment.article_id, comment.thread_id, -1)
    else:
        bump_discussion(comment.article_id)
    log.info("comment #%s deleted by its author", comment.id)


def delete_comments_of(user: User) -> None:
    """Account deletion: blank the reader's comments, keeping placeholders in threads."""
    # delete_comment returns at once for a comment already deleted: no filter needed here.
    for comment in db.session.scalars(select(Comment).where(Comment.author_id == user.id)):
        delete_comment(user, comment)


def toggle_like(user: User, comment: Comment) -> bool:
    """Like, or take back a like; returns whether the reader now likes the comment."""
    _require_good_standing(user)
    if comment.status != CommentStatus.PUBLISHED:
        raise CommentRefused("This comment cannot be liked.", 422)
    if comment.author_id == user.id:
        raise CommentRefused("You cannot like your own comment.")
    removed = db.session.execute(
        delete(CommentLike).where(
            CommentLike.comment_id == comment.id, CommentLike.user_id == user.id
        )
    ).rowcount
    if removed:
        _bump_likes(comment, -1)
        return False
    try:
        with db.session.begin_nested():
            db.session.add(CommentLike(comment_id=comment.id, user_id=user.id))
    except IntegrityError:
        return True  # a second click raced the first: the like exists once
    _bump_likes(comment, +1)
    return True


def feature_comment(moderator: User, comment: Comment, featured: bool) -> bool:
    """Moderators: show a comment first, under "Featured", or take it back; audited."""
    if not moderator.is_staff:
        raise CommentRefused("Only moderators can feature comments.")
    if featured and comment.status != CommentStatus.PUBLISHED:
        raise CommentRefused("Only a published comment can be featured.", 422)
    comment.featured_at = utcnow() if featured else None
    action = "comment.feature" if featured else "comment.unfeature"
    audit.record(moderator, action, comment, author_id=comment.author_id)
    bump_discussion(comment.article_id)
    return featured


def _bump_likes(comment: Comment, delta: int) -> None:
    db.session.execute(
        update(Comment)
        .where(Comment.id == comment.id)
        .values(like_count=Comment.like_count + delta)
    )
    bump_discussion(comment.article_id)


def report_comment(
    user: User, comment: Comment, reason: str, details: str = ""
) -> tuple[CommentReport, bool]:
    """File a report (once per reader); enough open reports hide the comment pending review."""
    _require_good_standing(user)
    if comment.author_id == user.id:
        raise CommentRefused("You cannot report your own comment.")
    if comment.status not in (CommentStatus.PUBLISHED, CommentStatus.PENDING):
        raise CommentRefused("This comment is no longer shown.", 422)
    reason = ReportReason(reason)
    details = (details or "").strip()
    if reason == ReportReason.OTHER and not details:
        raise CommentRefused("Tell us briefly what is wrong.", 422)
    # One report per reader and comment: the unique constraint refuses a second one (a double
    # click, a second tab), so no lookup first.
    report = CommentReport(
        comment_id=comment.id, reporter_id=user.id, reason=reason, details=details[:500]
    )
    try:
        with db.session.begin_nested():
            db.session.add(report)
    except IntegrityError:
        return report, False
    db.session.execute(
        update(Comment)
        .where(Comment.id == comment.id)
        .values(open_report_count=Comment.open_report_count + 1)
    )
    db.session.refresh(comment)
    threshold = int(get_setting("report_threshold"))
    if comment.status == CommentStatus.PUBLISHED and comment.open_report_count >= threshold:
        comment.status = CommentStatus.PENDING
        adjust_comment_counts(comment.article_id, comment.thread_id, -1)
        log.info("comment #%s hidden pending review after %s reports", comment.id, threshold)
    return report, True
