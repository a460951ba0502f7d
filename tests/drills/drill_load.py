"""The drills' steady mixed load through nginx: soak.py's readers (reading, signing in,
commenting and replying), plus checkout starts, and the stand-in Stripe's signed webhooks with
redelivery of every event not answered 200 (as Stripe retries)."""

import contextlib
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import psycopg

from tests.drills import soak
from tests.drills.soak import PASSWORD

# What a healthy answer is, per kind of request; anything else is an "error answer".
EXPECTED = {
    "read": {200, 304},
    "sign-in": {302},
    "comment": {302},
    "checkout": {303},
    "webhook": {200},
}


class Reader(soak.Reader):
    """soak.py's reader, keeping the last redirect's Location (a checkout's /pay/ link)."""

    last_location: str | None = None
    last_checkout = 0.0
    paid = False

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(soak.BASE + path, data=body)  # noqa: S310
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            self.last_location = error.headers.get("Location")
            return error.code, error.read().decode()


class Recorder:
    """Every request: when it started and ended, its kind and status (0: no answer)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[tuple[float, float, str, int]] = []

    def timed(self, kind: str, call) -> int:
        started = time.monotonic()
        try:
            status = call()
        except OSError:
            status = 0
        with self.lock:
            self.rows.append((started, time.monotonic(), kind, status))
        return status

    def between(self, start: float, end: float) -> list[tuple[float, float, str, int]]:
        with self.lock:
            return [row for row in self.rows if start <= row[0] < end]


class Shared:
    """What the load threads and the checks share."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.lock = threading.Lock()
        self.acknowledged: list[str] = []  # bodies of comments answered 302
        self.checkouts: list[tuple[str, str]] = []  # (email, checkout session id) to complete
        self.abandoned: list[tuple[Reader, str]] = []  # started, left at the payment page
        self.thread_ids: dict[str, list[int]] = {}  # article path -> comment ids to reply to
        self.stop = threading.Event()

    def pay_abandoned(self, count: int) -> int:
        """Some readers come back to the payment page and pay (their webhooks arrive now)."""
        with self.lock:
            chosen = [(r, sid) for r, sid in self.abandoned if not r.paid][:count]
            for reader, session_id in chosen:
                reader.paid = True
                self.checkouts.append((reader.email, session_id))
            self.abandoned = [(r, sid) for r, sid in self.abandoned if not r.paid]
        return len(chosen)

    def refresh_threads(self, paths: list[str]) -> None:
        """Published comments per article, straight from PostgreSQL (not through a proxy)."""
        with psycopg.connect(self.database_url, connect_timeout=3) as connection:
            rows = connection.execute(
                "SELECT a.slug, c.id FROM comments c JOIN articles a ON a.id = c.article_id"
                " WHERE c.status = 'published' ORDER BY c.id DESC LIMIT 2000"
            ).fetchall()
        found: dict[str, list[int]] = {}
        for slug, comment_id in rows:
            found.setdefault(f"/articles/{slug}", []).append(comment_id)
        with self.lock:
            self.thread_ids = {path: found.get(path, []) for path in paths}


def load(recorder, shared, readers, paths, sign_in_gate) -> None:
    """One thread of mixed traffic (its own readers: one reader's requests never overlap)."""
    anonymous = Reader()
    while not shared.stop.is_set():
        roll = random.random()
        reader = random.choice(readers)
        if roll < 0.08 and not reader.signed_in and sign_in_gate.acquire(blocking=False):
            fields = reader.form("/login")
            if not fields:  # the form did not load (an outage): nothing to send
                continue
            fields.update({"email": reader.email, "password": PASSWORD})
            status = recorder.timed("sign-in", lambda f=fields, r=reader: r.request("/login", f)[0])
            reader.signed_in = status == 302
        elif roll < 0.16 and reader.signed_in and time.monotonic() - reader.last_comment > 40:
            comment(recorder, shared, reader, random.choice(paths))
        elif (
            roll < 0.175
            and reader.signed_in
            and not reader.paid
            and time.monotonic() - reader.last_checkout > 30  # the limit is 10 a minute
        ):
            checkout(recorder, shared, reader)
        else:
            who = reader if reader.signed_in and roll < 0.5 else anonymous
            path = random.choice([*paths, "/"])
            recorder.timed("read", lambda w=who, p=path: w.request(p)[0])


