"""Sections, tags and articles of the portal."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class AccessLevel(enum.StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"
    PAID = "paid"


article_tags = Table(
    "article_tags",
    db.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "tag_id"),
)


class Section(db.Model):
    """A desk of the newsroom: World, Business, Technology ..."""

    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Tag(db.Model):
    """A topic that cuts across sections."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60))


class Article(db.Model):
    """A story; its body is Markdown rendered to sanitised HTML."""

    __tablename__ = "articles"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        CheckConstraint("access_level IN ('public', 'members', 'paid')", name="access_level"),
        CheckConstraint(
            "comment_policy IS NULL OR comment_policy IN ('everyone', 'paying', 'closed')",
            name="comment_policy",
        ),
        Index(None, "status", "published_at"),
        Index(None, "section_id", "status", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    author_name: Mapped[str] = mapped_column(String(120))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    status: Mapped[str] = mapped_column(String(16), default=ArticleStatus.DRAFT)
    access_level: Mapped[str] = mapped_column(String(16), default=AccessLevel.PUBLIC)
    cover_image_url: Mapped[str | None] = mapped_column(String(500))
    # NULL follows the site-wide comment policy; otherwise everyone / paying / closed.
    comment_policy: Mapped[str | None] = mapped_column(String(16))
    comment_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Cache keys (membership/cache.py): bumped by the write's own transaction, so a committed
    # change of the story or of its discussion makes every worker build a new copy.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    discussion_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    section: Mapped[Section] = relationship(lazy="joined")
    tags: Mapped[list[Tag]] = relationship(secondary=article_tags, order_by=Tag.name)

    @property
    def is_published(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED
