"""Reading rules and article queries."""

from sqlalchemy import select

from membership.extensions import db
from membership.models import AccessLevel, Article, ArticleStatus, Section, Tag, User
from membership.models.types import utcnow


def may_read(user: User | None, article: Article) -> bool:
    """The one answer to "may this user read this article's body?"."""
    if article.access_level == AccessLevel.PUBLIC:
        return True
    if user is None or not user.is_authenticated:
        return False
    if article.access_level == AccessLevel.MEMBERS:
        return True
    # Paid access arrives with billing; until then only staff read paid stories.
    return user.is_staff


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
