"""Editorial rules: saving, publishing and unpublishing articles."""

import re
import unicodedata
from datetime import UTC, datetime

from sqlalchemy import Select, and_, case, func, select

from membership import audit
from membership.cache import bump_site_version
from membership.extensions import db
from membership.models import Article, ArticleStatus, Tag, User
from membership.models.types import utcnow


class EditorialError(Exception):
    """A change the editorial rules refuse."""


def slugify(text: str, max_length: int = 120) -> str:
    """ASCII, lower-case, hyphen-separated."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "story"


def _unique_slug(wanted: str, article_id: int | None) -> str:
    slug, number = wanted, 2
    while True:
        clash = db.session.scalar(select(Article.id).where(Article.slug == slug))
        if clash is None or clash == article_id:
            return slug
        slug = f"{wanted[:110]}-{number}"
        number += 1


def _tags_from(text: str) -> list[Tag]:
    tags = []
    for name in dict.fromkeys(part.strip() for part in (text or "").split(",")):
        if not name:
            continue
        slug = slugify(name, 60)
        tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
        if tag is None:
            tag = Tag(slug=slug, name=name[:60])
            db.session.add(tag)
        if tag not in tags:
            tags.append(tag)
    return tags


def save_article(article: Article | None, values: dict, editor: User) -> Article:
    """Create or update an article from validated form values; a new one starts as a draft."""
    if article is None:
        article = Article(status=ArticleStatus.DRAFT)  # added once complete: no early autoflush
    wanted = values.get("slug")
    if wanted:
        clash = db.session.scalar(select(Article.id).where(Article.slug == wanted))
        if clash is not None and clash != article.id:
            raise EditorialError("Another article already uses this slug.")
        article.slug = wanted
    elif not article.slug:
        # Made once from the title; later title edits keep the address stable.
        article.slug = _unique_slug(slugify(values["title"]), article.id)
    article.title = values["title"].strip()
    article.summary = values["summary"].strip()
    article.body = values["body"]
    article.author_name = values["author_name"].strip()
    article.section_id = values["section_id"]
    article.cover_image_url = values.get("cover_image_url") or None
    article.access_level = values["access_level"]
    article.comment_policy = values.get("comment_policy") or None
    published_at = values.get("published_at")
    if isinstance(published_at, datetime) and published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=UTC)
    article.published_at = published_at or article.published_at
    article.tags = _tags_from(values.get("tags", ""))
    article.editor_id = editor.id
    _bump_versions(article, listing_changed=article.status == ArticleStatus.PUBLISHED)
    db.session.add(article)
    db.session.flush()
    audit.record(editor, "article.save", article, slug=article.slug)
    return article


def _bump_versions(article: Article, *, listing_changed: bool) -> None:
    """The story's page, and the listings when they change, get new cache keys.

    The article's version rides in its own UPDATE (`version = version + 1`).
    """
    if article.id is not None:
        article.version = Article.version + 1
    if listing_changed:
        bump_site_version()


def publish(article: Article, editor: User) -> None:
    """Publish now, or at the scheduled time already set."""
    article.status = ArticleStatus.PUBLISHED
    if article.published_at is None:
        article.published_at = utcnow()
    article.editor_id = editor.id
    _bump_versions(article, listing_changed=True)
    audit.record(editor, "article.publish", article, published_at=article.published_at.isoformat())


def unpublish(article: Article, editor: User) -> None:
    """Back to draft: the page disappears; comments stay for when it returns."""
    article.status = ArticleStatus.DRAFT
    article.editor_id = editor.id
    _bump_versions(article, listing_changed=True)
    audit.record(editor, "article.unpublish", article)


def _status_conditions(now: datetime) -> dict:
    """The conditions of each status filter but "" (every article)."""
    published = Article.status == ArticleStatus.PUBLISHED
    return {
        "draft": (Article.status == ArticleStatus.DRAFT,),
        "scheduled": (published, Article.published_at > now),
        "published": (published, Article.published_at <= now),
    }


def articles_query(status: str, now: datetime) -> Select:
    """The admin list: newest first; status is "", "draft", "scheduled" or "published"."""
    query = select(Article).where(*_status_conditions(now).get(status, ()))
    newest = func.coalesce(Article.published_at, Article.created_at)
    return query.order_by(newest.desc(), Article.id.desc())


def status_counts(now: datetime) -> dict[str, int]:
    """How many articles each status filter shows, in one query."""
    conditions = _status_conditions(now)
    row = db.session.execute(
        select(
            func.count(Article.id),
            *(func.count(case((and_(*where), 1))) for where in conditions.values()),
        )
    ).one()
    return dict(zip(("", *conditions), (count or 0 for count in row), strict=True))
