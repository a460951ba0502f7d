"""`make soak MINUTES=N`: steady mixed load through nginx against `make cluster`.

Starts deploy/cluster.sh (3 instances, nginx, a worker, PostgreSQL and Redis), creates readers,
then for N minutes reads pages, signs in and comments from a few threads. Every 10 s it samples
the gunicorn workers' RSS and the database's connections. At the end it prints, per minute, the
requests, the error answers and the p50/p99 latency, plus RSS growth and the connection range,
and stops the cluster. Sign-ins stay under the per-IP login limit (all load comes from
127.0.0.1, which nginx reports as the client) and comments under the per-account limits.
"""

import argparse
import http.cookiejar
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:8100"
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
CLUSTER_DB = os.environ.get(
    "CLUSTER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/membership_cluster"
)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Reader:
    """One reader's cookies."""

    def __init__(self, email: str | None = None) -> None:
        self.email = email
        self.signed_in = False
        self.last_comment = 0.0
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(BASE + path, data=body)  # noqa: S310
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def form(self, page: str) -> dict:
        status, html = self.request(page)
        match = CSRF.search(html)
        if status != 200 or not match:
            return {}
        fields = {"csrf_token": match.group(1) or match.group(2)}
        submission = re.search(r'name="submission_id"[^>]*value="([^"]*)"', html)
        if submission:
            fields["submission_id"] = submission.group(1)
        return fields


class Recorder:
    """Latencies and statuses by minute."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.rows: list[tuple[int, str, int, float]] = []

    def timed(self, kind: str, call):
        started = time.monotonic()
        try:
            status = call()
        except OSError:
            status = 0  # connection error
        elapsed = time.monotonic() - started
        with self.lock:
            self.rows.append((int((started - self.start) // 60), kind, status, elapsed))
        return status


def start_cluster() -> subprocess.Popen:
    process = subprocess.Popen(  # the cluster in its own process group, stopped as one
        [str(ROOT / "deploy" / "cluster.sh")],
        cwd=ROOT,
        stdout=(ROOT / "run" / "soak-cluster.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(BASE + "/healthz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    time.sleep(3)  # let every instance finish booting
                    return process
        except OSError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGTERM)
    sys.exit("the cluster did not start; see run/soak-cluster.log")


def create_readers(count: int) -> list[str]:
    """Readers a month old (so the comment interval is the short one)."""
    from membership import create_app
    from membership.auth.services import create_user
    from membership.extensions import db
    from membership.models.types import utcnow

    app = create_app(
        {
            "APP_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "soak-" + "x" * 40,
            "SITE_URL": BASE,
            "SQLALCHEMY_DATABASE_URI": CLUSTER_DB,
            "RATELIMIT_STORAGE_URI": "memory://",
            "JOBS_STORE": "immediate",
        }
    )
    run = uuid.uuid4().hex[:6]
    emails = []
    with app.app_context():
        for number in range(count):
            email = f"soak-{run}-{number}@example.org"
            user = create_user(email, f"Soak {number}", PASSWORD, confirmed=True)
            user.created_at = utcnow() - timedelta(days=30)
            emails.append(email)
        db.session.commit()
        db.engine.dispose()
    return emails


def article_paths() -> list[str]:
    with psycopg.connect(CLUSTER_DB) as connection:
        slugs = connection.execute(
            "SELECT slug FROM articles WHERE status = 'published' AND access_level = 'public'"
        ).fetchall()
    return [f"/articles/{slug}" for (slug,) in slugs]


def sample(samples: list, stop: threading.Event) -> None:
    """Every 10 s: RSS (kB) of each gunicorn worker, and the cluster database's connections."""
    while not stop.wait(10):
        output = subprocess.run(
            ["ps", "-eo", "pid,ppid,rss,args"], capture_output=True, text=True, check=True
        ).stdout
        lines = [line.split(None, 3) for line in output.splitlines()[1:]]
        # honcho's shells carry the command line; gunicorn renames its master and workers.
        tree = {pid for pid, _ppid, _rss, args in lines if "gunicorn" in args and ":810" in args}
        for _depth in range(3):
            tree |= {pid for pid, ppid, _rss, _args in lines if ppid in tree}
        workers = {
            pid: int(rss)
            for pid, _ppid, rss, args in lines
            if pid in tree and args.startswith("gunicorn: worker")
        }
        with psycopg.connect(CLUSTER_DB) as connection:
            connections = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            ).fetchone()[0]
        samples.append((time.monotonic(), workers, connections - 1))  # minus this one


