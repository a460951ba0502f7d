"""Fixtures: an app on a fresh database per test, a real SMTP server, HTTP helpers, factories.

The suite runs on SQLite by default and on PostgreSQL with `TEST_DATABASE=postgresql`
(a throwaway database is created for the session and dropped at its end).
"""

import atexit
import functools
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from flask import has_app_context
from flask.testing import FlaskClient
from hypothesis import settings
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from membership import create_app
from membership.extensions import db

# Every health check stays on. A property that must skip one names it on its own @settings,
# with the reason beside it (tests/test_sponsors.py: one app shared by all examples on purpose).
settings.register_profile("ci", max_examples=500, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

USING_POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgresql"


class SharedBytecodeCache(BytecodeCache):
    """Compiled templates kept in memory for the session (keys include the source checksum)."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = SharedBytecodeCache()
PASSWORD = "correct horse battery staple"
CSRF_PATTERN = re.compile(
    r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
)


# --- database -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL database for the whole session, dropped at its end."""
    if not USING_POSTGRES:
        yield None
        return
    admin_url = make_url(
        os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    )
    name = f"membership_test_{uuid.uuid4().hex[:10]}"
    conninfo = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and cannot be reached: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.begin():
        pass
    import membership.models  # noqa: F401  (registers every table on the metadata)

    db.metadata.create_all(engine)
    engine.dispose()
    yield url
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SQLITE_TEMPLATE: dict[str, Path] = {}


@pytest.fixture(scope="session")
def sqlite_template():
    """An empty SQLite database with every table, copied for each test (faster than DDL).

    Made once per process and kept beyond the session: `make mutation` runs one test session
    per mutant in a fork of the process that made it, so each starts with the file in place.
    """
    path = SQLITE_TEMPLATE.get("path")
    if path is not None and path.exists():
        return path
    import membership.models  # noqa: F401  (registers every table on the metadata)

    path = Path(tempfile.mkdtemp(prefix="membership-template-")) / "template.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    db.metadata.create_all(engine)
    engine.dispose()
    creator = os.getpid()

    def remove() -> None:
        if os.getpid() == creator:  # not in a fork (forks end with os._exit anyway)
            shutil.rmtree(path.parent, ignore_errors=True)

    atexit.register(remove)
    SQLITE_TEMPLATE["path"] = path
    return path


@pytest.fixture
def database_url(postgres_url, tmp_path, request):
    """The database for one test: a fresh SQLite file, or the emptied PostgreSQL database."""
    if postgres_url is None:
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    engine = create_engine(postgres_url)
    tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return postgres_url


@dataclass(frozen=True)
class RedisTarget:
    """A Redis server and the key prefix this test run owns on it."""

    url: str
    key_prefix: str

    def limiter_settings(self) -> dict:
        """App settings that keep Flask-Limiter's counters in Redis, under this run's prefix."""
        return {"RATELIMIT_STORAGE_URI": self.url, "RATELIMIT_KEY_PREFIX": self.key_prefix}


@pytest.fixture(scope="session")
def redis_url():
    """Redis for the session, with a key prefix of its own; only those keys are deleted after.

    Like PostgreSQL: unreachable Redis fails the run in CI (`CI` set) and skips locally. The
    server may be shared (other runs, other projects), so nothing is ever flushed.
    """
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    connection = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        connection.ping()
    except redis.exceptions.RedisError as exc:
        connection.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI and cannot be reached at {url}: {exc}")
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    target = RedisTarget(url, f"membership-test-{uuid.uuid4().hex}")
    yield target
    own_keys = list(connection.scan_iter(match=f"*{target.key_prefix}*", count=1000))
    if own_keys:
        connection.delete(*own_keys)
    connection.close()


# --- mail -----------------------------------------------------------------------------------


class Mailbox:
    """Messages received by the loopback SMTP server."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def clear(self) -> None:
        self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in m["To"].lower()]

    def last(self, address: str) -> EmailMessage:
        found = self.to(address)
        assert found, f"no email to {address}; got {[m['To'] for m in self.messages]}"
        return found[-1]

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    def link(self, address: str, path_fragment: str) -> str:
        """The first link in the newest email to `address` whose URL contains the fragment."""
        body = self.text_of(self.last(address))
        for url in re.findall(r"https?://\S+", body):
            if path_fragment in url:
                return url
        raise AssertionError(f"no link with {path_fragment!r} in: {body}")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on loopback for the whole session."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    """The messages received during this test."""
    _controller, box = smtp_server
    box.clear()
    return box


# --- app and clients ------------------------------------------------------------------------


class FormClient(FlaskClient):
    """A test client that submits forms the way a browser does: with the page's CSRF token.

    Each request runs in its own application context, as in production: otherwise Flask would
    reuse the test's context and `g` (CSRF token, session row) would leak between requests.
    Afterwards the test's own session forgets what it loaded, so it sees the request's writes.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        return response

    def csrf_token(self, page: str, **kwargs) -> str:
        response = self.get(page, **kwargs)
        match = CSRF_PATTERN.search(response.get_data(as_text=True))
        assert match, f"no CSRF token on {page} ({response.status_code})"
        return match.group(1) or match.group(2)

    def submit(self, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
        """GET `page` (default: `url`) for its token, then POST the form to `url`."""
        data = dict(data or {})
        headers = kwargs.get("headers")
        data.setdefault("csrf_token", self.csrf_token(page or url, headers=headers))
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def make_app(database_url, smtp_server, tmp_path, monkeypatch):
    """Build an app on this test's database; keyword arguments override settings."""
    controller, _ = smtp_server
    created = []
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))

    def factory(**overrides):
        config = {
            "TESTING": True,
            "APP_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "SITE_URL": "http://portal.test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": controller.port,
            "MAIL_BACKEND": "smtp",
            "MAIL_TIMEOUT": 5,
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
            "RATELIMIT_STORAGE_URI": "memory://",
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 8,
            "ARGON2_PARALLELISM": 1,
            # Most tests change data behind the app's back; test_pagecache.py turns it on.
            "PAGE_CACHE_SECONDS": 0,
            # Jobs run in-line through the real job code (tests/test_jobs.py runs a consumer).
            "JOBS_STORE": "immediate",
        }
        config.update(overrides)
        application = create_app(config)
        application.test_client_class = FormClient
        # Templates compile once per session, not once per app.
        application.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
        if config["SQLALCHEMY_DATABASE_URI"] != database_url and config[
            "SQLALCHEMY_DATABASE_URI"
        ].startswith("sqlite"):
            with application.app_context():
                db.create_all()
        created.append(application)
        return application

    yield factory
    for application in created:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app_config() -> dict:
    """Settings for the `app` fixture; a test module overrides this fixture to change them."""
    return {}


