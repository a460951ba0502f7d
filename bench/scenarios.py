"""Measurements added for issue 11: the discussion rebuilt after a write, readers while one
reader posts every second. Each works whether or not the app caches pages (a write through the
app is what invalidates, so no knowledge of a cache's keys is needed)."""

from __future__ import annotations

import statistics
import threading
import time
from urllib.parse import urlencode


def discussion_rebuild(app, slug: str, posters: list[tuple[str, str]], cookie_name: str) -> dict:
    """Worker CPU (in-process) of an anonymous article GET right after a comment was posted.

    Each round posts one comment through the app (a distinct reader), which is the write that
    must invalidate any cached discussion, then times the next anonymous GET's CPU with
    `time.process_time` (the database server's CPU is not included, as with gunicorn's)."""
    client = app.test_client(use_cookies=False)
    samples = []
    for i, (cookie, csrf) in enumerate(posters):
        posted = client.post(
            f"/articles/{slug}/comments",
            data={"csrf_token": csrf, "body": f"Rebuild round {i}: a new remark."},
            headers={"Cookie": f"{cookie_name}={cookie}"},
        )
        if posted.status_code != 302:
            raise RuntimeError(f"rebuild: comment POST answered {posted.status_code}")
        started = time.process_time()
        page = client.get(f"/articles/{slug}?sort=newest")  # the new comment on page 1
        cpu_ms = (time.process_time() - started) * 1000
        if page.status_code != 200 or f"Rebuild round {i}:" not in page.get_data(as_text=True):
            raise RuntimeError("rebuild: the new comment is not on the page")
        if i >= 2:  # the first rounds warm templates and caches up
            samples.append(cpu_ms)
    return {
        "rounds": len(samples),
        "cpu_ms_median": round(statistics.median(samples), 2),
        "cpu_ms_p90": round(sorted(samples)[int(len(samples) * 0.9) - 1], 2),
        "comments_before": 200,
        "comments_after": 200 + len(posters),
    }


class Poster(threading.Thread):
    """Posts a comment every `interval` seconds over HTTP, each by a different reader."""

    def __init__(self, send, slug, posters, cookie_name, interval=1.0):
        super().__init__(daemon=True)
        self.send, self.slug, self.posters = send, slug, posters
        self.cookie_name, self.interval = cookie_name, interval
        self.stop = threading.Event()
        self.statuses: list[int] = []

    def run(self):
        for i, (cookie, csrf) in enumerate(self.posters):
            if self.stop.wait(self.interval if i else 0):
                return
            status, _, _ = self.send(
                "POST",
                f"/articles/{self.slug}/comments",
                urlencode({"csrf_token": csrf, "body": f"Live comment {i} while readers read."}),
                {
                    "Cookie": f"{self.cookie_name}={cookie}",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            self.statuses.append(status)