def load(recorder, readers, paths, until, sign_in_gate, stop) -> None:
    """One thread of mixed traffic."""
    anonymous = Reader()
    while time.monotonic() < until and not stop.is_set():
        roll = random.random()
        reader = random.choice(readers)
        if roll < 0.08 and not reader.signed_in and sign_in_gate.acquire(blocking=False):
            fields = reader.form("/login")
            fields.update({"email": reader.email, "password": PASSWORD})
            status = recorder.timed("sign-in", lambda f=fields, r=reader: r.request("/login", f)[0])
            reader.signed_in = status == 302
        elif roll < 0.16 and reader.signed_in and time.monotonic() - reader.last_comment > 150:
            path = random.choice(paths)
            fields = reader.form(path)
            fields["body"] = f"Soak comment {uuid.uuid4().hex[:8]}"
            reader.last_comment = time.monotonic()
            recorder.timed(
                "comment", lambda f=fields, p=path, r=reader: r.request(f"{p}/comments", f)[0]
            )
        else:
            who = reader if reader.signed_in and roll < 0.5 else anonymous
            path = random.choice([*paths, "/"])
            recorder.timed("read", lambda w=who, p=path: w.request(p)[0])


def release_sign_ins(gate: threading.Semaphore, stop: threading.Event) -> None:
    """20 sign-ins a minute at most: under the 30-a-minute per-IP login limit."""
    while not stop.wait(3):
        gate.release()


EXPECTED = {"read": {200, 304}, "sign-in": {302}, "comment": {302}}


def report(recorder: Recorder, samples: list) -> int:
    print("\nminute  requests  errors  p50 ms  p99 ms")
    errors_total = 0
    for minute in sorted({row[0] for row in recorder.rows}):
        rows = [row for row in recorder.rows if row[0] == minute]
        latencies = sorted(row[3] * 1000 for row in rows)
        errors = [row for row in rows if row[2] not in EXPECTED[row[1]]]
        errors_total += len(errors)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"{minute + 1:>6}  {len(rows):>8}  {len(errors):>6}  "
            f"{statistics.median(latencies):>6.1f}  {p99:>6.1f}"
        )
    kinds = {}
    for _minute, kind, status, _elapsed in recorder.rows:
        kinds.setdefault(kind, {}).setdefault(status, 0)
        kinds[kind][status] += 1
    print("answers by kind:", kinds)
    total = len(recorder.rows)
    print(f"error rate: {errors_total}/{total} = {errors_total / max(total, 1):.4%}")
    if len(samples) >= 2:
        start = recorder.start

        def growth(first: dict, last: dict) -> str:
            kept = [pid for pid in first if pid in last]
            before = sum(first[pid] for pid in kept)
            after = sum(last[pid] for pid in kept)
            change = (after - before) / before if before else 0.0
            mb = f"{before / 1024:.1f} MB -> {after / 1024:.1f} MB"
            return f"{mb} ({change:+.1%}, {len(kept)} workers)"

        print(
            "gunicorn workers' RSS, from the first sample:", growth(samples[0][1], samples[-1][1])
        )
        # Workers fill their caches (templates, compiled SQL, imports) in the first minute.
        warm = next((row for row in samples if row[0] - start >= 60), None)
        if warm is not None and warm is not samples[-1]:
            print(
                "gunicorn workers' RSS, after a minute's warm-up:", growth(warm[1], samples[-1][1])
            )
        by_minute = {}
        for moment, workers, _connections in samples:
            by_minute[int((moment - start) // 60) + 1] = sum(workers.values()) / 1024
        print("RSS at each minute's end (MB):", {m: round(v, 1) for m, v in by_minute.items()})
        connections = [row[2] for row in samples]
        print(f"database connections: min {min(connections)}, max {max(connections)}")
    return errors_total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--readers", type=int, default=30)
    args = parser.parse_args()
    (ROOT / "run").mkdir(exist_ok=True)
    cluster = start_cluster()
    stop = threading.Event()
    samples: list = []
    try:
        readers = [Reader(email) for email in create_readers(args.readers)]
        paths = article_paths()
        recorder = Recorder()
        gate = threading.Semaphore(3)
        until = time.monotonic() + args.minutes * 60
        helpers = [
            threading.Thread(target=sample, args=(samples, stop), daemon=True),
            threading.Thread(target=release_sign_ins, args=(gate, stop), daemon=True),
        ]
        workers = [
            # Each thread has readers of its own: one reader's requests never overlap.
            threading.Thread(
                target=load,
                args=(recorder, readers[index :: args.threads], paths, until, gate, stop),
            )
            for index in range(args.threads)
        ]
        for thread in helpers + workers:
            thread.start()
        print(f"Soak: {args.minutes} minute(s), {args.threads} threads, through {BASE}")
        for thread in workers:
            thread.join()
        stop.set()
        errors = report(recorder, samples)
    finally:
        stop.set()
        os.killpg(cluster.pid, signal.SIGTERM)
        cluster.wait(timeout=60)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
