"""The discussion under an article, loaded in a fixed number of statements."""

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased, contains_eager

from membership.access import supporter_badges
from membership.extensions import db
from membership.models import Article, Comment, CommentLike, CommentStatus, User

PAGE_SIZE = 50
SORTS = {
    "oldest": (Comment.created_at.asc(), Comment.id.asc()),
    "newest": (Comment.created_at.desc(), Comment.id.desc()),
    "liked": (Comment.like_count.desc(), Comment.id.asc()),
}


@dataclass
class Discussion:
    """One page of threads with their replies and what the viewer needs to see them."""

    threads: list[Comment]
    replies: dict[int, list[Comment]]
    reply_to_names: dict[int, str]
    liked_ids: set[int]
    badges: dict[int, str]
    sort: str
    page: int
    has_more: bool
    total: int


def _shown_to(viewer_id: int | None):
    """Published comments, the viewer's own pending ones, and placeholders for replied-to ones."""
    visible = Comment.status == CommentStatus.PUBLISHED
    placeholder = Comment.reply_count > 0
    if viewer_id is None:
        return or_(visible, placeholder)
    own_pending = (Comment.status == CommentStatus.PENDING) & (Comment.author_id == viewer_id)
    return or_(visible, placeholder, own_pending)


def load_discussion(article: Article, viewer: User | None, sort: str, page: int) -> Discussion:
    """Threads (50 a page), all their replies, the viewer's likes and the authors' badges."""
    sort = sort if sort in SORTS else "oldest"
    page = max(page, 1)
    viewer_id = viewer.id if viewer is not None and viewer.is_authenticated else None
    author = aliased(User)
    threads = list(
        db.session.scalars(
            select(Comment)
            .outerjoin(author, Comment.author_id == author.id)
            .options(contains_eager(Comment.author.of_type(author)))
            .where(
                Comment.article_id == article.id,
                Comment.thread_id.is_(None),
                _shown_to(viewer_id),
            )
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
    if thread_ids:
        parent = aliased(Comment)
        parent_author = aliased(User)
        rows = db.session.execute(
            select(Comment, parent_author.display_name)
            .outerjoin(author, Comment.author_id == author.id)
            .options(contains_eager(Comment.author.of_type(author)))
            .outerjoin(parent, Comment.reply_to_id == parent.id)
            .outerjoin(parent_author, parent.author_id == parent_author.id)
            .where(
                Comment.thread_id.in_(thread_ids),
                Comment.status.in_([CommentStatus.PUBLISHED, CommentStatus.PENDING]),
                or_(
                    Comment.status == CommentStatus.PUBLISHED,
                    Comment.author_id == (viewer_id or -1),
                ),
            )
            .order_by(Comment.created_at.asc(), Comment.id.asc())
        )
        for reply, parent_name in rows:
            replies.setdefault(reply.thread_id, []).append(reply)
            if reply.reply_to_id != reply.thread_id and parent_name:
                reply_to_names[reply.id] = parent_name

    shown = threads + [r for group in replies.values() for r in group]
    liked_ids: set[int] = set()
    if viewer_id is not None and shown:
        liked_ids = set(
            db.session.scalars(
                select(CommentLike.comment_id).where(
                    CommentLike.user_id == viewer_id,
                    CommentLike.comment_id.in_([c.id for c in shown]),
                )
            )
        )
    badges = supporter_badges({c.author_id for c in shown if c.author_id is not None})
    return Discussion(
        threads=threads,
        replies=replies,
        reply_to_names=reply_to_names,
        liked_ids=liked_ids,
        badges=badges,
        sort=sort,
        page=page,
        has_more=has_more,
        total=article.comment_count,
    )
