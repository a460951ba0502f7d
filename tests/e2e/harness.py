"""The pieces a browser suite needs, usable outside pytest too (the screenshots script).

- `start_app`: the real app under gunicorn on a free loopback port, on a fresh SQLite database
  (migrated, demo content, Stripe catalogue synced against the stand-in), stopped afterwards.
- `SiteData`: direct database access for set-up the browser should not have to click through
  (create accounts, let time pass for the comment interval).
- `launch_chromium`: Debian's Chromium through Playwright, kept off the network beyond loopback.
- `Axe` helpers and `horizontal_overflow` for the accessibility and phone-width checks.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
# Every browser request comes from 127.0.0.1, so the per-IP limits would count the whole suite
# as one visitor; the per-account limits stay as configured.
RAISED_LIMITS = {
    "FLASK_LOGIN_LIMIT_PER_IP": '"1000/minute"',
    "FLASK_EMAIL_LIMIT_PER_IP": '"1000/minute"',
}
# Settings a developer's `.env` or shell could carry into the server: pinned for the suite.
PINNED_ENV = {
    "REDIS_URL": "",
    "PROXY_FIX_X_FOR": "0",
    "MAIL_USE_TLS": "",
    "MAIL_USE_SSL": "",
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_DEFAULT_SENDER": "The Civic Ledger <newsroom@localhost>",
    "SITE_NAME": "The Civic Ledger",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_stub",
}


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the app under gunicorn -------------------------------------------------------------------


@dataclass
class AppServer:
    """A running app: its URL, its environment (for `flask` commands) and its log."""

    base_url: str
    env: dict[str, str]
    database_url: str
    log_path: Path
    process: subprocess.Popen | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def flask(self, *args: str, stdin: str | None = None) -> str:
        """Run `flask --app app ARGS` against this app's database; returns its output."""
        return run_flask(self.env, *args, stdin=stdin)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def run_flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    command = [sys.executable, "-m", "flask", "--app", "app", *args]
    result = subprocess.run(
        command, cwd=ROOT, env=env, input=stdin or "", capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`flask {' '.join(args)}` failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result.stdout


# The `flask` commands of a deployment, run in one process: each start of Python with the app
# costs seconds on this machine.
_RUN_COMMANDS = """
import json, sys
from app import app
for args in json.loads(sys.argv[1]):
    result = app.test_cli_runner().invoke(args=args)
    print(result.output, end="")
    if result.exit_code != 0:
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        sys.exit(f"flask {' '.join(args)} exited with {result.exit_code}")
"""


def run_flask_commands(env: dict[str, str], commands: list[list[str]]) -> str:
    """Run several `flask --app app` commands, in order, in one process."""
    import json

    result = subprocess.run(
        [sys.executable, "-c", _RUN_COMMANDS, json.dumps(commands)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{commands} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def app_environment(
    workdir: Path,
    port: int,
    *,
    mail_port: int | None = None,
    stripe: Any = None,
    extra: dict[str, str] | None = None,
    site_host: str = "127.0.0.1",
) -> dict[str, str]:
    """The server's environment: development cookies over http, a fresh database in `workdir`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    env.update(PINNED_ENV)
    env.update(
        {
            "APP_ENV": "development",
            "SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
            "INSTANCE_PATH": str(workdir / "instance"),
            "DATABASE_URL": f"sqlite:///{workdir / 'e2e.sqlite3'}",
            "SITE_URL": f"http://{site_host}:{port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if mail_port is not None:
        env.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mail_port), "MAIL_TIMEOUT": "5"})
    else:
        env["MAIL_SERVER"] = ""  # saved under instance/outbox/
    if stripe is not None:
        env.update(
            {
                "STRIPE_SECRET_KEY": "sk_test_stub",
                "STRIPE_WEBHOOK_SECRET": stripe.webhook_secret,
                "STRIPE_API_BASE": stripe.base_url,
            }
        )
    else:
        env.update({"STRIPE_SECRET_KEY": "", "STRIPE_WEBHOOK_SECRET": "", "STRIPE_API_BASE": ""})
    env.update(RAISED_LIMITS)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def start_app(
    workdir: Path,
    *,
    mail_port: int | None = None,
    stripe: Any = None,
    extra_env: dict[str, str] | None = None,
    workers: int = 2,
    site_host: str = "127.0.0.1",
) -> Iterator[AppServer]:
    """Migrate, seed and serve the app under gunicorn; stop it on exit.

    With `stripe` (a started StripeStub), the tiers are synced to it and, once the server
    answers, its signed webhooks are POSTed to the app over HTTP as soon as they happen.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # `site_host="localhost"` for passkeys: WebAuthn refuses an IP address as the RP id.
    env = app_environment(
        workdir, port, mail_port=mail_port, stripe=stripe, extra=extra_env, site_host=site_host
    )
    server = AppServer(
        base_url=f"http://{site_host}:{port}",
        env=env,
        database_url=env["DATABASE_URL"],
        log_path=workdir / "gunicorn.log",
    )
    commands = [["db", "upgrade"], ["seed-demo"]]
    if stripe is not None:
        commands.append(["stripe", "sync"])
    run_flask_commands(env, commands)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--access-logfile",
        "-",
        "app:app",
    ]
    with server.log_path.open("ab") as log:
        server.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        # The job worker beside it, as in production: every email goes through the queue.
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(server)
        if stripe is not None:
            stripe.webhook_url = server.url("/stripe/webhook")
            stripe.auto_deliver = True
        yield server
    finally:
        if stripe is not None:
            stripe.webhook_url = None
            stripe.auto_deliver = False
        for process in (server.process, worker):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_until_healthy(server: AppServer, timeout: float = 30.0) -> None:
    """Poll /healthz until it answers 200 (the server is a separate process: no event to await)."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url("/healthz"), timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"the app did not become healthy ({last_error}):\n{server.log_tail()}")


# --- direct database access -------------------------------------------------------------------


@dataclass
class SiteData:
    """The server's database through the app's own models, for set-up and checks.

    Set-up the browser should not have to click through goes here: accounts that exist already,
    time that has passed. Journeys themselves go through the browser.
    """

    server: AppServer
    _app: Any = field(default=None, init=False, repr=False)

    @property
    def app(self):
        if self._app is None:
            from membership import create_app

            self._app = create_app(
                {
                    "APP_ENV": "testing",
                    "TESTING": True,
                    "SECRET_KEY": self.server.env["SECRET_KEY"],
                    "SITE_URL": self.server.env["SITE_URL"],
                    "SQLALCHEMY_DATABASE_URI": self.server.database_url,
                    "RATELIMIT_STORAGE_URI": "memory://",
                }
            )
        return self._app

    @contextlib.contextmanager
    def session(self):
        """A database session in an app context; committed on success, always closed."""
        from membership.extensions import db

        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    def create_user(
        self,
        email: str,
        display_name: str,
        *,
        password: str = PASSWORD,
        role: str = "reader",
        confirmed: bool = True,
        age: timedelta = timedelta(0),
    ) -> int:
        """A reader (or moderator, admin) that exists already; returns its id.

        `age` backdates the account: readers younger than a day wait 30 seconds between
        comments, older ones 5.
        """
        from membership.auth.services import create_user
        from membership.models.types import utcnow

        with self.session():
            user = create_user(email, display_name, password, role=role, confirmed=confirmed)
            if age:
                user.created_at = utcnow() - age
                user.password_changed_at = user.created_at
            user_id = user.id
        return user_id

    def let_time_pass(self, email: str, amount: timedelta = timedelta(days=2)) -> None:
        """Move the account's creation and its last comment `amount` into the past, so the
        comment interval (30 s for new accounts, 5 s after that) has elapsed."""
        from membership.auth.services import find_user_by_email

        with self.session():
            user = find_user_by_email(email)
            assert user is not None, f"no account {email}"
            user.created_at -= amount
            if user.last_comment_at is not None:
                user.last_comment_at -= amount

    def user(self, email: str) -> dict[str, Any]:
        """A snapshot of the account's row (column name to value)."""
        from membership.auth.services import find_user_by_email

        with self.session():
            user = find_user_by_email(email)
            assert user is not None, f"no account {email}"
            return {column.key: getattr(user, column.key) for column in user.__table__.columns}

    def post_comment(
        self, email: str, article_slug: str, body: str, *, reply_to: int | None = None
    ):
        """A comment by an existing reader, posted through the app's rules; returns its id."""
        from sqlalchemy import select

        from membership.auth.services import find_user_by_email
        from membership.comments.services import post_comment
        from membership.models import Article, Comment

        self.let_time_pass(email, timedelta(minutes=1))
        with self.session() as session:
            user = find_user_by_email(email)
            article = session.scalar(select(Article).where(Article.slug == article_slug))
            parent = session.get(Comment, reply_to) if reply_to else None
            comment, _created = post_comment(user, article, body, reply_to=parent)
            session.flush()
            comment_id = comment.id
        return comment_id

    def reports_of(self, comment_id: int) -> list[tuple[str, str, str]]:
        """(reporter email, reason, status) of every report of the comment."""
        from sqlalchemy import select

        from membership.models import CommentReport, User

        with self.session() as session:
            rows = session.execute(
                select(User.email, CommentReport.reason, CommentReport.status)
                .join(User, User.id == CommentReport.reporter_id)
                .where(CommentReport.comment_id == comment_id)
            )
            return [tuple(row) for row in rows]

    def enable_two_factor(self, email: str) -> str:
        """Turn on two-factor sign-in for the account, as if it had scanned a QR code; returns
        the TOTP secret (compute codes with `pyotp.TOTP(secret).now()`)."""
        import pyotp

        from membership.auth.services import find_user_by_email
        from membership.models.types import utcnow

        secret = pyotp.random_base32()
        with self.session():
            user = find_user_by_email(email)
            assert user is not None, f"no account {email}"
            user.totp_secret = secret
            user.totp_enabled_at = utcnow()
            user.totp_last_step = None
        return secret

    def report_comment(self, comment_id: int, reporter_email: str, reason: str = "abuse") -> None:
        """An open report of the comment, as the report form would file it."""
        from membership.auth.services import find_user_by_email
        from membership.models import Comment, CommentReport

        with self.session() as session:
            reporter = find_user_by_email(reporter_email)
            assert reporter is not None, f"no account {reporter_email}"
            comment = session.get(Comment, comment_id)
            assert comment is not None, f"no comment {comment_id}"
            session.add(
                CommentReport(comment_id=comment.id, reporter_id=reporter.id, reason=reason)
            )
            comment.open_report_count += 1

    def like_comment(self, comment_id: int, email: str) -> None:
        """The reader likes the comment, through the app's rules."""
        from membership.auth.services import find_user_by_email
        from membership.comments.services import toggle_like
        from membership.models import Comment

        with self.session() as session:
            assert toggle_like(find_user_by_email(email), session.get(Comment, comment_id))

    def feature_comment(self, comment_id: int, moderator_email: str) -> None:
        """A moderator features the comment, through the app's rules (audited)."""
        from membership.auth.services import find_user_by_email
        from membership.comments.services import feature_comment
        from membership.models import Comment

        with self.session() as session:
            moderator = find_user_by_email(moderator_email)
            feature_comment(moderator, session.get(Comment, comment_id), True)

    def sponsorships_named(self, display_name: str) -> list[dict[str, Any]]:
        """Snapshots of the sponsorship rows whose name on the wall is `display_name`."""
        from sqlalchemy import select

        from membership.models import Sponsorship

        with self.session() as session:
            rows = session.scalars(
                select(Sponsorship)
                .where(Sponsorship.display_name == display_name)
                .order_by(Sponsorship.id)
            ).all()
            return [
                {column.key: getattr(row, column.key) for column in row.__table__.columns}
                for row in rows
            ]

    def add_paid_sponsorship(
        self,
        display_name: str,
        amount: int,
        *,
        frequency: str = "once",
        recognition: str = "name_amount",
        message: str = "",
    ) -> int:
        """A gift that was paid already (amount in minor units), so the wall has entries."""
        from membership.models import Sponsorship, SponsorshipPayment

        reference = secrets.token_hex(8)
        with self.session() as session:
            sponsorship = Sponsorship(
                email=f"sponsor-{reference}@example.org",
                display_name=display_name,
                frequency=frequency,
                amount=amount,
                currency="usd",
                message=message,
                recognition=recognition,
                status="active" if frequency == "monthly" else "paid",
                stripe_payment_intent_id=f"pi_seeded_{reference}",
            )
            session.add(sponsorship)
            session.flush()
            session.add(
                SponsorshipPayment(
                    sponsorship_id=sponsorship.id,
                    stripe_reference=f"pi_seeded_{reference}",
                    amount=amount,
                )
            )
            sponsorship_id = sponsorship.id
        return sponsorship_id

    def close(self) -> None:
        if self._app is not None:
            from membership.extensions import db

            with self._app.app_context():
                db.session.remove()
                db.engine.dispose()


# --- the browser ------------------------------------------------------------------------------


def launch_chromium(playwright):
    """Debian's Chromium, headless. Everything but loopback goes to a dead proxy, so the browser
    cannot reach the network even by an IP address or a redirect."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it)"
        )
    dead_port = free_port()
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        proxy={"server": f"http://127.0.0.1:{dead_port}", "bypass": "127.0.0.1,localhost"},
    )


def is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost", "::1")


# --- accessibility and layout ------------------------------------------------------------------

BLOCKING_IMPACTS = ("serious", "critical")
# Known app bugs that axe reports, each excused for exactly the failing check it causes and
# pinned by a test. None at the moment.
KNOWN_APP_BUGS: dict[str, set[str]] = {}


def axe_violations(page) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it stands (the engine ships in the wheel)."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe().run(page).response["violations"]


def without_known_app_bugs(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The violations, less the nodes whose only failing checks are a known bug's."""
    remaining = []
    for violation in violations:
        excused = KNOWN_APP_BUGS.get(violation["id"], set())
        nodes = [node for node in violation["nodes"] if not _only_excused_failures(node, excused)]
        if nodes:
            remaining.append({**violation, "nodes": nodes})
    return remaining


def _only_excused_failures(node: dict[str, Any], excused: set[str]) -> bool:
    """True when every failing check of the node names only excused attribute values."""
    checks = node["any"] + node["all"] + node["none"]
    if not excused or not checks:
        return False
    for check in checks:
        data = check.get("data")
        if not isinstance(data, list) or not data or not set(data) <= excused:
            return False
    return True


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
    return "\n".join(lines)


def horizontal_overflow(page) -> dict[str, Any]:
    """How far the page scrolls sideways, and the widest elements sticking out past the edge."""
    return page.evaluate(
        """() => {
            const root = document.documentElement;
            const width = root.clientWidth;
            const culprits = [];
            for (const el of document.body.querySelectorAll('*')) {
                const box = el.getBoundingClientRect();
                if (box.width > 0 && box.right > width + 1) {
                    let inScroller = false;
                    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                        const style = getComputedStyle(p);
                        if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) {
                            inScroller = true;
                            break;
                        }
                    }
                    if (!inScroller) {
                        const name = el.tagName.toLowerCase()
                            + (el.id ? '#' + el.id : '')
                            + (el.className && typeof el.className === 'string'
                                ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
                        culprits.push(name + ' right=' + Math.round(box.right));
                    }
                }
            }
            return {
                viewport: width,
                scrollWidth: Math.max(root.scrollWidth, document.body.scrollWidth),
                culprits: culprits.slice(0, 10),
            };
        }"""
    )