# Constants that cost real time to build and hold no rule: a password hash for timing
# equality, and the list of common passwords read from a file.
KEPT_ACROSS_TESTS = {"_dummy_hash", "common_passwords"}


def _membership_caches() -> list:
    """Every function of the package kept behind `functools.lru_cache` (statement builders,
    rendered snippets): what a process builds once and then reuses."""
    found = []
    for name, module in list(sys.modules.items()):
        if name == "membership" or name.startswith("membership."):
            for value in vars(module).values():
                # type(), not isinstance(): the module's LocalProxy objects (g, current_app)
                # would look for an application context.
                if (
                    type(value) is functools._lru_cache_wrapper
                    and value.__module__ == name
                    and value.__name__ not in KEPT_ACROSS_TESTS
                ):
                    found.append(value)
    return found


@pytest.fixture(autouse=True)
def fresh_process_caches(_package_caches):
    """Each test starts as a new process would: nothing built by an earlier test.

    Without it a statement builder (the discussion's, which asks `access.paying_condition` for
    the badges) runs only in the first test of a process and minute, so a test's result could
    depend on the tests before it, and mutmut, which learns which tests reach each function by
    watching calls, would judge the badge rules with whichever test came first.
    """
    for cached in _package_caches:
        cached.cache_clear()


@pytest.fixture(scope="session")
def _package_caches() -> list:
    """The cached functions, listed once for the session (every module imported first)."""
    import importlib
    import pkgutil

    import membership

    for module in pkgutil.walk_packages(membership.__path__, "membership."):
        importlib.import_module(module.name)
    return _membership_caches()


@pytest.fixture
def app(make_app, app_config):
    """The application with test settings."""
    application = make_app(**app_config)
    with application.app_context():
        yield application


