"""One cache shared by every worker and instance, keyed by versions kept in database rows.

Cached HTML is never invalidated by a message: its key includes the versions the page depends
on (`articles.version`, `articles.discussion_version`, the "site" row of `cache_versions`), and
every write bumps them with one `UPDATE ... SET v = v + 1` in its own transaction. Once the
write commits, every worker computes a new key, so nobody is served the old copy.

Entries also carry a "fresh until" time (`PAGE_CACHE_SECONDS`) for what no version covers
(scheduled publication, comments closing automatically, supporter badges, display names). An
expired entry is rebuilt by one worker, which takes a short lock (Redis SETNX, or a lock file
created with O_EXCL beside the file cache); the others keep serving the expired copy
meanwhile (it is still right for the current versions), so an expiry never makes every worker
render at once.

The cache fails open: when Redis is unreachable, the error is logged, the site renders from
the database, and the cache is left alone for `OUTAGE_BACKOFF` seconds so that each request
does not wait for a dead server.
"""

import contextlib
import hashlib
import logging
import os
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache
from pathlib import Path
from typing import Any

from cachelib import FileSystemCache
from flask import current_app, g, has_app_context
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from membership.extensions import cache, db
from membership.models import Article, CacheVersion, Comment

log = logging.getLogger(__name__)

SITE = "site"
LOCK_SECONDS = 10  # a rebuild holds its lock at most this long (a crashed worker's lock expires)
WAIT_SECONDS = 1.0  # how long a request waits for another worker's first copy before building
WAIT_STEP = 0.005  # a rebuild takes a few ms: a waiting worker should not sleep much longer
STALE_FACTOR = 10  # an expired entry stays servable (while one worker rebuilds) this many times
OUTAGE_BACKOFF = 5.0

_outage_until = 0.0


def enabled() -> bool:
    """Whether pages and fragments are cached (`PAGE_CACHE_SECONDS` 0 turns both off)."""
    return float(current_app.config.get("PAGE_CACHE_SECONDS") or 0) > 0


def fresh_seconds() -> int:
    """How long a cached page or fragment stays fresh (`PAGE_CACHE_SECONDS`)."""
    return int(current_app.config.get("PAGE_CACHE_SECONDS") or 0)


def make_key(*parts: Hashable) -> str:
    """A short key: the first part in clear (for reading `redis-cli`), the rest hashed."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:40]
    return f"{parts[0]}:{digest}"


def _call(method: str, *args: Any, default: Any) -> Any:
    """Call the cache; on any error log it, remember the outage briefly and return `default`."""
    global _outage_until
    if time.monotonic() < _outage_until:
        return default
    try:
        return getattr(cache, method)(*args)
    except Exception as error:
        _outage_until = time.monotonic() + OUTAGE_BACKOFF
        log.warning(
            "shared cache unavailable, serving without it for %ss: %r", OUTAGE_BACKOFF, error
        )
        return default


def lookup(key: str) -> tuple[Any, bool]:
    """(value, fresh) for a key; (None, False) when absent or unreadable.

    A fresh entry this process read or stored lately is answered from its own memory: the key
    holds every version the value depends on, so a copy can only be as old as its "fresh
    until", exactly like the shared one; it spares the busiest pages a Redis round trip (or a
    file read) and the unpickling of a large page.
    """
    entry = _local_get(key)
    if entry is None:
        entry = _call("get", key, default=None)
        if not isinstance(entry, tuple) or len(entry) != 2:
            return None, False
        _local_put(key, entry)
    fresh_until, value = entry
    return value, time.time() < fresh_until


def store(key: str, value: Any, timeout: int) -> None:
    """Keep `value` fresh for `timeout` seconds, and servable while a rebuild runs after that."""
    entry = (time.time() + timeout, value)
    _local_put(key, entry)
    _call("set", key, entry, timeout * STALE_FACTOR, default=False)


# --- this process's copies of fresh entries ------------------------------------------------

LOCAL_BYTES = 24 * 1024 * 1024  # per process: a discussion page is about 100 to 300 kB


class _LocalCopies:
    """Fresh entries, least recently used first, within `LOCAL_BYTES` of text.

    Not locked: gunicorn's sync workers serve one request at a time; under a threaded server a
    race can only misjudge the total size a little.
    """

    def __init__(self) -> None:
        self.entries: OrderedDict[str, tuple[float, Any, int]] = OrderedDict()
        self.size = 0

    def get(self, key: str) -> tuple[float, Any] | None:
        entry = self.entries.get(key)
        if entry is None or time.time() >= entry[0]:
            return None
        with contextlib.suppress(KeyError):  # another thread may have evicted it meanwhile
            self.entries.move_to_end(key)
        return entry[0], entry[1]

    def put(self, key: str, fresh_until: float, value: Any) -> None:
        size = _size_of(value)
        if time.time() >= fresh_until or size > LOCAL_BYTES // 8:
            return
        self.discard(key)
        self.entries[key] = (fresh_until, value, size)
        self.size += size
        while self.size > LOCAL_BYTES and self.entries:
            self.discard(next(iter(self.entries)))

    def discard(self, key: str) -> None:
        with contextlib.suppress(KeyError):
            self.size -= self.entries.pop(key)[2]

    def clear(self) -> None:
        self.entries.clear()
        self.size = 0


def _size_of(value: Any) -> int:
    """About how much memory a cached value holds: its text (a page is stored as (body, type))."""
    if isinstance(value, tuple):
        return sum(_size_of(part) for part in value)
    return len(value) if isinstance(value, str | bytes) else 64


def _local_copies() -> _LocalCopies:
    """This app's copies (one app per process in production; tests make many)."""
    return current_app.extensions.setdefault("cache_local_copies", _LocalCopies())


