"""The discussion under an article, loaded in a fixed number of statements.

Two halves: `load_discussion` reads what every reader sees alike (so its HTML can be built once
and shared), `load_viewer_marks` reads the few facts about one reader (their own comments,
likes and reports on this article) in one statement.
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import and_, bindparam, case, func, literal, null, or_, select, union_all
from sqlalchemy.orm import aliased, contains_eager

from membership.access import supporter_badges
from membership.extensions import db
from membership.models import (
    Article,
    Comment,
    CommentLike,
    CommentReport,
    CommentStatus,
    User,
)

PAGE_SIZE = 50
MAX_FEATURED = 5
# Built once: an alias made per request costs more than the query it is used in.
AUTHOR = aliased(User, name="author")
PARENT = aliased(Comment, name="parent")
PARENT_AUTHOR = aliased(User, name="parent_author")
SORTS = {
    "oldest": (Comment.created_at.asc(), Comment.id.asc()),
    "newest": (Comment.created_at.desc(), Comment.id.desc()),
    "liked": (Comment.like_count.desc(), Comment.id.asc()),
}


@dataclass
class Discussion:
    """One page of threads with their replies: the same for every reader."""

    threads: list[Comment]
    replies: dict[int, list[Comment]]
    reply_to_names: dict[int, str]
    badges: dict[int, str]
    featured: list[Comment]
    sort: str
    page: int
    has_more: bool
    total: int


@dataclass
class ViewerMarks:
    """What is personal about one reader's view of a discussion (all empty for a visitor)."""

    own_ids: set[int] = field(default_factory=set)
    editable_ids: set[int] = field(default_factory=set)
    liked_ids: set[int] = field(default_factory=set)
    reported_ids: set[int] = field(default_factory=set)
    # The reader's own comments that wait for a moderator: only their author sees them.
    pending: list[tuple[int, str, datetime]] = field(default_factory=list)


def clean_sort(sort: str | None) -> str:
    return sort if sort in SORTS else "oldest"


def _shown():
    """Published comments, and placeholders for hidden ones that were replied to."""
    return or_(Comment.status == CommentStatus.PUBLISHED, Comment.reply_count > 0)


def load_discussion(article: Article, sort: str, page: int) -> Discussion:
    """Threads (50 a page), all their replies, the featured comments and the authors' badges."""
    sort = clean_sort(sort)
    page = max(page, 1)
    author = AUTHOR
    threads = list(
        db.session.scalars(
            select(Comment)
            .outerjoin(author, Comment.author_id == author.id)
            .options(contains_eager(Comment.author.of_type(author)))
            .where(Comment.article_id == article.id, Comment.thread_id.is_(None), _shown())
            .order_by(*SORTS[sort])
            .limit(PAGE_SIZE + 1)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    has_more = len(threads) > PAGE_SIZE
    threads = threads[:PAGE_SIZE]
    thread_ids = [c.id for c in threads]

    replies: dict[int, list[Comment]] = {}
    reply_to_names: dict[int, str] = {}
    featured: list[Comment] = []
    wanted = []
    if thread_ids:
        wanted.append(Comment.thread_id.in_(thread_ids))
    if page == 1:
        # The featured comments come with the replies: one statement for both.
        wanted.append(and_(Comment.article_id == article.id, Comment.featured_at.is_not(None)))
    if wanted:
        parent, parent_author = PARENT, PARENT_AUTHOR
        rows = db.session.execute(
            select(Comment, parent_author.display_name)
            .outerjoin(author, Comment.author_id == author.id)
            .options(contains_eager(Comment.author.of_type(author)))
            .outerjoin(parent, Comment.reply_to_id == parent.id)
            .outerjoin(parent_author, parent.author_id == parent_author.id)
            .where(Comment.status == CommentStatus.PUBLISHED, or_(*wanted))
            .order_by(Comment.created_at.asc(), Comment.id.asc())
        )
        shown_threads = set(thread_ids)
        for comment, parent_name in rows:
            if comment.featured_at is not None and page == 1:
                featured.append(comment)
            if comment.thread_id not in shown_threads:
                continue
            replies.setdefault(comment.thread_id, []).append(comment)
            if comment.reply_to_id != comment.thread_id and parent_name:
                reply_to_names[comment.id] = parent_name
        featured.sort(key=lambda c: c.featured_at, reverse=True)
        featured = featured[:MAX_FEATURED]

    shown = threads + featured + [r for group in replies.values() for r in group]
    badges = supporter_badges({c.author_id for c in shown if c.author_id is not None})
    return Discussion(
        threads=threads,
        replies=replies,
        reply_to_names=reply_to_names,
        badges=badges,
        featured=featured,
        sort=sort,
        page=page,
        has_more=has_more,
        total=article.comment_count,
    )


def page_of(comment: Comment) -> int:
    """The page (oldest first) that shows the comment's thread: where its address leads."""
    thread = comment
    if comment.thread_id is not None:
        thread = db.session.get(Comment, comment.thread_id) or comment
    before = db.session.scalar(
        select(func.count(Comment.id)).where(
            Comment.article_id == comment.article_id,
            Comment.thread_id.is_(None),
            _shown(),
            or_(
                Comment.created_at < thread.created_at,
                and_(Comment.created_at == thread.created_at, Comment.id < thread.id),
            ),
        )
    )
    return before // PAGE_SIZE + 1


def load_viewer_marks(article: Article, viewer_id: int, editable_since: datetime) -> ViewerMarks:
    """The reader's own comments, likes and reports on this article: one statement."""
    marks = ViewerMarks()
    # Core on the session's connection: every signed-in page runs it, and the ORM layer costs
    # more than the query here.
    rows = (
        db.session.connection()
        .execute(_viewer_marks_statement(), {"article_id": article.id, "viewer_id": viewer_id})
        .all()
    )
    for comment_id, kind, created_at, status, body in rows:
        if kind == "like":
            marks.liked_ids.add(comment_id)
        elif kind == "report":
            marks.reported_ids.add(comment_id)
        else:
            marks.own_ids.add(comment_id)
            if created_at >= editable_since:
                marks.editable_ids.add(comment_id)
            if status == CommentStatus.PENDING:
                marks.pending.append((comment_id, body, created_at))
    marks.pending.sort(key=lambda item: item[2])
    return marks


@lru_cache(maxsize=1)
def _viewer_marks_statement():
    """Built once: the union of the reader's own comments, likes and reports on one article."""
    article_id, viewer_id = bindparam("article_id"), bindparam("viewer_id")
    own = select(
        Comment.id,
        literal("own").label("kind"),
        Comment.created_at,
        Comment.status,
        case((Comment.status == CommentStatus.PENDING, Comment.body), else_=null()),
    ).where(
        Comment.article_id == article_id,
        Comment.author_id == viewer_id,
        Comment.status.in_([CommentStatus.PUBLISHED, CommentStatus.PENDING]),
    )
    likes = (
        select(CommentLike.comment_id, literal("like"), null(), null(), null())
        .join(Comment, Comment.id == CommentLike.comment_id)
        .where(CommentLike.user_id == viewer_id, Comment.article_id == article_id)
    )
    reports = (
        select(CommentReport.comment_id, literal("report"), null(), null(), null())
        .join(Comment, Comment.id == CommentReport.comment_id)
        .where(CommentReport.reporter_id == viewer_id, Comment.article_id == article_id)
    )
    return union_all(own, likes, reports)
