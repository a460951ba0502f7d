"""The discussion under an article, loaded in a fixed number of statements.

Two halves: `load_discussion` reads what every reader sees alike (so its HTML can be built once
and shared), `load_viewer_marks` reads the few facts about one reader (their own comments,
likes and reports on this article) in one statement.
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import (
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from membership.access import paying_condition, sponsor_condition
from membership.extensions import db
from membership.models import (
    Article,
    Comment,
    CommentLike,
    CommentReport,
    CommentStatus,
    User,
)
from membership.models.types import UTCDateTime, utcnow

PAGE_SIZE = 50
MAX_FEATURED = 5
# Built once: an alias made per request costs more than the query it is used in.
PARENT = aliased(Comment, name="parent")
PARENT_AUTHOR = aliased(User, name="parent_author")
# What a row of `discussion_rows` is for.
THREAD, REPLY, FEATURED = 0, 1, 2
SORTS = {
    "oldest": (Comment.created_at.asc(), Comment.id.asc()),
    "newest": (Comment.created_at.desc(), Comment.id.desc()),
    "liked": (Comment.like_count.desc(), Comment.id.asc()),
}


@dataclass
class Discussion:
    """One page of threads with their replies: the same for every reader.

    Comments are rows of `discussion_rows` (plain result rows, not ORM objects: a page holds
    hundreds, and it is rebuilt after every write).
    """

    threads: list[Row]
    replies: dict[int, list[Row]]
    featured: list[Row]
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


def discussion_rows(kind: int, now: datetime, *where) -> Select:
    """The columns the shared discussion shows, for the comments matching `where`.

    Author, badges (as of `now`) and the name of the comment answered come in the same row;
    `kind` says which part of the page a row is for (THREAD, REPLY, FEATURED). The edit time,
    which the page only tests, comes as a boolean.
    """
    parent, parent_author = PARENT, PARENT_AUTHOR
    return (
        select(
            literal_column(str(int(kind))).label("kind"),
            # Labelled: SQLite matches the ORDER BY of a UNION only to named result columns.
            Comment.id.label("id"),
            Comment.author_id,
            Comment.thread_id,
            Comment.status,
            Comment.created_at.label("created_at"),
            Comment.featured_at,
            Comment.edited_at.is_not(None).label("edited"),
            Comment.body,
            Comment.like_count,
            User.display_name.label("author_name"),
            User.role.label("author_role"),
            paying_condition(now).label("paying"),
            sponsor_condition(now).label("sponsor"),
            case((Comment.reply_to_id != Comment.thread_id, parent_author.display_name)).label(
                "reply_to_name"
            ),
        )
        .outerjoin(User, Comment.author_id == User.id)
        .outerjoin(parent, Comment.reply_to_id == parent.id)
        .outerjoin(parent_author, parent.author_id == parent_author.id)
        .where(*where)
    )


@lru_cache(maxsize=16)
def _discussion_statement(sort: str, first_page: bool, now: datetime) -> Select:
    """The statement of `load_discussion`, built once per sort, page kind and minute.

    Building this construct costs about as much as running it, so it is kept; the article and
    the offset are parameters. `now` (for the badges) is taken to the minute: a badge that
    starts or ends shows a minute late, well within how long the HTML is cached anyway.
    """
    article_id = bindparam("article_id", type_=Integer)
    thread_page = (
        select(Comment.id)
        .where(Comment.article_id == article_id, Comment.thread_id.is_(None), _shown())
        .order_by(*SORTS[sort])
        .limit(PAGE_SIZE + 1)
        .offset(bindparam("offset", type_=Integer))
        .cte("thread_page")
    )
    on_page = select(thread_page.c.id)
    parts = [
        discussion_rows(THREAD, now, Comment.id.in_(on_page)),
        discussion_rows(
            REPLY, now, Comment.thread_id.in_(on_page), Comment.status == CommentStatus.PUBLISHED
        ),
    ]
    if first_page:
        parts.append(
            discussion_rows(
                FEATURED,
                now,
                Comment.article_id == article_id,
                Comment.featured_at.is_not(None),
                Comment.status == CommentStatus.PUBLISHED,
            )
        )
    everything = union_all(*parts)
    columns = everything.selected_columns
    return everything.order_by(columns.kind, columns.created_at, columns.id)


def _this_minute() -> datetime:
    return utcnow().replace(second=0, microsecond=0)


def load_discussion(article: Article, sort: str, page: int) -> Discussion:
    """Threads (50 a page), all their replies, the featured comments: one statement.

    The page's threads are a CTE (sorted, LIMIT 51 to learn whether there is a next page); a
    UNION ALL then reads those threads, their published replies and, on the first page, the
    featured comments, each part by its own index. Rows, not ORM objects: a page holds
    hundreds of comments, and it is rebuilt after every write.
    """
    sort = clean_sort(sort)
    page = max(page, 1)
    statement = _discussion_statement(sort, page == 1, _this_minute())
    rows = (
        db.session.connection()
        .execute(statement, {"article_id": article.id, "offset": (page - 1) * PAGE_SIZE})
        .all()
    )

    threads: list[Row] = []
    replies: dict[int, list[Row]] = {}
    featured: list[Row] = []
    for row in rows:
        if row.kind == REPLY:
            replies.setdefault(row.thread_id, []).append(row)
        elif row.kind == THREAD:
            threads.append(row)
        else:
            featured.append(row)
    # The rows come oldest first; the SQL sorts of the other two, in Python.
    if sort == "newest":
        threads.reverse()
    elif sort == "liked":
        threads.sort(key=lambda row: (-row.like_count, row.id))
    has_more = len(threads) > PAGE_SIZE
    threads = threads[:PAGE_SIZE]
    featured.sort(key=lambda row: row.featured_at, reverse=True)
    return Discussion(
        threads=threads,
        replies=replies,
        featured=featured[:MAX_FEATURED],
        sort=sort,
        page=page,
        has_more=has_more,
        total=article.comment_count,
    )


def load_comment_row(comment_id: int) -> Row | None:
    """One comment as the shared discussion shows it (for an in-place answer)."""
    statement = discussion_rows(THREAD, _this_minute(), Comment.id == comment_id)
    return db.session.connection().execute(statement).first()


@lru_cache(maxsize=1)
def _threads_before_statement() -> Select:
    """Built once (a comment POST runs it): shown threads before a given one, oldest first."""
    created_at = bindparam("created_at", type_=UTCDateTime)
    thread_id = bindparam("thread_id", type_=Integer)
    return select(func.count(Comment.id)).where(
        Comment.article_id == bindparam("article_id", type_=Integer),
        Comment.thread_id.is_(None),
        _shown(),
        or_(
            Comment.created_at < created_at,
            and_(Comment.created_at == created_at, Comment.id < thread_id),
        ),
    )


def page_of(comment: Comment) -> int:
    """The page (oldest first) that shows the comment's thread: where its address leads."""
    thread = comment
    if comment.thread_id is not None:
        thread = db.session.get(Comment, comment.thread_id) or comment
    before = db.session.scalar(
        _threads_before_statement(),
        {"article_id": comment.article_id, "created_at": thread.created_at, "thread_id": thread.id},
    )
    return before // PAGE_SIZE + 1