def comment(recorder, shared, reader, path) -> None:
    """A comment, or half the time a reply (which emails the parent's author)."""
    fields = reader.form(path)
    if not fields:
        return
    body = f"Drill comment {uuid.uuid4().hex}"
    fields["body"] = body
    with shared.lock:
        candidates = shared.thread_ids.get(path) or []
        if candidates and random.random() < 0.5:
            fields["reply_to"] = str(random.choice(candidates))
    reader.last_comment = time.monotonic()
    status = recorder.timed(
        "comment", lambda f=fields, p=path, r=reader: r.request(f"{p}/comments", f)[0]
    )
    if status in (200, 302):
        with shared.lock:
            shared.acknowledged.append(body)


def checkout(recorder, shared, reader) -> None:
    """Start a monthly supporter checkout; the webhook thread completes some at the stand-in."""
    fields = reader.form("/membership")
    if not fields:
        return
    fields.update({"tier": "supporter", "interval": "month"})
    reader.last_checkout = time.monotonic()
    fields.pop("submission_id", None)
    status = recorder.timed("checkout", lambda: reader.request("/membership/checkout", fields)[0])
    if status == 303:
        match = re.search(r"/pay/(cs_[A-Za-z0-9_]+)", reader.last_location or "")
        # A third of the readers pay; the others leave the payment page and may start again
        # later, so checkouts go on all through the drill.
        if match and random.random() < 1 / 3:
            reader.paid = True
            with shared.lock:
                shared.checkouts.append((reader.email, match.group(1)))
        elif match:
            with shared.lock:
                shared.abandoned.append((reader, match.group(1)))


def release_sign_ins(gate: threading.BoundedSemaphore, stop: threading.Event) -> None:
    """20 sign-ins a minute at most, never saved up into a burst (all the load comes from one
    address, and the per-IP login limit is 30 a minute)."""
    while not stop.wait(3):
        with contextlib.suppress(ValueError):  # already full
            gate.release()


class Webhooks:
    """Completes started checkouts at the stand-in and delivers its events through nginx;
    an event answered anything but 200 is delivered again 5 s later (Stripe's redelivery)."""

    def __init__(self, stub, recorder, shared) -> None:
        self.stub = stub
        self.recorder = recorder
        self.shared = shared
        self.retry: list[tuple[float, dict]] = []
        self.applied: set[str] = set()  # event ids answered 200
        self.completed: list[str] = []  # emails whose checkout was completed

    def run(self) -> None:
        while not self.shared.stop.wait(1):
            self.tick()

    def tick(self) -> None:
        with self.shared.lock:
            starting, self.shared.checkouts = self.shared.checkouts, []
        for email, session_id in starting:
            try:
                self.stub.complete_checkout(session_id)
                self.completed.append(email)
            except Exception as exc:  # the stand-in refuses a session it does not know
                print(f"  could not complete {session_id}: {exc}")
        with self.stub._lock:
            fresh, self.stub.outbox = list(self.stub.outbox), []
        now = time.monotonic()
        due = [event for when, event in self.retry if when <= now]
        self.retry = [(when, event) for when, event in self.retry if when > now]
        for event in fresh + due:
            status = self.recorder.timed("webhook", lambda e=event: self.stub.deliver([e])[0])
            if status == 200:
                self.applied.add(event["id"])
            else:
                self.retry.append((time.monotonic() + 5, event))

    def pending(self) -> int:
        return len(self.retry) + len(self.stub.outbox)
