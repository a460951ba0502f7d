"""Two real servers (gunicorn, one worker each) on one database and one cache.

On SQLite runs they share the file cache under their instance folder; on PostgreSQL runs, a
fresh PostgreSQL database and Redis under a key prefix of this test's own. A write through
server A is on the page server B serves, to an anonymous reader and to a signed-in one, as soon
as A's response has returned.
"""

import contextlib
import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta

import psycopg
import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from membership.models import Article, Comment
from tests.conftest import USING_POSTGRES
from tests.e2e.harness import (
    ROOT,
    AppServer,
    SiteData,
    _wait_until_healthy,
    app_environment,
    free_port,
    run_flask_commands,
)
from tests.test_admin_articles import FORM

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, CSRF tokens from the page, redirects not followed: enough of a browser."""

    def __init__(self, server: AppServer) -> None:
        self.server = server
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects()
        )

    def request(self, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        url = self.server.url(path)  # always http://127.0.0.1:<port>
        request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, dict(answer.headers), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def page(self, path: str) -> str:
        status, _headers, text = self.request(path)
        assert status == 200, (path, status)
        return text

    def submit(self, path: str, data: dict | None = None, page: str | None = None) -> int:
        """GET `page` (default: `path`) for its token, POST the form; returns the status."""
        html = self.page(page or path)
        match = CSRF.search(html)
        assert match, f"no CSRF token on {page or path}"
        fields = {"csrf_token": match.group(1) or match.group(2)}
        submission = re.search(r'name="submission_id"[^>]*value="([^"]*)"', html)
        if submission:
            fields["submission_id"] = submission.group(1)
        status, _headers, _text = self.request(path, {**fields, **(data or {})})
        return status


@contextlib.contextmanager
def _database(workdir):
    """A fresh database for the two servers: a SQLite file, or a PostgreSQL database."""
    if not USING_POSTGRES:
        yield f"sqlite:///{workdir / 'shared.sqlite3'}"
        return
    admin_url = make_url(
        os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    )
    conninfo = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"membership_cache_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def _serve(env: dict, log_path) -> AppServer:
    port = free_port()
    server = AppServer(f"http://127.0.0.1:{port}", env, env["DATABASE_URL"], log_path)
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}"]
    with log_path.open("ab") as log:
        server.process = subprocess.Popen(
            [*command, "app:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


@pytest.fixture
def servers(tmp_path, shared_cache_config, monkeypatch):
    """Servers A and B on one database and one cache, with the demo content; and their data."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "site-data"))
    with _database(tmp_path) as database_url:
        extra = {"DATABASE_URL": database_url, "FLASK_RATELIMIT_STORAGE_URI": "memory://"}
        if shared_cache_config["CACHE_TYPE"] == "RedisCache":
            extra["REDIS_URL"] = shared_cache_config["CACHE_REDIS_URL"]
            extra["CACHE_KEY_PREFIX"] = shared_cache_config["CACHE_KEY_PREFIX"]
        env = app_environment(tmp_path, free_port(), extra=extra)
        run_flask_commands(env, [["db", "upgrade"], ["seed-demo"]])
        with (
            _serve(env, tmp_path / "a.log") as server_a,
            _serve(env, tmp_path / "b.log") as server_b,
        ):
            data = SiteData(server_a)
            try:
                yield server_a, server_b, data
            finally:
                data.close()


def _sign_in(browser: Browser, email: str, secret: str | None = None) -> None:
    assert browser.submit("/login", {"email": email, "password": PASSWORD}) == 302
    if secret:
        code = pyotp.TOTP(secret).now()
        assert browser.submit("/login/two-factor", {"code": code}) == 302


def test_writes_through_one_server_are_served_by_the_other_at_once(servers):
    server_a, server_b, data = servers
    month = timedelta(days=30)
    data.create_user("writer@example.org", "Wren", age=month)
    data.create_user("reader@example.org", "Rory", age=month)
    data.create_user("admin@example.org", "Ada", role="admin", age=month)
    secret = data.enable_two_factor("admin@example.org")
    with data.session() as session:
        article = session.scalar(
            select(Article).where(Article.access_level == "public").order_by(Article.id)
        )
        slug, article_id, title = article.slug, article.id, article.title
        section_id, published_at = article.section_id, article.published_at
    url = f"/articles/{slug}"

    writer, admin = Browser(server_a), Browser(server_a)
    anonymous, reader = Browser(server_b), Browser(server_b)
    _sign_in(writer, "writer@example.org")
    _sign_in(admin, "admin@example.org", secret)
    _sign_in(reader, "reader@example.org")

    def served_by_b(expected: str, gone: str | None = None) -> None:
        for who in (anonymous, reader):
            page = who.page(url)
            assert expected in page
            if gone:
                assert gone not in page

    anonymous.page(url)
    _status, headers, _text = anonymous.request(url)
    assert headers.get("X-Page-Cache") == "hit", "server B serves the page from the cache"

    assert writer.submit(f"{url}/comments", {"body": "Posted through A"}, page=url) == 302
    served_by_b("Posted through A")
    with data.session() as session:
        comment_id = session.scalar(select(Comment.id).where(Comment.body == "Posted through A"))

    assert writer.submit(f"/comments/{comment_id}/edit", {"body": "Edited through A"}) == 302
    served_by_b("Edited through A", gone="Posted through A")

    data.let_time_pass("writer@example.org", timedelta(minutes=1))
    assert writer.submit(f"{url}/comments", {"body": "Rude words"}, page=url) == 302
    served_by_b("Rude words")
    with data.session() as session:
        rude_id = session.scalar(select(Comment.id).where(Comment.body == "Rude words"))
    form = {"action": "hide", "ids": [str(rude_id)], "queue": "held"}
    assert admin.submit("/admin/comments/moderate", form, page="/admin/comments") == 302
    served_by_b("Edited through A", gone="Rude words")

    assert writer.submit(f"/comments/{comment_id}/delete") == 302
    served_by_b('Comments <span class="muted">(0)</span>', gone="Edited through A")

    fields = {
        **FORM,
        "title": f"{title}, revised",
        "slug": slug,
        "section_id": section_id,
        "published_at": published_at.strftime("%Y-%m-%dT%H:%M"),
    }
    assert admin.submit(f"/admin/articles/{article_id}", fields) == 302
    served_by_b(f"{title}, revised")
    assert f"{title}, revised" in anonymous.page("/")
