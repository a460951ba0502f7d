"""Comment moderation: the queues and what moderators do to comments, singly or in bulk."""

from sqlalchemy import select, update

from membership import audit
from membership.cache import bump_discussion
from membership.comments.services import adjust_comment_counts
from membership.extensions import db
from membership.models import Article, Comment, CommentReport, CommentStatus, ReportStatus, User
from membership.models.types import utcnow

QUEUES = ("reported", "held", "hidden")
ACTIONS = ("approve", "hide", "delete")
PAGE_SIZE = 50


class ModerationError(Exception):
    """A moderation request the rules refuse."""


def queue(kind: str):
    """The select for one queue: reported (most reports first), held, recently hidden."""
    query = select(Comment)
    if kind == "reported":
        return query.where(
            Comment.open_report_count > 0,
            Comment.status.in_([CommentStatus.PUBLISHED, CommentStatus.PENDING]),
        ).order_by(Comment.open_report_count.desc(), Comment.id)
    if kind == "held":
        return query.where(Comment.status == CommentStatus.PENDING).order_by(Comment.id)
    return query.where(Comment.status == CommentStatus.REMOVED).order_by(
        Comment.moderated_at.desc(), Comment.id.desc()
    )


def reports_for(comment_ids: list[int]) -> dict[int, list[CommentReport]]:
    reports: dict[int, list[CommentReport]] = {}
    if comment_ids:
        for report in db.session.scalars(
            select(CommentReport)
            .where(
                CommentReport.comment_id.in_(comment_ids),
                CommentReport.status == ReportStatus.OPEN,
            )
            .order_by(CommentReport.id)
        ):
            reports.setdefault(report.comment_id, []).append(report)
    return reports


def stories_of(comments) -> dict[int, tuple[str, str]]:
    """(slug, title) of each comment's story, in one query: links to `/articles/<slug>#c<id>`."""
    ids = {comment.article_id for comment in comments}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Article.id, Article.slug, Article.title).where(Article.id.in_(ids))
    )
    return {article_id: (slug, title) for article_id, slug, title in rows}


def moderate(comment_ids: list[int], action: str, actor: User) -> int:
    """Approve, hide or delete the given comments; open reports are closed accordingly."""
    if action not in ACTIONS:
        raise ModerationError("Choose approve, hide or delete.")
    comments = db.session.scalars(select(Comment).where(Comment.id.in_(comment_ids))).all()
    if not comments:
        raise ModerationError("Select at least one comment.")
    now = utcnow()
    for comment in comments:
        was_counted = comment.status == CommentStatus.PUBLISHED
        if action == "approve":
            comment.status = CommentStatus.PUBLISHED
            report_status = ReportStatus.DISMISSED
        elif action == "hide":
            comment.status = CommentStatus.REMOVED
            report_status = ReportStatus.UPHELD
        else:
            comment.status = CommentStatus.DELETED
            comment.body = ""
            report_status = ReportStatus.UPHELD
        now_counted = comment.status == CommentStatus.PUBLISHED
        if was_counted != now_counted:
            adjust_comment_counts(comment.article_id, comment.thread_id, +1 if now_counted else -1)
        comment.moderated_at = now
        comment.open_report_count = 0
        db.session.execute(
            update(CommentReport)
            .where(CommentReport.comment_id == comment.id, CommentReport.status == "open")
            .values(status=report_status, resolved_at=now, resolved_by_id=actor.id)
        )
        audit.record(actor, f"comment.{action}", comment, author_id=comment.author_id)
    # One UPDATE for every story touched (counters already bumped some: harmless).
    bump_discussion(*{comment.article_id for comment in comments})
    return len(comments)
