"""`make bench`: the portal at realistic scale, on PostgreSQL and on SQLite, measured with wrk.

For each database: a throwaway database is migrated (`flask db upgrade`) and filled
(bench/dataset.py); SQL statements per page are counted in-process; the app is started under
gunicorn (2 sync workers, APP_ENV=production) with rate limits raised by configuration only and
the bare `/_bench/hello` route switched on (FLASK_BENCHMARK_HELLO); wrk loads it from loopback.
Everything is written to bench/results.json and printed as a table. Nothing is asserted.

Environment knobs: BENCH_DATABASES (postgresql,sqlite), BENCH_POSTGRES_URL (admin URL, default
postgresql://postgres@127.0.0.1:5432/postgres), BENCH_DURATION (s per run, 10), BENCH_WARMUP (2),
BENCH_CONNECTIONS (32), BENCH_THREADS (wrk threads, 2), BENCH_SCALE (1.0: the dataset sizes of
issue 8; 0.1 for a quick try), BENCH_OUTPUT (bench/results.json).
"""

from __future__ import annotations

import contextlib
import cProfile
import http.client
import io
import json
import logging
import os
import platform
import pstats
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dataset, loadgen  # noqa: E402

BIN = ROOT / ".venv" / "bin"
BENCH_DB = "membership_bench"
CSRF_PATTERN = re.compile(
    r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
)
RAISED_LIMIT = "1000000/minute"
IGNORED_EVENT_TYPE = "balance.available"  # no handler acts on it: verify, record, commit
REALISTIC_EVENT_TYPE = "customer.subscription.updated"  # re-fetched from the stand-in Stripe
STRIPE_SUBSCRIPTIONS = 50
MEMBER_QUERIES = [  # what a membership desk types: names, email prefixes, filters
    "q=maja",
    "q=maja.hansen",
    "q=zoe w",
    "q=leo.park",
    "q=tariq.said1",
    "q=nobody-by-this-name",
    "status=suspended",
    "status=banned&sort=newest",
    "tier=supporter",
    "plan=paying",
    "plan=free",
    "sponsor=yes",
    "q=ines&status=active",
    "from=2024-01-01&to=2024-03-31",
    "page=40",
]
TARGETS = {
    "article_anonymous_ratio": 0.5,
    "article_signed_in_ratio": 0.35,
    "home_anonymous_ratio": 0.6,
    "p99_ms": 100.0,
    "statements_max": 10,
    "comment_posts_per_s": 200.0,
    "webhooks_per_s": 300.0,
    "member_search_p50_ms": 30.0,
    "export_s": 5.0,
    "export_memory_mb": 50.0,
}


def log(message: str) -> None:
    print(message, flush=True)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


# --- machine ----------------------------------------------------------------------------------


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    versions = {}
    for name, command in (
        ("wrk", ["wrk", "--version"]),
        ("postgresql", ["psql", "--version"]),
    ):
        try:
            output = subprocess.run(  # noqa: S603
                command, capture_output=True, text=True, timeout=10, check=False
            )
            versions[name] = (output.stdout or output.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            versions[name] = "?"
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version
    versions["python"] = platform.python_version()
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(total_kb / 1024 / 1024, 1),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "kernel": platform.release(),
        "versions": versions,
    }


def git_state() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    changed = len([x for x in git("status", "--porcelain").splitlines() if x.strip()])
    return git("rev-parse", "--short", "HEAD") + (f" + {changed} changed files" if changed else "")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def proc_status_kb(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


class Gunicorn:
    """gunicorn with 2 sync workers, as documented for production, stopped by its own pid."""

    def __init__(self, env: dict, workdir: Path, workers: int = 2) -> None:
        self.env = env
        self.workdir = workdir
        self.workers = workers
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> Gunicorn:
        self.logfile = (self.workdir / "gunicorn.log").open("w")
        command = [
            str(BIN / "gunicorn"),
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--access-logfile",
            "-",
            "app:app",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.workdir / 'gunicorn.log'}")
            try:
                status, _, _ = http_request(self.port, "GET", "/healthz", timeout=2)
                if status == 200 and len(self.worker_pids()) == self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(c) for c in children]

    def memory(self) -> dict:
        return {
            str(pid): {
                "peak_rss_mb": round(proc_status_kb(pid, "VmHWM") / 1024, 1),
                "rss_mb": round(proc_status_kb(pid, "VmRSS") / 1024, 1),
            }
            for pid in self.worker_pids()
        }

    def cpu_ticks(self) -> int:
        total = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime + stime
        return total

    def served(self) -> int:
        """Requests answered so far: lines of gunicorn's access log."""
        self.logfile.flush()
        with (self.workdir / "gunicorn.log").open("rb") as handle:
            return sum(1 for line in handle if b" HTTP/1." in line)

    def drain(self, timeout: float = 120) -> None:
        """Wait until the workers have finished what an ended wrk run left queued.

        Sync workers keep serving connections that wrk already closed; without this the next
        run would queue behind them. Idle: a fresh request is answered and the workers' CPU
        time stops growing for 0.3 s."""
        deadline = time.monotonic() + timeout
        http_request(self.port, "GET", "/_bench/hello", timeout=timeout)
        last = self.cpu_ticks()
        while time.monotonic() < deadline:
            time.sleep(0.3)
            now = self.cpu_ticks()
            if now == last:
                return
            last = now

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.logfile.close()