def _local_get(key: str) -> tuple[float, Any] | None:
    """This process's copy of an entry, only while it is fresh (then the shared one decides)."""
    return _local_copies().get(key)


def _local_put(key: str, entry: tuple[float, Any]) -> None:
    _local_copies().put(key, *entry)


def forget_local_copies() -> None:
    """Drop this process's copies (tests that change the shared cache behind its back)."""
    _local_copies().clear()


def claim(key: str) -> bool:
    """Take the rebuild lock for a key; True also when the cache is down.

    Redis's `add` (SET NX) is atomic. The file cache's `add` checks, then writes, so two
    processes could both win: its locks are files created with O_EXCL instead.
    """
    directory = _lock_directory()
    if directory is None:
        lock = f"lock:{key}"
        if _call("add", lock, time.time(), LOCK_SECONDS, default=True):
            return True
        # cachelib's Redis `add` is SETNX then EXPIRE: a worker killed between the two leaves a
        # lock without expiry. A lock older than LOCK_SECONDS is such a leftover: take it over.
        taken_at = _call("get", lock, default=None)
        if isinstance(taken_at, float) and time.time() - taken_at < LOCK_SECONDS:
            return False
        _call("delete", lock, default=False)
        return bool(_call("add", lock, time.time(), LOCK_SECONDS, default=True))
    path = directory / hashlib.sha256(key.encode()).hexdigest()
    for _attempt in range(2):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return True
        except FileExistsError:
            try:
                if time.time() - path.stat().st_mtime < LOCK_SECONDS:
                    return False
                path.unlink()  # left by a worker that died while rebuilding
            except FileNotFoundError:
                pass
        except OSError as error:
            log.warning("cache lock unavailable: %r", error)
            return True
    return False


def release(key: str) -> None:
    """Give up the rebuild lock taken by `claim`."""
    directory = _lock_directory()
    if directory is None:
        _call("delete", f"lock:{key}", default=False)
        return
    with contextlib.suppress(OSError):
        (directory / hashlib.sha256(key.encode()).hexdigest()).unlink()


