"""A short-lived cache of the public reading pages, for readers who are not signed in.

A story that is shared is opened by thousands of anonymous readers within minutes; they all get
the same HTML. Each worker keeps the rendered page for `PAGE_CACHE_SECONDS` (default 10 s), so a
new comment reaches anonymous readers within that time; signed-in readers always get a fresh
page, and a worker forgets its copies at once when it handles a write.
"""

import time
from collections import OrderedDict

from flask import Flask, Response, g, request, session

CACHEABLE_ENDPOINTS = {"articles.home", "articles.section", "articles.tag", "articles.article"}
MAX_ENTRIES = 1000


class PageCache:
    """Rendered anonymous pages by URL, oldest evicted first."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.entries: OrderedDict[str, tuple[float, bytes, int, str]] = OrderedDict()

    def get(self, key: str) -> tuple[bytes, int, str] | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        stored_at, body, status, mimetype = entry
        if time.monotonic() - stored_at > self.ttl:
            self.entries.pop(key, None)
            return None
        return body, status, mimetype

    def put(self, key: str, body: bytes, status: int, mimetype: str) -> None:
        self.entries[key] = (time.monotonic(), body, status, mimetype)
        self.entries.move_to_end(key)
        while len(self.entries) > MAX_ENTRIES:
            self.entries.popitem(last=False)

    def clear(self) -> None:
        self.entries.clear()


def _anonymous_read() -> bool:
    """A GET of a public page by a browser with no session at all (no login, no flash)."""
    return (
        request.method == "GET"
        and request.endpoint in CACHEABLE_ENDPOINTS
        and not session
        and not request.cookies.get("remember_token")
    )


def init_app(app: Flask) -> None:
    """Serve and store anonymous reading pages; any write in this worker empties the cache."""
    ttl = float(app.config.get("PAGE_CACHE_SECONDS", 10))
    if ttl <= 0:
        return
    cache = PageCache(ttl)
    app.extensions["page_cache"] = cache

    @app.before_request
    def serve_cached_page():
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            cache.clear()
            return None
        if not _anonymous_read():
            return None
        hit = cache.get(request.full_path)
        if hit is None:
            g.page_cache_key = request.full_path
            return None
        body, status, mimetype = hit
        response = Response(body, status=status, mimetype=mimetype)
        response.headers["X-Page-Cache"] = "hit"
        return response

    @app.after_request
    def store_page(response: Response) -> Response:
        key = g.pop("page_cache_key", None)
        # Only a page that stayed anonymous all the way through (no cookie was set) is shared.
        shareable = (
            key
            and response.status_code == 200
            and not session
            and not response.direct_passthrough
            and "Set-Cookie" not in response.headers
        )
        if shareable:
            cache.put(key, response.get_data(), response.status_code, response.mimetype)
        return response
