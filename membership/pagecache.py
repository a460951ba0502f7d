"""Anonymous reading pages from the shared cache, with ETags and public Cache-Control.

A story that is shared is opened by thousands of anonymous readers within minutes; they all get
the same HTML. Before the view runs, one small query reads the versions the page depends on
(the article's `version` and `discussion_version` and the site version for an article page;
the site version for home, section and tag listings). From them come:

- the ETag, so that a matching `If-None-Match` is answered 304 without rendering anything;
- the key of the page in the shared cache (membership/cache.py), so that a committed write,
  which bumps a version, reaches every worker and instance at once.

Only requests with no session cookie are served this way; anything personal (signed in, a flash
message, a form's CSRF token in the session) is rendered for its reader and marked no-store in
membership/web.py.
"""

import hashlib
import time
from functools import lru_cache

from flask import Flask, Response, current_app, g, request, session
from sqlalchemy import bindparam, select

from membership import cache as shared
from membership.comments.queries import SORTS
from membership.extensions import db
from membership.models import Article, ArticleStatus
from membership.models.types import utcnow
from membership.urls import MAX_PAGE

CACHEABLE_ENDPOINTS = {"articles.home", "articles.section", "articles.tag", "articles.article"}
# Pages with other query parameters, or other spellings of these, are still answered (and get
# an ETag) but never stored, so that made-up query strings cannot fill the cache.
STORED_PARAMETERS = {"sort", "cpage", "page"}


def _anonymous_read() -> bool:
    """A GET of a public page by a browser with no session at all (no login, no flash)."""
    return (
        request.method in ("GET", "HEAD")
        and request.endpoint in CACHEABLE_ENDPOINTS
        and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
        and not request.cookies.get("remember_token")
        and not session
    )


def _canonical_query() -> bool:
    """Whether the query string is spelled as the pages link to it: each of `STORED_PARAMETERS`
    at most once, a known sort, a page number without leading zeros. Other spellings of the
    same page ("page=x1", "page=x2" ...) would each be stored and could fill the cache."""
    for name, values in request.args.lists():
        if name not in STORED_PARAMETERS or len(values) != 1:
            return False
        if not (_known_sort(values[0]) if name == "sort" else _page_number(values[0])):
            return False
    return True


def _known_sort(value: str) -> bool:
    return value in SORTS


def _page_number(value: str) -> bool:
    """1 to MAX_PAGE, written plainly (no sign, no leading zero, ASCII digits only)."""
    if not (value.isascii() and value.isdigit()) or str(int(value)) != value:
        return False
    return 1 <= int(value) <= MAX_PAGE


@lru_cache(maxsize=1)
def _article_versions_statement():
    """Built once: this runs on every anonymous article request, hits included."""
    return select(
        Article.id,
        Article.version,
        Article.discussion_version,
        shared.site_version_column(),
    ).where(
        Article.slug == bindparam("slug"),
        Article.status == ArticleStatus.PUBLISHED,
        Article.published_at <= bindparam("now"),
    )


def page_versions() -> tuple | None:
    """The versions this page depends on, in one query; None when the view will answer 404."""
    if request.endpoint != "articles.article":
        return ("site", shared.site_version())
    slug = (request.view_args or {}).get("slug")
    # Core on the session's connection: the ORM layer costs more than the query itself here.
    row = (
        db.session.connection()
        .execute(_article_versions_statement(), {"slug": slug, "now": utcnow()})
        .first()
    )
    if row is None:
        return None
    article_id, version, discussion_version, site = row
    g.site_version = site or 0
    return ("article", article_id, version, discussion_version, g.site_version)


def _etag(versions: tuple) -> str:
    # The time bucket lets what no version covers (a scheduled story appearing) reach readers
    # who revalidate, within PAGE_CACHE_SECONDS.
    bucket = int(time.time() // max(shared.fresh_seconds(), 1))
    raw = repr((request.full_path, versions, bucket)).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def _public_headers(response: Response, etag: str) -> Response:
    config = current_app.config
    response.set_etag(etag)
    response.headers["Cache-Control"] = (
        f"public, max-age={config['HTTP_CACHE_MAX_AGE']}, "
        f"stale-while-revalidate={config['HTTP_STALE_WHILE_REVALIDATE']}"
    )
    response.vary.add("Cookie")
    return response


def _cached_response(entry: tuple, state: str) -> Response:
    body, mimetype = entry
    response = Response(body, status=200, mimetype=mimetype)
    response.headers["X-Page-Cache"] = state
    return _public_headers(response, g.page_etag)


def init_app(app: Flask) -> None:
    """Answer anonymous reading pages from the shared cache (or 304), and store what renders."""

    @app.before_request
    def read_without_a_transaction() -> None:
        """Reading pages only read (the session's activity stamp is one UPDATE): their
        statements run in autocommit, which spares PostgreSQL a BEGIN and a ROLLBACK, two of
        the page's round trips. Each statement still sees every committed write (READ
        COMMITTED takes a snapshot per statement anyway)."""
        if request.method in ("GET", "HEAD") and request.endpoint in CACHEABLE_ENDPOINTS:
            db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    @app.before_request
    def serve_cached_page():
        if not shared.enabled() or not _anonymous_read():
            return None
        versions = page_versions()
        if versions is None:
            return None
        g.page_etag = _etag(versions)
        if request.if_none_match.contains_weak(g.page_etag):
            return _public_headers(Response(status=304), g.page_etag)
        if not _canonical_query():
            return None
        key = shared.make_key("page", request.full_path, versions)
        entry, fresh = shared.lookup(key)
        if entry is not None and fresh:
            return _cached_response(entry, "hit")
        if shared.claim(key):
            g.page_cache_key = key
            g.page_cache_lock = key
            return None
        if entry is not None:
            return _cached_response(entry, "stale")  # another worker is refreshing it
        entry = shared.wait_for(key)
        if entry is not None:
            return _cached_response(entry, "hit")
        g.page_cache_key = key
        return None

    @app.after_request
    def store_page(response: Response) -> Response:
        key = g.pop("page_cache_key", None)
        lock = g.pop("page_cache_lock", None)
        etag = g.pop("page_etag", None)
        # Only a page that stayed anonymous all the way through (no cookie set) is shared.
        shareable = (
            etag is not None
            and response.status_code == 200
            and not session
            and not session.modified
            and not response.direct_passthrough
            and "Set-Cookie" not in response.headers
        )
        if shareable and "X-Page-Cache" not in response.headers:
            if key is not None:
                shared.store(key, (response.get_data(), response.mimetype), shared.fresh_seconds())
            _public_headers(response, etag)
        if lock is not None:
            shared.release(lock)
        return response
