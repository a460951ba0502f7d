"""The embedded shared cache (no Redis): Flask-Caching's file cache, without its file counter.

cachelib's `FileSystemCache` keeps the number of its entries in a file of its own: storing a new
entry reads that file twice and rewrites it (a temporary file, a rename, a chmod), on top of
writing the entry. Once the directory is over the threshold, every store also reads the header
of every entry to prune. A discussion rebuilt after a comment stores two new entries (the
fragment and the page), so this bookkeeping cost more worker CPU than writing the HTML.

Here each process counts the directory with one scan at most every `PRUNE_SECONDS`, prunes then
if it is over the threshold, and otherwise only adds its own new entries to that count in
memory. The threshold becomes approximate (other processes' entries show up at the next scan),
which is all it is for: keeping the directory from growing without bound.
"""

import time

from flask_caching.backends.filesystemcache import FileSystemCache

PRUNE_SECONDS = 30.0


class FileCache(FileSystemCache):
    """`FileSystemCache` that counts and prunes its directory periodically, not on every store."""

    def __init__(self, *args, **kwargs):
        self._count = 0
        self._next_prune = 0.0
        super().__init__(*args, **kwargs)

    @property
    def _file_count(self) -> int:
        return self._count

    def _update_count(self, delta: int | None = None, value: int | None = None) -> None:
        """Keep the count in memory (cachelib rewrites a counter file here)."""
        self._count = self._count + delta if delta else value or 0

    def _prune(self) -> None:
        """At most every PRUNE_SECONDS: count the directory, and prune it if it is too full."""
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_SECONDS
        self._count = sum(1 for _ in self._list_dir())
        super()._prune()
