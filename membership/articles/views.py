"""Reading the portal: home, sections, tags, article pages, health check."""

from collections.abc import Callable
from functools import lru_cache

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import Select, bindparam, select, text
from sqlalchemy.exc import SQLAlchemyError

from membership.access import may_read
from membership.articles import services
from membership.articles.rendering import render_markdown
from membership.cache import (
    cached_fragment,
    fresh_seconds,
    kept_in_process,
    remember_site_version,
    site_version,
    site_version_column,
)
from membership.comments.discussion import discussion_markup, remember_viewer_marks
from membership.comments.queries import marks_from_columns, viewer_marks_columns
from membership.comments.services import EDIT_WINDOW
from membership.extensions import db
from membership.models import Article, ArticleStatus, Section, Tag, User
from membership.models.types import utcnow
from membership.urls import page_number

bp = Blueprint("articles", __name__)


@bp.app_context_processor
def navigation() -> dict:
    """Sections for the header on every page."""
    return {"nav_sections": services.navigation_sections}


@bp.before_request
def load_reader_first() -> None:
    """Load the signed-in reader before anything else: the session loader reads the site
    version in its own statement, which spares the listing and the navigation a query."""
    current_user.is_authenticated  # noqa: B018  (evaluated for its side effect)


def _listing(query: Callable[[], Select], **context) -> Markup:
    """A listing's content, the same for every reader: cached under the site version, which
    every publication, unpublication or edit of a listed story bumps. `query` builds the
    statement, only when the listing is rendered."""
    number = page_number()
    view_args = tuple(sorted((request.view_args or {}).items()))

    def build() -> str:
        page = db.paginate(
            query(),
            page=number,
            per_page=current_app.config["ARTICLES_PER_PAGE"],
            error_out=False,
        )
        return render_template("articles/_listing.html", page=page, **context)

    key = ("listing", request.endpoint, view_args, number, site_version())
    html = cached_fragment(key, build, fresh_seconds())
    return Markup(html)  # noqa: S704  (rendered by Jinja with autoescaping)


@bp.route("/")
def home():
    """The latest stories, paginated."""
    listing = _listing(services.published_articles)
    return render_template("articles/list.html", listing_html=listing)


@bp.route("/section/<slug>")
def section(slug: str):
    """The latest stories of one section."""
    found = db.first_or_404(select(Section).where(Section.slug == slug))
    listing = _listing(
        lambda: services.published_in_section(found), heading=found.name, intro=found
    )
    return render_template("articles/list.html", listing_html=listing, heading=found.name)


@bp.route("/tag/<slug>")
def tag(slug: str):
    """The latest stories with one tag."""
    found = db.first_or_404(select(Tag).where(Tag.slug == slug))
    heading = f"Tagged: {found.name}"
    listing = _listing(lambda: services.published_with_tag(found), heading=heading)
    return render_template("articles/list.html", listing_html=listing, heading=heading)


@bp.route("/articles/<slug>")
def article(slug: str):
    """One story and its discussion; readers without access see the summary and an invitation."""
    if current_user.is_authenticated:
        return render_article(published_article_with_marks_or_404(slug, current_user))
    return render_article(published_article_or_404(slug))


@lru_cache(maxsize=1)
def _published_article_statement():
    """Built once: every article page runs it."""
    return select(Article, site_version_column()).where(
        Article.slug == bindparam("slug"),
        Article.status == ArticleStatus.PUBLISHED,
        Article.published_at <= bindparam("now"),
    )


def published_article_or_404(slug: str) -> Article:
    """The published story (with its section), and the site version in the same statement."""
    row = db.session.execute(
        _published_article_statement(), {"slug": slug, "now": utcnow()}
    ).first()
    if row is None:
        abort(404)
    found, site = row
    remember_site_version(site)
    return found


@lru_cache(maxsize=1)
def _published_article_with_marks_statement():
    """Built once: a signed-in reader's article page, with their marks on its discussion."""
    return _published_article_statement().add_columns(*viewer_marks_columns())


def published_article_with_marks_or_404(slug: str, viewer: User) -> Article:
    """`published_article_or_404` and the reader's marks on its discussion, in one statement."""
    row = db.session.execute(
        _published_article_with_marks_statement(),
        {
            "slug": slug,
            "now": utcnow(),
            "viewer_id": viewer.id,
            "editable_since": utcnow() - EDIT_WINDOW,
        },
    ).first()
    if row is None:
        abort(404)
    found, site, *marks = row
    remember_site_version(site)
    read = marks_from_columns(*marks)
    if read is not None:
        remember_viewer_marks(found, viewer, read)
    return found


def render_article(
    found: Article,
    status: int = 200,
    *,
    comment_form=None,
    comment_error: str | None = None,
    preview: bool = False,
):
    """The article page; the comment views reuse it to show a refused or invalid comment."""
    viewer = current_user if current_user.is_authenticated else None
    readable = may_read(viewer, found)
    discussion = discussion_markup(
        found,
        viewer,
        request.args.get("sort", "oldest"),
        page_number("cpage"),
        comment_form=comment_form,
        comment_error=comment_error,
        reply_to=request.args.get("reply_to", type=int),
    )
    page = render_template(
        "articles/article.html",
        article=found,
        story_html=story_html(found, readable, signed_in=viewer is not None),
        discussion_html=discussion,
        preview=preview,
    )
    return page, status


STORIES_KEPT = 256


def story_html(found: Article, readable: bool, *, signed_in: bool) -> Markup:
    """The story (headline, byline, tags, body or invitation), kept per process under its
    version and the site version: every edit, publication or section change gives a new key."""

    def build() -> Markup:
        return Markup(  # noqa: S704  (rendered by Jinja with autoescaping)
            render_template(
                "articles/_story.html",
                article=found,
                tags=services.tags_of(found),
                body=render_markdown(found.body) if readable else None,
                readable=readable,
            )
        )

    version = found.version
    if not isinstance(version, int):  # a version bump not yet flushed (a preview)
        return build()
    key = (found.id, version, site_version(), readable, signed_in)
    return kept_in_process("stories", key, build, STORIES_KEPT)


@bp.route("/healthz")
def healthz():
    """200 when the database answers, 503 when it does not; with the job queue's depth and the
    age of its oldest pending job, for a monitor to alert on (a stuck worker)."""
    from membership.jobs.records import queue_stats

    jobs = queue_stats().as_dict()
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable")
        return {"status": "error", "database": "unreachable", "jobs": jobs}, 503
    return {"status": "ok", "database": "ok", "jobs": jobs}
