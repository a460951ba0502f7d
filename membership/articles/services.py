"""Article queries for the reading pages."""

import time
from typing import NamedTuple

from flask import current_app, url_for
from sqlalchemy import select

from membership.cache import kept_in_process, site_version
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


# Kept per process: what every page shows and that changes only with a version.
NAVIGATION_SECONDS = 15


class Link(NamedTuple):
    """A section or tag as the pages link to it."""

    slug: str
    name: str
    url: str = ""


def sections() -> list[Section]:
    return list(db.session.scalars(select(Section).order_by(Section.position, Section.name)))


def navigation_sections() -> list[Link]:
    """The sections in the header of every page, kept per process under the site version.

    Sections change only with the seed command, which bumps the site version;
    `NAVIGATION_SECONDS` bounds how long a change made straight in the database goes unseen.
    """
    kept = current_app.extensions.setdefault("navigation", {"version": None, "at": 0.0})
    version = site_version()
    if kept["version"] != version or time.monotonic() - kept["at"] > NAVIGATION_SECONDS:
        kept["links"] = [
            Link(section.slug, section.name, url_for("articles.section", slug=section.slug))
            for section in sections()
        ]
        kept["version"], kept["at"] = version, time.monotonic()
    return kept["links"]


def tags_of(article: Article) -> list[Link]:
    """The story's tags, kept per process under (article, version, site version): tags change
    only when the story is saved, which bumps its version."""
    version = article.version

    def build() -> list[Link]:
        return [Link(tag.slug, tag.name) for tag in article.tags]

    if not isinstance(version, int):  # a version bump not yet flushed: read it as it is
        return build()
    # The site version too: a re-created database starts its articles' versions again.
    key = (article.id, version, site_version())
    return kept_in_process("article_tags", key, build)


def published_in_section(section: Section):
    return published_articles().where(Article.section_id == section.id)


def published_with_tag(tag: Tag):
    return published_articles().where(Article.tags.any(Tag.id == tag.id))