def _lock_directory() -> Path | None:
    """Where the file cache keeps its rebuild locks (beside its entries); None for Redis."""
    if not isinstance(cache.cache, FileSystemCache):
        return None
    directory = Path(current_app.config["CACHE_DIR"] + "-locks")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def wait_for(key: str) -> Any:
    """Another worker is building the first copy: wait briefly for it; None if it is late."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(WAIT_STEP)
        value, _fresh = lookup(key)
        if value is not None:
            return value
    return None


def cached_fragment(key_parts: tuple, build: Callable[[], str], timeout: int) -> str:
    """The cached HTML for `key_parts`, built by `build()` on one worker when missing or expired.

    `key_parts` must include every version the HTML depends on.
    """
    if timeout <= 0 or not enabled():
        return build()
    key = make_key("fragment", *key_parts)
    value, fresh = lookup(key)
    if value is not None and fresh:
        return value
    if claim(key):
        try:
            value = build()
            store(key, value, timeout)
            return value
        finally:
            release(key)
    if value is not None:
        return value  # expired, but right for these versions: serve it while the lock holder works
    value = wait_for(key)
    if value is None:
        value = build()  # the lock holder is late (or died): build, and keep the result
        store(key, value, timeout)
    return value


def kept_in_process(name: str, key: Hashable, build: Callable[[], Any], limit: int = 1024) -> Any:
    """A value built once per process under `key` and kept in the app (`name` is the store).

    `key` must hold every version the value depends on, as for the shared cache: then a write
    reaches every process at once, and nothing needs deleting. The store is emptied when it
    reaches `limit` entries, which keeps it small without bookkeeping.
    """
    kept: dict = current_app.extensions.setdefault(name, {})
    value = kept.get(key)
    if value is None:
        value = build()
        if len(kept) >= limit:
            kept.clear()
        kept[key] = value
    return value


# --- versions -----------------------------------------------------------------------------


def site_version() -> int:
    """The site-wide version (settings, tiers, listings), read at most once per request."""
    if has_app_context() and "site_version" in g:
        return g.site_version
    version = db.session.connection().execute(_site_version_statement()).scalar() or 0
    if has_app_context():
        g.site_version = version
    return version


def remember_site_version(version: int | None) -> None:
    """Keep a site version read along with another row (the session, the article) for the
    rest of the request, so that `site_version` costs no statement of its own."""
    if has_app_context() and "site_version" not in g:
        g.site_version = version or 0


@lru_cache(maxsize=1)
def _site_version_statement():
    return select(CacheVersion.version).where(CacheVersion.name == SITE)


def site_version_column():
    """The site version as a scalar subquery, to read it in the same statement as a page's row."""
    return _site_version_statement().scalar_subquery()


def _increment_site_version() -> int:
    """Add one to the site version's row; the number of rows changed (0 when there is none)."""
    return db.session.execute(
        update(CacheVersion)
        .where(CacheVersion.name == SITE)
        .values(version=CacheVersion.version + 1)
    ).rowcount


def bump_site_version() -> None:
    """A setting, a tier or a listed article changed: every page gets a new key at commit."""
    if not _increment_site_version():
        # No row yet (a database built with create_all): start from a random number, so that
        # the keys of a re-created database never meet the copies cached for the previous one.
        try:
            with db.session.begin_nested():
                db.session.add(CacheVersion(name=SITE, version=random.randrange(1, 2**30)))
        except IntegrityError:
            _increment_site_version()
    if has_app_context():
        g.pop("site_version", None)


def bump_discussion(*article_ids: int) -> None:
    """The discussion under these articles changed (a comment posted, edited, liked ...)."""
    ids = sorted({article_id for article_id in article_ids if article_id is not None})
    if ids:
        db.session.execute(
            update(Article)
            .where(Article.id.in_(ids))
            .values(discussion_version=Article.discussion_version + 1)
            .execution_options(synchronize_session=False)
        )


def bump_discussions_of_author(user_id: int) -> None:
    """A commenter's public name changed: every discussion they wrote in shows it."""
    db.session.execute(
        update(Article)
        .where(Article.id.in_(select(Comment.article_id).where(Comment.author_id == user_id)))
        .values(discussion_version=Article.discussion_version + 1)
        .execution_options(synchronize_session=False)
    )
