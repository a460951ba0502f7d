"""Article queries for the reading pages."""

from sqlalchemy import select

from membership.extensions import db
from membership.models import Article, ArticleStatus, Section, Tag
from membership.models.types import utcnow


def published_articles():
    """A query for the articles readers can see listed, newest first."""
    return (
        select(Article)
        .where(Article.status == ArticleStatus.PUBLISHED, Article.published_at <= utcnow())
        .order_by(Article.published_at.desc(), Article.id.desc())
    )


def sections() -> list[Section]:
    return list(db.session.scalars(select(Section).order_by(Section.position, Section.name)))


def published_in_section(section: Section):
    return published_articles().where(Article.section_id == section.id)


def published_with_tag(tag: Tag):
    return published_articles().where(Article.tags.any(Tag.id == tag.id))