# --- HTTP helpers -----------------------------------------------------------------------------


def http_request(port, method, path, body=None, headers=None, timeout=60):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def set_cookie_value(headers, name: str) -> str | None:
    for header in headers.get_all("Set-Cookie") or []:
        match = re.match(rf"{re.escape(name)}=([^;]*)", header)
        if match:
            return match.group(1)
    return None


def http_login(
    port: int, email: str, password: str, cookie_name: str, totp_secret: str | None = None
) -> str:
    """Sign in through the real form; returns the `name=value` cookie for a Cookie header.

    Production marks the cookie Secure, so over http it is taken from Set-Cookie by hand."""
    status, headers, body = http_request(port, "GET", "/login")
    cookie = set_cookie_value(headers, cookie_name)
    match = CSRF_PATTERN.search(body.decode())
    if status != 200 or not cookie or not match:
        raise RuntimeError(f"GET /login answered {status} without a session or a CSRF token")
    form = urlencode({"email": email, "password": password, "csrf_token": match[1] or match[2]})
    status, headers, body = http_request(
        port,
        "POST",
        "/login",
        form,
        {
            "Cookie": f"{cookie_name}={cookie}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    cookie = set_cookie_value(headers, cookie_name) or cookie
    location = headers.get("Location") or ""
    if status == 302 and "two-factor" in location and totp_secret:
        # Administrators sign in with a second factor: a code from the account's TOTP secret.
        import pyotp

        path = urlsplit(location).path
        jar = {"Cookie": f"{cookie_name}={cookie}"}
        status, headers, body = http_request(port, "GET", path, headers=jar)
        cookie = set_cookie_value(headers, cookie_name) or cookie
        match = CSRF_PATTERN.search(body.decode())
        if status != 200 or not match:
            raise RuntimeError(f"GET {path} answered {status} without a CSRF token")
        form = urlencode(
            {"code": pyotp.TOTP(totp_secret).now(), "csrf_token": match[1] or match[2]}
        )
        status, headers, body = http_request(
            port,
            "POST",
            path,
            form,
            {
                "Cookie": f"{cookie_name}={cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        cookie = set_cookie_value(headers, cookie_name)
    if status != 302 or not cookie:
        raise RuntimeError(f"login of {email} answered {status}")
    return f"{cookie_name}={cookie}"


def is_signed_in(port: int, cookie: str) -> bool:
    status, _, body = http_request(port, "GET", "/", headers={"Cookie": cookie})
    return status == 200 and b"Sign out" in body


# --- in-process app ---------------------------------------------------------------------------


def inprocess_app(url: str, env: dict):
    """The app as gunicorn builds it (same settings), for counting statements and signing."""
    from membership import create_app

    config = {
        "APP_ENV": "production",
        "SECRET_KEY": env["SECRET_KEY"],
        "SITE_URL": env["SITE_URL"],
        "SQLALCHEMY_DATABASE_URI": url,
        "BENCHMARK_HELLO": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "STRIPE_SECRET_KEY": env["STRIPE_SECRET_KEY"],
        "STRIPE_PUBLISHABLE_KEY": env["STRIPE_PUBLISHABLE_KEY"],
        "STRIPE_WEBHOOK_SECRET": env["STRIPE_WEBHOOK_SECRET"],
        "STRIPE_API_BASE": env["STRIPE_API_BASE"],
    }
    os.environ["INSTANCE_PATH"] = env["INSTANCE_PATH"]
    app = create_app(config)
    logging.getLogger("membership").setLevel(logging.WARNING)  # keep the bench's output readable
    return app


def raised_limits(app) -> dict:
    """FLASK_<NAME> for every rate-limit setting of the app (any feature's), raised."""
    limits = {}
    for key, value in app.config.items():
        if (
            "LIMIT" in key
            and not key.startswith("RATELIMIT_")
            and isinstance(value, str)
            and re.match(r"^\s*\d+\s*(/|per\b)", value)
        ):
            limits[f"FLASK_{key}"] = RAISED_LIMIT
    return limits


def forge_sessions(app, sessions: list[tuple[int, str]]) -> list[tuple[str, str]]:
    """Cookies (and their form CSRF tokens) for sessions whose rows the dataset wrote.

    This is what `sign_in` leaves in the cookie: the session token (its sha256 is the row's
    token_hash) and Flask-Login's user id, signed with the app's SECRET_KEY."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    serializer = app.session_interface.get_signing_serializer(app)
    forged = []
    for user_id, token in sessions:
        with app.test_request_context("/"):
            session["sid"] = token
            session["_user_id"] = str(user_id)
            session["_fresh"] = True
            csrf = generate_csrf()
            forged.append((serializer.dumps(dict(session)), csrf))
    return forged


def count_statements(app, slugs: dict, cookie: str) -> dict:
    """SQL statements per page (a warm second request), counted with before_cursor_execute.

    Anonymous pages are counted twice: as served (a page cache, if the app has one, may answer
    without SQL) and rendered (a unique query string defeats any URL-keyed cache)."""
    from sqlalchemy import event

    from membership.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    def count(path: str, headers: dict, unique: bool) -> int:
        for _ in range(2):
            target = f"{path}?bench={uuid.uuid4().hex}" if unique else path
            seen.clear()
            response = client.get(target, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{target} answered {response.status_code}")
        return len(seen)

    event.listen(engine, "before_cursor_execute", before)
    client = app.test_client(use_cookies=False)
    result: dict = {"article": {}, "home": {}}
    labels = {"five": "5", "two-hundred": "200", "one-thousand": "1000"}
    try:
        for viewer, headers, unique in (
            ("anonymous", {}, True),
            ("anonymous_served", {}, False),
            ("signed_in", {"Cookie": cookie}, False),
        ):
            for label, size in labels.items():
                path = f"/articles/{slugs[label]}"
                result["article"].setdefault(viewer, {})[size] = count(path, headers, unique)
                if label == "two-hundred" and viewer != "anonymous_served":
                    result[f"statements_article_200_{viewer}"] = [x[:160] for x in seen]
            result["home"][viewer] = count("/", headers, unique)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return result


def profile(app, send, rounds: int = 40) -> dict:
    """Mean in-process time of `send(client, i)`, then cProfile over as many more calls.

    `send` gets a distinct `i` on every call (3 warm-up calls, then 2 x rounds)."""
    client = app.test_client(use_cookies=False)
    for i in range(3):
        send(client, i)
    started = time.perf_counter()
    for i in range(3, 3 + rounds):
        send(client, i)
    plain_ms = (time.perf_counter() - started) / rounds * 1000
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(3 + rounds, 3 + 2 * rounds):
        send(client, i)
    profiler.disable()

    def top(sort: str, restriction) -> list[str]:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(sort).print_stats(*restriction)
        keep = [x for x in stream.getvalue().splitlines() if re.match(r"\s*\d", x)]
        return [re.sub(r"\s+", " ", x.strip().replace(str(ROOT) + "/", ""))[:200] for x in keep]

    return {
        "in_process_ms_per_request": round(plain_ms, 2),
        "top_cumulative": top("cumulative", (r"membership|templates|flask_wtf|wtforms", 30)),
        "top_own_time": top("tottime", (20,)),
    }


PROFILE_ROUNDS = 40
PROFILE_CALLS = 3 + 2 * PROFILE_ROUNDS


def profiles(app, data, cookie_name, viewer_cookie, forged, stub) -> dict:
    """Where the time goes, in-process: pages, a comment POST, a webhook."""
    article = f"/articles/{data.slugs['two-hundred']}"
    signed = {"Cookie": f"{cookie_name}={viewer_cookie}"}

    def get(path, headers=None, rendered=False):
        """GET path; `rendered`: a unique query string each time, so no page cache answers."""

        def send(client, i):
            target = f"{path}?bench=profile{i}" if rendered else path
            response = client.get(target, headers=headers or {})
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")

        return send

    readers = list(zip(data.reader_sessions[-PROFILE_CALLS:], forged[-PROFILE_CALLS:], strict=True))
    hot = data.slugs["hot"]

    def post_comment(client, i):
        (user_id, _), (cookie, csrf) = readers[i]
        response = client.post(
            f"/articles/{hot}/comments",
            data={"csrf_token": csrf, "body": f"Profiled comment by reader {user_id}."},
            headers={"Cookie": f"{cookie_name}={cookie}"},
        )
        if response.status_code != 302:
            raise RuntimeError(f"comment POST answered {response.status_code}")

    stamp = int(time.time())
    events = []
    for n in range(PROFILE_CALLS):
        payload = json.dumps(
            {
                "id": f"evt_profile_{uuid.uuid4().hex}_{n}",
                "object": "event",
                "type": IGNORED_EVENT_TYPE,
                "created": stamp,
                "data": {"object": {"object": "balance"}},
            }
        ).encode()
        events.append((payload, stub.sign(payload, timestamp=stamp)))

    def post_webhook(client, i):
        payload, signature = events[i]
        response = client.post(
            "/stripe/webhook",
            data=payload,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}")

    return {
        "hello": profile(app, get("/_bench/hello")),
        "article_200_anonymous_served": profile(app, get(article)),
        "article_200_anonymous_rendered": profile(app, get(article, rendered=True)),
        "article_200_signed_in": profile(app, get(article, signed)),
        "home_anonymous_rendered": profile(app, get("/", rendered=True)),
        "home_signed_in": profile(app, get("/", signed)),
        "comment_post": profile(app, post_comment),
        "webhook_ignored_event": profile(app, post_webhook),
    }


# --- Stripe stand-in --------------------------------------------------------------------------


def start_stub():
    from tests.stripe_stub import StripeStub

    return StripeStub().start()


def stripe_subscriptions(app, stub, reader_ids: list[int]) -> list[dict]:
    """Tiers synced to the stand-in, then real Checkout subscriptions for a few readers."""
    from sqlalchemy import select

    from membership.billing.catalogue import sync_tier
    from membership.billing.services import start_checkout
    from membership.extensions import db
    from membership.models import Tier, User

    with app.test_request_context("/"):
        for tier in db.session.scalars(select(Tier)):
            sync_tier(tier)
        db.session.commit()
        for user_id in reader_ids:
            url = start_checkout(db.session.get(User, user_id), "supporter", "month")
            db.session.commit()
            stub.complete_checkout(re.search(r"/pay/(cs_[A-Za-z0-9_]+)", url).group(1))
        db.session.remove()
    created = [
        e["data"]["object"] for e in stub.events if e["type"] == "customer.subscription.created"
    ]
    stub.outbox.clear()
    return created


def event_pool(path: Path, stub, kind: str, objects: list[dict], count: int) -> int:
    """Signed events with distinct ids, as Stripe would deliver them (signed just now)."""
    stamp = int(time.time())
    run = uuid.uuid4().hex[:8]

    def lines():
        for n in range(count):
            event = {
                "id": f"evt_bench_{run}_{n:07d}",
                "object": "event",
                "api_version": stub.api_version,
                "created": stamp,
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": kind,
                "data": {"object": objects[n % len(objects)]},
            }
            payload = json.dumps(event, separators=(",", ":"))
            signature = stub.sign(payload.encode(), timestamp=stamp)
            yield (
                "POST",
                "/stripe/webhook",
                payload,
                "Content-Type: application/json",
                f"Stripe-Signature: {signature}",
            )

    return loadgen.write_pool(path, lines())


# --- one database -----------------------------------------------------------------------------


def postgres_admin_conninfo() -> str:
    url = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)


def create_postgres_database() -> str:
    import psycopg

    conninfo = postgres_admin_conninfo()
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    base = conninfo.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+psycopg://", 1) + f"/{BENCH_DB}"


def drop_postgres_database() -> None:
    import psycopg

    with psycopg.connect(postgres_admin_conninfo(), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def scalar(app, sql: str, **params):
    from sqlalchemy import text

    from membership.extensions import db

    with app.app_context():
        value = db.session.execute(text(sql), params).scalar()
        db.session.remove()
        return value


def bench_database(kind: str, settings: dict) -> dict:
    log(f"\n=== {kind} ===")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix=f"membership-bench-{kind}-"))
    instance = workdir / "instance"
    instance.mkdir()
    result: dict = {"load_average_start": loadavg()}
    url = (
        create_postgres_database()
        if kind == "postgresql"
        else f"sqlite:///{instance / 'bench.sqlite3'}"
    )
    stub = start_stub()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SITE_URL": "https://news.bench.example",
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "REDIS_URL": "",
        "FLASK_BENCHMARK_HELLO": "true",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
        "STRIPE_WEBHOOK_SECRET": stub.webhook_secret,
        "STRIPE_API_BASE": stub.base_url,
    }
    server = None
    try:
        clock = time.perf_counter()
        subprocess.run(  # noqa: S603
            [str(BIN / "flask"), "--app", "app", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        result["migrate_s"] = round(time.perf_counter() - clock, 2)
        log(f"schema migrated in {result['migrate_s']} s; generating the dataset ...")
        scale = settings["scale"]
        sizes = {k: max(int(v * scale), 1) for k, v in dataset.SIZES.items()}
        readers = min(20_000, max(int(20_000 * scale), 2_000))
        data = dataset.generate(
            url, sizes=sizes, reader_sessions=readers, log=log, secret_key=env["SECRET_KEY"]
        )
        result["dataset"] = {
            "seconds": data.seconds,
            "counts": data.counts,
            "sponsorships": data.sponsorship_note,
        }
        log(f"dataset in {data.seconds['total']:.1f} s: {data.counts}")

        app = inprocess_app(url, env)
        env.update(raised_limits(app))
        result["raised_limits"] = sorted(k for k in env if k.startswith("FLASK_") and "LIMIT" in k)
        cookie_name = app.config["SESSION_COOKIE_NAME"]
        clock = time.perf_counter()
        forged = forge_sessions(app, data.reader_sessions)
        ((viewer_forged, _),) = forge_sessions(app, [data.viewer_session])
        result["forge_sessions_s"] = round(time.perf_counter() - clock, 2)

        log("counting SQL statements and profiling in-process ...")
        result["statements"] = count_statements(app, data.slugs, f"{cookie_name}={viewer_forged}")
        result["profile"] = profiles(app, data, cookie_name, viewer_forged, forged, stub)
        article = f"/articles/{data.slugs['two-hundred']}"

        log("creating subscriptions in the stand-in Stripe ...")
        stripe_objects = stripe_subscriptions(
            app, stub, data.unsubscribed_readers[:STRIPE_SUBSCRIPTIONS]
        )

        server = Gunicorn(env, workdir).start()
        port = server.port
        base = f"http://127.0.0.1:{port}"
        viewer_cookie = http_login(port, data.viewer_email, dataset.BENCH_PASSWORD, cookie_name)
        admin_cookie = http_login(
            port, data.admin_email, dataset.BENCH_PASSWORD, cookie_name, data.admin_totp_secret
        )
        reader_probe = f"{cookie_name}={forged[0][0]}"
        if not (is_signed_in(port, viewer_cookie) and is_signed_in(port, reader_probe)):
            raise RuntimeError("signed-in requests are not recognised as signed in")

        def wrk(path, headers=(), pool=None, warm=True, connections=None, duration=None):
            options = {
                "workdir": workdir,
                "connections": connections or settings["connections"],
                "threads": min(settings["threads"], connections or settings["connections"]),
                "headers": headers,
                "pool": pool,
            }
            if warm and settings["warmup"] > 0:
                loadgen.run(base + path, duration=settings["warmup"], **options)
                server.drain()
            ticks, served = server.cpu_ticks(), server.served()
            measured = loadgen.run(
                base + path, duration=duration or settings["duration"], **options
            )
            server.drain()
            # CPU time the workers spent per request answered (the drain's own hello excluded):
            # unlike req/s, it hardly moves when other processes compete for the cores.
            answered = max(server.served() - served - 1, 1)
            cpu_ms = (server.cpu_ticks() - ticks) * 1000 / os.sysconf("SC_CLK_TCK") / answered
            measured["worker_cpu_ms_per_request"] = round(cpu_ms, 2)
            return measured

        # Pages: each measured right after a hello run, its baseline (the machine is shared) --
        pages: dict = {"hello_runs": []}
        for name, path, headers in (
            ("article_anonymous", article, ()),
            ("article_anonymous_rendered", article, ()),
            ("article_signed_in", article, (f"Cookie: {viewer_cookie}",)),
            ("home_anonymous", "/", ()),
            ("home_anonymous_rendered", "/", ()),
            ("home_signed_in", "/", (f"Cookie: {viewer_cookie}",)),
        ):
            status, _, _ = http_request(
                port, "GET", path, headers=dict(h.split(": ", 1) for h in headers)
            )
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            pool = None
            if name.endswith("_rendered"):
                # Every request with its own query string: no URL-keyed cache can answer it.
                pool = workdir / f"{name}.pool"
                loadgen.write_pool(pool, (("GET", f"{path}?bench={n}", "") for n in range(200_000)))
            hello = wrk("/_bench/hello")
            hello["load_average"] = loadavg()
            pages["hello_runs"].append(hello)
            page = wrk(path, headers, pool=pool)
            page["load_average"] = loadavg()
            page["hello_rps"] = hello["rps"]
            page["ratio_to_hello"] = round(page["rps"] / hello["rps"], 3)
            page["cpu_ratio_to_hello"] = round(
                hello["worker_cpu_ms_per_request"] / max(page["worker_cpu_ms_per_request"], 0.01), 3
            )
            pages[name] = page
            log(
                f"  {name:<18} {page['rps']:>7.1f} req/s  p50 {page['p50_ms']:>7.1f} ms"
                f"  p99 {page['p99_ms']:>7.1f} ms  non-2xx {page['non_2xx_3xx']}"
                f"  | hello before it {hello['rps']:>7.1f} req/s, p99 {hello['p99_ms']:.1f} ms"
                f"  | ratio {page['ratio_to_hello']:.3f}"
                f"  | worker CPU {page['worker_cpu_ms_per_request']:.1f} ms/request"
                f" (hello {hello['worker_cpu_ms_per_request']:.1f})"
            )
        hellos = [run["rps"] for run in pages["hello_runs"]]
        result["pages"] = pages
        result["hello_baseline_rps"] = round(sum(hellos) / len(hellos), 1)
        result["hello_rps_range"] = [min(hellos), max(hellos)]

        # Comment POSTs by distinct readers ---------------------------------------------------
        hot = data.slugs["hot"]
        probe_cookie, probe_csrf = forged[0]
        status, _, _ = http_request(
            port,
            "POST",
            f"/articles/{hot}/comments",
            urlencode({"csrf_token": probe_csrf, "body": "First!", "submission_id": "probe"}),
            {
                "Cookie": f"{cookie_name}={probe_cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        if status != 302:
            raise RuntimeError(f"a comment POST answered {status}, not 302")
        pool = workdir / "comments.pool"
        loadgen.write_pool(
            pool,
            (
                (
                    "POST",
                    f"/articles/{hot}/comments",
                    urlencode(
                        {
                            "csrf_token": csrf,
                            "body": f"Reader {user_id} on the hot story: "
                            + dataset.COMMENT_SENTENCES[user_id % len(dataset.COMMENT_SENTENCES)],
                            "submission_id": uuid.uuid4().hex,
                            "reply_to": "",
                        }
                    ),
                    f"Cookie: {cookie_name}={cookie}",
                    "Content-Type: application/x-www-form-urlencoded",
                )
                for (user_id, _), (cookie, csrf) in zip(
                    data.reader_sessions[1:-PROFILE_CALLS], forged[1:-PROFILE_CALLS], strict=True
                )
            ),
        )
        sql = (
            "SELECT count(*) FROM comments c JOIN articles a ON a.id = c.article_id"
            " WHERE a.slug = :s"
        )
        before = scalar(app, sql, s=hot)
        run = wrk(f"/articles/{hot}/comments", pool=pool, warm=False)
        # The rate counts the 302s wrk saw within its window; the rows written (checked after
        # the queue drained) include the requests still in flight when wrk stopped.
        created = scalar(app, sql, s=hot) - before
        run["rows_written"] = created
        run["created"] = run["requests"] - run["non_2xx_3xx"]
        run["created_per_s"] = run["ok_rps"]
        run["readers_available"] = len(forged) - 1 - PROFILE_CALLS
        result["comment_posts"] = run
        log(
            f"  comment POSTs: {run['created_per_s']}/s by distinct readers"
            f" ({run['created']} answered 302, {created} rows written)"
        )

        # Webhooks ---------------------------------------------------------------------------
        webhooks = {}
        for name, kind_, objects, count in (
            (
                "ignored_event",
                IGNORED_EVENT_TYPE,
                [
                    {
                        "object": "balance",
                        "available": [{"amount": 1250, "currency": "usd"}],
                        "pending": [],
                    }
                ],
                60_000,
            ),
            ("subscription_updated", REALISTIC_EVENT_TYPE, stripe_objects, 15_000),
        ):
            pool = workdir / f"{name}.pool"
            event_pool(pool, stub, kind_, objects, count)
            before = scalar(app, "SELECT count(*) FROM stripe_events")
            run = wrk("/stripe/webhook", pool=pool, warm=False)
            run["rows_written"] = scalar(app, "SELECT count(*) FROM stripe_events") - before
            run["recorded"] = run["requests"] - run["non_2xx_3xx"]
            run["recorded_per_s"] = run["ok_rps"]
            run["event_type"] = kind_
            webhooks[name] = run
            log(
                f"  webhooks {name}: {run['recorded_per_s']} events/s"
                f" (non-2xx: {run['non_2xx_3xx']})"
            )
        webhooks["stripe_api_calls"] = len(stub.requests)
        result["webhooks"] = webhooks

        # Admin: member search and CSV export, where they exist --------------------------------
        try:
            result["admin"] = admin_measurements(app, server, port, admin_cookie, workdir, wrk)
        except Exception as error:  # the admin area is young: report, keep the other figures
            log(f"  admin measurements failed: {error!r}")
            failed = f"error: {type(error).__name__}: {error}"[:120]
            result["admin"] = {"member_search": failed, "member_export": failed}
        result["worker_memory"] = server.memory()
    finally:
        if server is not None:
            server.stop()
        stub.stop()
        if kind == "postgresql" and not settings["keep"]:
            drop_postgres_database()
        if not settings["keep"]:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
    result["load_average_end"] = loadavg()
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def admin_measurements(app, server, port, cookie, workdir, wrk) -> dict:
    rules = {rule.rule: rule for rule in app.url_map.iter_rules()}
    out: dict = {}
    search = rules.get("/admin/members")
    if search is None or "GET" not in search.methods:
        out["member_search"] = "n/a (no /admin/members route)"
    else:
        status, _, _ = http_request(
            port, "GET", "/admin/members?q=hansen", headers={"Cookie": cookie}
        )
        pool = workdir / "members.pool"
        loadgen.write_pool(
            pool,
            (("GET", f"/admin/members?{q}", "", f"Cookie: {cookie}") for q in MEMBER_QUERIES * 500),
        )
        run = wrk("/admin/members", pool=pool, connections=1)
        run["probe_status"] = status
        out["member_search"] = run
        log(f"  /admin/members search: p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms")
    exports = [
        rule
        for path, rule in rules.items()
        if path.startswith("/admin/members")
        and ("export" in path or "csv" in path)
        and "<" not in path
        and "GET" in rule.methods
    ]
    if not exports:
        out["member_export"] = "n/a (no CSV export route under /admin/members)"
        return out
    path = exports[0].rule
    # Reset the workers' peak-RSS marks (clear_refs "5"), so VmHWM afterwards is the export's.
    for pid in server.worker_pids():
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = {pid: proc_status_kb(pid, "VmRSS") for pid in server.worker_pids()}
    ticks = server.cpu_ticks()
    clock = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    size = lines = 0
    while chunk := response.read(65536):
        size += len(chunk)
        lines += chunk.count(b"\n")
    connection.close()
    seconds = time.perf_counter() - clock
    cpu_s = (server.cpu_ticks() - ticks) / os.sysconf("SC_CLK_TCK")
    after = {pid: proc_status_kb(pid, "VmHWM") for pid in server.worker_pids()}
    growth = max((after.get(pid, 0) - kb) for pid, kb in before.items()) / 1024
    out["member_export"] = {
        "path": path,
        "status": response.status,
        "seconds": round(seconds, 2),
        "worker_cpu_s": round(cpu_s, 2),
        "megabytes": round(size / 1e6, 1),
        "lines": lines,
        "peak_memory_growth_mb": round(growth, 1),
        "worker_rss_before_mb": {str(p): round(kb / 1024, 1) for p, kb in before.items()},
        "worker_peak_rss_mb": {str(p): round(kb / 1024, 1) for p, kb in after.items()},
    }
    log(f"  export {path}: {seconds:.1f} s, {lines} lines, peak growth {growth:.1f} MB")
    return out


# --- report -----------------------------------------------------------------------------------


def evaluate(kind: str, r: dict) -> dict:
    """Which targets of issue 8 this run meets (reported, never asserted)."""
    t = TARGETS
    checks: dict = {}
    pages = r.get("pages")
    if pages:
        for name, key in (
            ("article_anonymous", "article_anonymous_ratio"),
            ("article_signed_in", "article_signed_in_ratio"),
            ("home_anonymous", "home_anonymous_ratio"),
        ):
            checks[key] = pages[name]["ratio_to_hello"] >= t[key]
        for name in ("article_anonymous", "article_signed_in", "home_anonymous", "home_signed_in"):
            checks[f"{name}_p99"] = pages[name]["p99_ms"] <= t["p99_ms"]
    for viewer, counts in r.get("statements", {}).get("article", {}).items():
        if viewer not in ("anonymous", "signed_in"):
            continue
        same = counts["5"] == counts["1000"]
        checks[f"statements_{viewer}"] = same and max(counts.values()) <= t["statements_max"]
    if kind == "postgresql" and "comment_posts" in r:
        checks["comment_posts"] = r["comment_posts"]["created_per_s"] >= t["comment_posts_per_s"]
    if kind == "postgresql" and "webhooks" in r:
        rate = r["webhooks"]["ignored_event"]["recorded_per_s"]
        checks["webhooks"] = rate >= t["webhooks_per_s"]
    admin = r.get("admin", {})
    if isinstance(admin.get("member_search"), dict):
        checks["member_search_p50"] = admin["member_search"]["p50_ms"] <= t["member_search_p50_ms"]
    if isinstance(admin.get("member_export"), dict):
        export = admin["member_export"]
        checks["export_time"] = export["status"] == 200 and export["seconds"] <= t["export_s"]
        checks["export_memory"] = export["peak_memory_growth_mb"] <= t["export_memory_mb"]
    return checks


def _mark(checks: dict, key: str) -> str:
    if key not in checks:
        return ""
    return " ✅" if checks[key] else " ❌"


def _page(name: str, ratio_key: str | None = None):
    def cell(r: dict) -> str:
        page = r["pages"][name]
        text = f"{page['rps']:,.0f} req/s, p50 {page['p50_ms']:.0f} ms, p99 {page['p99_ms']:.0f} ms"
        if "ratio_to_hello" in page:
            text += f", ratio {page['ratio_to_hello']:.2f}"
        if "cpu_ratio_to_hello" in page:
            text += (
                f"; CPU {page['worker_cpu_ms_per_request']:.1f} ms/req"
                f" (ratio {page['cpu_ratio_to_hello']:.2f})"
            )
        if ratio_key:
            text += _mark(r["targets"], ratio_key)
        if not r["targets"].get(f"{name}_p99", True):
            text += " (p99 ❌)"
        return text

    return cell


def _hello(r: dict) -> str:
    low, high = r["hello_rps_range"]
    cpu = [run["worker_cpu_ms_per_request"] for run in r["pages"]["hello_runs"]]
    return (
        f"{r['hello_baseline_rps']:,.0f} req/s ({low:,.0f} to {high:,.0f});"
        f" CPU {sum(cpu) / len(cpu):.1f} ms/req"
    )


def _statements(viewer: str):
    def cell(r: dict) -> str:
        counts = r["statements"]["article"][viewer]
        marks = _mark(r["targets"], f"statements_{viewer}")
        text = f"{counts['5']} / {counts['200']} / {counts['1000']}{marks}"
        served = r["statements"]["article"].get(f"{viewer}_served")
        if served:
            text += f" (as served, page cache: {served['5']} / {served['200']} / {served['1000']})"
        return text

    return cell


def _rate(path: tuple[str, ...], key: str | None = None):
    def cell(r: dict) -> str:
        value = r
        for part in path:
            value = value[part]
        rate = value.get("created_per_s", value.get("recorded_per_s"))
        marks = _mark(r["targets"], key) if key else ""
        return f"{rate:,.0f}/s, p99 {value['p99_ms']:.0f} ms{marks}"

    return cell


def _search(r: dict) -> str:
    value = r["admin"]["member_search"]
    if isinstance(value, str):
        return value
    marks = _mark(r["targets"], "member_search_p50")
    return f"{value['p50_ms']:.0f} / {value['p99_ms']:.0f} ms{marks}"


def _export(r: dict) -> str:
    value = r["admin"]["member_export"]
    if isinstance(value, str):
        return value
    return (
        f"{value['seconds']:.1f} s{_mark(r['targets'], 'export_time')}, "
        f"+{value['peak_memory_growth_mb']:.0f} MB{_mark(r['targets'], 'export_memory')}"
    )


def _memory(r: dict) -> str:
    return " / ".join(f"{m['peak_rss_mb']:.0f} MB" for m in r["worker_memory"].values())


def _dataset(r: dict) -> str:
    return f"{r['dataset']['seconds']['total']:.0f} s / {r['migrate_s']:.0f} s"


ROWS = [
    ("hello route (baseline: run right before each page; mean, range)", _hello, ""),
    ("article, 200 comments, anonymous", _page("article_anonymous", "article_anonymous_ratio"),
     "ratio ≥ 0.5, p99 ≤ 100 ms"),
    ("article, 200 comments, anonymous, rendered (cache-busting query string)",
     _page("article_anonymous_rendered"), ""),
    ("article, 200 comments, signed in", _page("article_signed_in", "article_signed_in_ratio"),
     "ratio ≥ 0.35, p99 ≤ 100 ms"),
    ("home, anonymous", _page("home_anonymous", "home_anonymous_ratio"),
     "ratio ≥ 0.6, p99 ≤ 100 ms"),
    ("home, anonymous, rendered (cache-busting query string)", _page("home_anonymous_rendered"),
     ""),
    ("home, signed in", _page("home_signed_in"), "p99 ≤ 100 ms"),
    ("SQL statements per article page with 5 / 200 / 1,000 comments, anonymous, rendered",
     _statements("anonymous"), "all equal, ≤ 10"),
    ("… signed in", _statements("signed_in"), "all equal, ≤ 10"),
    ("SQL statements, home page anonymous rendered / signed in",
     lambda r: f"{r['statements']['home']['anonymous']} / {r['statements']['home']['signed_in']}"
     f" (as served: {r['statements']['home']['anonymous_served']})",
     ""),
    ("comment POSTs (distinct readers, one story)", _rate(("comment_posts",), "comment_posts"),
     "≥ 200/s on PostgreSQL"),
    ("webhooks: signed events of an ignored type (verify, record once, commit)",
     _rate(("webhooks", "ignored_event"), "webhooks"), "≥ 300/s on PostgreSQL"),
    ("webhooks: customer.subscription.updated (re-fetched from the stand-in Stripe)",
     _rate(("webhooks", "subscription_updated")), ""),
    ("/admin/members search, p50 / p99 (1 connection)", _search, "p50 ≤ 30 ms"),
    ("CSV export of 100,000 members: time, worker peak memory growth", _export, "≤ 5 s, ≤ 50 MB"),
    ("gunicorn workers' peak RSS (VmHWM) at the end", _memory, ""),
    ("dataset generation / schema migration", _dataset, "generation < 2 min on PostgreSQL"),
    ("sponsorships in the dataset", lambda r: r["dataset"]["sponsorships"], ""),
]  # fmt: skip


def table(results: dict) -> str:
    """The results as a Markdown table (printed, stored in results.json, pasted in the README)."""
    kinds = list(results["databases"])
    names = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
    header = ["measure", *[names.get(k, k) for k in kinds], "target (issue 8)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, cell, target in ROWS:
        cells = []
        for kind in kinds:
            try:
                cells.append(cell(results["databases"][kind]))
            except (KeyError, TypeError, ValueError):
                cells.append(results["databases"][kind].get("error", "-")[:60])
        lines.append("| " + " | ".join([label, *cells, target]) + " |")
    return "\n".join(lines)


def main() -> int:
    settings = {
        "databases": [
            d.strip()
            for d in os.environ.get("BENCH_DATABASES", "postgresql,sqlite").split(",")
            if d.strip()
        ],
        "duration": env_float("BENCH_DURATION", 10),
        "warmup": env_float("BENCH_WARMUP", 2),
        "connections": int(env_float("BENCH_CONNECTIONS", 32)),
        "threads": int(env_float("BENCH_THREADS", 2)),
        "scale": env_float("BENCH_SCALE", 1.0),
        "keep": os.environ.get("BENCH_KEEP", "") not in ("", "0", "false"),
        "gunicorn_workers": 2,
    }
    output = Path(os.environ.get("BENCH_OUTPUT", ROOT / "bench" / "results.json"))
    loadgen.wrk_path()
    started = time.perf_counter()
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "commit": git_state(),
        "settings": settings,
        "targets": TARGETS,
        "databases": {},
    }
    log(f"machine: {results['machine']}")
    for kind in settings["databases"]:
        try:
            results["databases"][kind] = bench_database(kind, settings)
        except Exception as error:  # report the failure, still measure the other database
            log(f"{kind} failed: {error!r}")
            results["databases"][kind] = {"error": f"{type(error).__name__}: {error}"}
        results["databases"][kind]["targets"] = evaluate(kind, results["databases"][kind])
    results["wall_s"] = round(time.perf_counter() - started, 1)
    results["table_markdown"] = table(results)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log("\n" + results["table_markdown"])
    log(f"\nwritten to {output}; total wall time {results['wall_s']} s")
    # Targets are reported, never asserted: only a run that could not measure fails.
    return 1 if any("error" in r for r in results["databases"].values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
