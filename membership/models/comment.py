"""Comments under articles, their likes and their reports."""

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow
from membership.models.user import User


class CommentStatus(enum.StrEnum):
    PUBLISHED = "published"
    PENDING = "pending"  # hidden after too many reports, until a moderator decides
    REMOVED = "removed"  # removed by a moderator
    DELETED = "deleted"  # deleted by its author


class ReportReason(enum.StrEnum):
    SPAM = "spam"
    ABUSE = "abuse"
    OFF_TOPIC = "off-topic"
    OTHER = "other"


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class Comment(db.Model):
    """A reader's comment; replies hang one level deep under a top-level comment (`thread_id`)."""

    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint("status IN ('published', 'pending', 'removed', 'deleted')", name="status"),
        UniqueConstraint("author_id", "submission_id"),
        Index(None, "article_id", "thread_id", "created_at"),
        Index(None, "article_id", "thread_id", "like_count"),
        Index(None, "thread_id", "created_at"),
        Index(None, "author_id", "created_at"),
        Index(None, "created_at"),  # the dashboard's "comments today"
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The top-level comment of the thread (NULL for a top-level comment itself).
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    # The comment actually answered, for the "in reply to" mention of deeper replies.
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=CommentStatus.PUBLISHED)
    submission_id: Mapped[str | None] = mapped_column(String(64))
    like_count: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    open_report_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by a moderator: the comment is also shown first, under "Featured" (as Coral does).
    featured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship(lazy="raise")
    reply_to: Mapped["Comment | None"] = relationship(
        remote_side=[id], foreign_keys=[reply_to_id], lazy="raise"
    )

    @property
    def is_visible(self) -> bool:
        return self.status == CommentStatus.PUBLISHED

    @property
    def is_featured(self) -> bool:
        return self.featured_at is not None


class CommentLike(db.Model):
    """One reader's like of one comment."""

    __tablename__ = "comment_likes"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentReport(db.Model):
    """A reader's report of a comment, waiting for a moderator."""

    __tablename__ = "comment_reports"
    __table_args__ = (
        UniqueConstraint("comment_id", "reporter_id"),
        CheckConstraint("reason IN ('spam', 'abuse', 'off-topic', 'other')", name="reason"),
        CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status"),
        Index(None, "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