def viewer_marks_columns() -> list:
    """The reader's marks on the article selected in the same statement, as correlated scalar
    subqueries (ids as comma-separated text), so that an article page reads them with its
    article instead of in a round trip of their own. Bind parameters: `viewer_id` and
    `editable_since`. `marks_from_columns` turns a row's values back into `ViewerMarks`."""
    viewer_id = bindparam("viewer_id")
    since = bindparam("editable_since", type_=Comment.__table__.c.created_at.type)

    def ids(column, *conditions):
        """The values of `column` (a comment's id) as text, for this article's comments."""
        query = select(func.aggregate_strings(cast(column, String), ","))
        if column is not Comment.id:  # a like or report row: reach its comment
            query = query.join(Comment, Comment.id == column)
        return query.where(Comment.article_id == Article.id, *conditions).scalar_subquery()

    own = (
        Comment.author_id == viewer_id,
        Comment.status.in_([CommentStatus.PUBLISHED, CommentStatus.PENDING]),
    )
    pending = (
        select(func.count(Comment.id))
        .where(Comment.article_id == Article.id, *own, Comment.status == CommentStatus.PENDING)
        .scalar_subquery()
    )
    return [
        ids(Comment.id, *own).label("own_ids"),
        ids(Comment.id, *own, Comment.created_at >= since).label("editable_ids"),
        ids(CommentLike.comment_id, CommentLike.user_id == viewer_id).label("liked_ids"),
        ids(CommentReport.comment_id, CommentReport.reporter_id == viewer_id).label("reported_ids"),
        pending.label("pending_count"),
    ]


def marks_from_columns(own, editable, liked, reported, pending_count) -> ViewerMarks | None:
    """`ViewerMarks` from the values of `viewer_marks_columns`; None when the reader has
    comments waiting for a moderator (their text is shown to them: `load_viewer_marks`)."""
    if pending_count:
        return None

    def parsed(text: str | None) -> set[int]:
        return {int(part) for part in text.split(",")} if text else set()

    return ViewerMarks(
        own_ids=parsed(own),
        editable_ids=parsed(editable),
        liked_ids=parsed(liked),
        reported_ids=parsed(reported),
    )


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