@pytest.fixture
def client(app) -> FormClient:
    """A browser-like client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """The `flask` command runner."""
    return app.test_cli_runner()


@pytest.fixture
def shared_cache_config(tmp_path, request):
    """Settings that turn the shared page and fragment caches on: Redis (`redis_url`: failing in
    CI, skipped elsewhere, when unreachable) under a key prefix of this test's own on PostgreSQL
    runs, files in a directory of this test's own on SQLite runs."""
    if not USING_POSTGRES:
        yield {
            "PAGE_CACHE_SECONDS": 30,
            "CACHE_TYPE": "membership.filecache.FileCache",
            "CACHE_DIR": str(tmp_path / "shared-cache"),
            "CACHE_THRESHOLD": 2000,
        }
        return
    import redis

    target = request.getfixturevalue("redis_url")
    prefix = f"{target.key_prefix}:cache-{uuid.uuid4().hex[:12]}:"
    yield {
        "PAGE_CACHE_SECONDS": 30,
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_URL": target.url,
        "CACHE_KEY_PREFIX": prefix,
        "CACHE_OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
    client = redis.Redis.from_url(target.url, socket_connect_timeout=2)
    keys = list(client.scan_iter(match=f"{prefix}*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


# --- factories ------------------------------------------------------------------------------


@pytest.fixture
def make_user(app):
    """Create a user directly; returns the User."""
    from sqlalchemy import select

    from membership.auth.services import create_user
    from membership.models import Tier

    def comp_tier():
        tier = db.session.scalar(select(Tier).where(Tier.slug == "supporter"))
        if tier is None:
            tier = Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000)
            db.session.add(tier)
            db.session.flush()
        return tier

    counter = iter(range(1, 10_000))

    def factory(
        email: str | None = None,
        *,
        password: str = PASSWORD,
        display_name: str | None = None,
        confirmed: bool = True,
        role: str = "reader",
        paying: bool = False,
        **fields,
    ):
        """`paying=True` grants a complimentary paid tier (what billing also counts as paying)."""
        number = next(counter)
        if paying:
            fields.setdefault("complimentary_tier_id", comp_tier().id)
        user = create_user(
            email or f"reader{number}@example.org",
            display_name or f"Reader {number}",
            password,
            role=role,
            confirmed=confirmed,
        )
        for key, value in fields.items():
            setattr(user, key, value)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login():
    """Sign a client in through the login form; returns the response."""

    def do_login(client, email: str, password: str = PASSWORD, **extra):
        return client.submit("/login", {"email": email, "password": password, **extra})

    return do_login


@pytest.fixture
def user(make_user):
    """A confirmed reader."""
    return make_user("ada@example.org", display_name="Ada")


@pytest.fixture
def signed_in(client, user, login):
    """A client signed in as `user`."""
    response = login(client, user.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def make_article(app):
    """Create a published article (in a "World" section) and return it."""
    from datetime import timedelta

    from sqlalchemy import select

    from membership.models import Article, Section
    from membership.models.types import utcnow

    counter = iter(range(1, 10_000))

    def factory(**fields):
        section = db.session.scalar(select(Section).where(Section.slug == "world"))
        if section is None:
            section = Section(slug="world", name="World", description="", position=0)
            db.session.add(section)
        number = next(counter)
        values = {
            "slug": f"story-{number}",
            "title": f"Story {number}",
            "summary": "A summary.",
            "body": "The body of the story.",
            "author_name": "A. Reporter",
            "status": "published",
            "access_level": "public",
            "published_at": utcnow() - timedelta(hours=number),
        }
        values.update(fields)
        article = Article(section=section, **values)
        db.session.add(article)
        db.session.commit()
        return article

    return factory


@pytest.fixture
def article(make_article):
    """A published public article."""
    return make_article(slug="harbor-story", title="Harbor story")


# --- Stripe ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stripe_server():
    """The stand-in Stripe server on loopback, for the whole session."""
    from tests.stripe_stub import StripeStub

    stub = StripeStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def stripe_stub(stripe_server):
    """The stand-in, emptied for this test; webhooks wait in `outbox` until delivered."""
    stripe_server.reset()
    yield stripe_server
    assert stripe_server.server_errors == []
    stripe_server.reset()


def stripe_settings(stub, **overrides) -> dict:
    """App settings that point the real Stripe SDK at the stand-in."""
    return {
        "STRIPE_SECRET_KEY": "sk_test_stub",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_stub",
        "STRIPE_WEBHOOK_SECRET": stub.webhook_secret,
        "STRIPE_API_BASE": stub.base_url,
        "STRIPE_TIMEOUT": 2,
        **overrides,
    }


def connect_webhooks(stub, app) -> None:
    """Deliver the stand-in's signed webhooks to the app's endpoint through a test client."""
    poster = app.test_client()

    def deliver(payload: bytes, headers: dict) -> int:
        return poster.post("/stripe/webhook", data=payload, headers=headers).status_code

    stub.deliver_to = deliver


# --- staff --------------------------------------------------------------------------------------


def totp_code(user) -> str:
    """A valid code for the user's next time step (codes work once, so never the last one)."""
    import time

    import pyotp

    step = max(int(time.time() // 30), (user.totp_last_step or 0) + 1)
    return pyotp.TOTP(user.totp_secret).at(step * 30)


@pytest.fixture
def make_admin(make_user):
    """An administrator with two-factor sign-in set up."""
    import pyotp

    from membership.models.types import utcnow

    def factory(email: str = "admin@example.org", *, role: str = "admin", **fields):
        return make_user(
            email,
            role=role,
            totp_secret=pyotp.random_base32(),
            totp_enabled_at=utcnow(),
            **fields,
        )

    return factory


def sign_in_with_two_factor(client, user, password: str = PASSWORD):
    """Password, then the TOTP code: what an administrator does."""
    response = client.submit("/login", {"email": user.email, "password": password})
    assert response.headers["Location"].endswith("/login/two-factor"), response.status_code
    db.session.refresh(user)
    return client.submit("/login/two-factor", {"code": totp_code(user)})


@pytest.fixture
def admin_client(app, make_admin):
    """A signed-in administrator who passed two-factor sign-in."""
    admin = make_admin()
    client = app.test_client()
    response = sign_in_with_two_factor(client, admin)
    assert response.status_code == 302, response.get_data(as_text=True)
    client.user = admin
    return client


@pytest.fixture
def make_staff_client(app, make_admin):
    """A signed-in staff member of the given role, past two-factor sign-in (client.user)."""
    counter = iter(range(1, 10_000))

    def factory(role: str, email: str | None = None):
        user = make_admin(email or f"{role}{next(counter)}@example.org", role=role)
        client = app.test_client()
        response = sign_in_with_two_factor(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)
        client.user = user
        return client

    return factory


@pytest.fixture
def authenticator():
    """A software WebAuthn authenticator for the test site (origin http://portal.test)."""
    from tests.soft_authenticator import SoftAuthenticator

    return SoftAuthenticator()


def add_threads(article, author_id: int, count: int) -> None:
    """`count` top-level comments a second apart, a day old, with the article's counter kept."""
    from datetime import timedelta

    from membership.models import Comment
    from membership.models.types import utcnow

    base = utcnow() - timedelta(days=1)
    db.session.add_all(
        Comment(
            article_id=article.id,
            author_id=author_id,
            body=f"Comment number {n:03d}",
            created_at=base + timedelta(seconds=n),
        )
        for n in range(count)
    )
    article.comment_count += count
    db.session.commit()


# --- mutation testing (`make mutation`, issue 15) -------------------------------------------

# The tests that judge each mutated module, in this order. mutmut passes every selected test
# that reached the mutated function (directly or through its callers): for a function every
# page calls, that is the whole selection, and a surviving mutant pays for all of it. So each
# module keeps its rule tests first (fast, and written to kill), then the feature suites of
# the same rules; tests of other modules' rules are left out. Only while mutmut tests a mutant.
MUTATION_TESTS = {
    # Every page asks access.py, so every test reaches it: only the files about reading,
    # paying, badges and the gate judge it.
    "membership.access": (
        "tests/rules/test_rules_membership.py",
        "tests/rules/test_rules_access.py",
        "tests/rules/test_rules_badges.py",
        "tests/test_access.py",
        "tests/test_comment_gate.py",
    ),
    "membership.auth.sessions": (
        "tests/rules/test_rules_sessions.py",
        "tests/test_sessions.py",
        "tests/test_login.py",
    ),
    "membership.billing.events": (
        "tests/rules/test_rules_events.py",
        "tests/rules/test_rules_billing.py",
        "tests/test_stripe_webhooks.py",
        "tests/test_billing.py",
    ),
    "membership.billing.services": (
        "tests/rules/test_rules_billing.py",
        "tests/rules/test_rules_billing_plans.py",
        "tests/rules/test_rules_events.py",
        "tests/test_billing.py",
        "tests/test_stripe_webhooks.py",
    ),
    "membership.comments.services": (
        "tests/rules/test_rules_comment",  # every comment rules file
        "tests/test_comments.py",
        "tests/test_discussion.py",
        "tests/test_moderation.py",
        "tests/test_comment_gate.py",
    ),
    "membership.sponsors.events": (
        "tests/rules/test_rules_sponsors.py",
        "tests/rules/test_rules_events.py",
        "tests/test_sponsors.py",
    ),
    "membership.sponsors.services": (
        "tests/rules/test_rules_sponsors.py",
        "tests/rules/test_rules_events.py",
        "tests/test_sponsors.py",
    ),
}


# Which tests killed each function's mutants in an earlier run, committed as pytest-split
# commits its durations: `tools/mutation_report.py --save-kills` writes it after a run.
MUTATION_KILLS = Path(__file__).with_name("mutation-kills.json")


def pytest_runtest_logreport(report):
    """While mutmut tests a mutant: note the test that killed it (mutmut stops at the first
    failure), in mutants/mutation-kills.jsonl, one line per kill (appends of a short line from
    the two workers do not interleave)."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if report.failed and "__mutmut_" in mutant:
        line = json.dumps([mutant, report.nodeid.removeprefix("mutants/")])
        with open("mutation-kills.jsonl", "a", encoding="utf-8") as kills:
            kills.write(line + "\n")


def mutated_module() -> str | None:
    """The module whose mutant runs in this process (mutmut sets `module.x_function__mutmut_N`)."""
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in name:
        return None  # not a mutant: a normal run, or mutmut's stats, clean and forced-fail runs
    return name.rpartition(".")[0]


def pytest_sessionfinish(session, exitstatus):
    """The app's log handler writes to the `sys.stderr` of the session that made it: pytest's
    capture, closed now. A later session in this process (mutmut runs its stats, its clean run
    and every mutant in one process and its forks) must make its own, or each log line there
    prints "Logging error" and the call stack into the output a CLI test reads."""
    import logging

    logging.getLogger("membership").handlers.clear()


def pytest_configure(config):
    """Under mutmut: the Stripe SDK retries a 5xx after 10 ms, not 0.5 to 1 s.

    The outage tests still see every retry; only the waiting goes (it blocks a worker).
    """
    if "MUTANT_UNDER_TEST" in os.environ:  # mutmut's stats and clean runs, and each mutant
        from stripe._http_client import HTTPClient

        HTTPClient.INITIAL_DELAY = 0.01
        HTTPClient.MAX_DELAY = 0.05
        _reuse_url_builders()


def _reuse_url_builders() -> None:
    """Under mutmut: each app's URL rules reuse the builders compiled for the
    same rule by an earlier app of the session.

    Every test makes its own app, and Werkzeug compiles two small Python functions per URL rule
    for `url_for` (about 0.1 s an app, most of a short test's setup). A builder depends only on
    the rule's text and defaults, so the same rule gets the same function. Only in mutation
    runs: `make test` keeps Werkzeug untouched.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    compiled: dict = {}

    def reused(self, append_unknown: bool = True):
        key = (
            self.rule,
            self.subdomain,
            self.host,
            repr(sorted((self.defaults or {}).items())),
            tuple(self._trace),
            append_unknown,
        )
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = reused


def pytest_collection_modifyitems(config, items):
    """While mutmut tests a mutant: only that module's tests, in MUTATION_TESTS order."""
    module = mutated_module()
    if module not in MUTATION_TESTS:
        return
    prefixes = MUTATION_TESTS[module]

    def rank(item) -> int:
        path = item.nodeid.removeprefix("mutants/")
        return next((i for i, p in enumerate(prefixes) if path.startswith(p)), len(prefixes))

    # First the tests that killed most mutants of the same function in an earlier run
    # (MUTATION_KILLS), then by file group, quickest first within a group (the times mutmut
    # measured in its stats run): a mutant most tests catch is then caught by a cheap one.
    stats = Path("mutmut-stats.json")
    seconds = json.loads(stats.read_text())["duration_by_test"] if stats.exists() else {}
    function = os.environ["MUTANT_UNDER_TEST"].rpartition("__mutmut_")[0]
    known = json.loads(MUTATION_KILLS.read_text()) if MUTATION_KILLS.exists() else {}
    kills = known.get(function, {})

    def order(item) -> tuple[int, int, float]:
        path = item.nodeid.removeprefix("mutants/")
        return -kills.get(path, 0), rank(item), seconds.get(path, 0.0)

    kept = sorted((item for item in items if rank(item) < len(prefixes)), key=order)
    dropped = [item for item in items if rank(item) == len(prefixes)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
