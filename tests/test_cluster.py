"""Two real gunicorn instances behind a real nginx (deploy/nginx.conf), on one PostgreSQL and
one Redis (keys of this test's own), PROXY_FIX_X_FOR=1: what `make cluster` runs, minus one
instance. Sessions, login throttling, caches, webhooks and comments stay correct across them.
"""

import contextlib
import json
import os
import re
import subprocess
import threading
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from membership.models import Article, Comment, StripeEvent, Subscription, User, UserSession
from tests.conftest import USING_POSTGRES
from tests.e2e.harness import (
    ROOT,
    AppServer,
    SiteData,
    app_environment,
    free_port,
    run_flask_commands,
)
from tests.test_shared_cache_processes import CSRF, Browser, _database, _serve, _sign_in

pytestmark = pytest.mark.skipif(
    not USING_POSTGRES, reason="the cluster runs on PostgreSQL and Redis (TEST_DATABASE=postgresql)"
)
NGINX = "/usr/sbin/nginx"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MONTH = timedelta(days=30)


def nginx_config(upstreams: list[int], port: int) -> str:
    """deploy/nginx.conf itself, with this test's ports."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    text = re.sub(r"\n\s*server 127\.0\.0\.1:810\d[^\n]*", "", text)
    servers = "".join(
        f"\n        server 127.0.0.1:{up} max_fails=1 fail_timeout=5s;" for up in upstreams
    )
    text = text.replace("upstream membership {", "upstream membership {" + servers, 1)
    return text.replace("listen 127.0.0.1:8100;", f"listen 127.0.0.1:{port};")


@contextlib.contextmanager
def _nginx(workdir: Path, upstreams: list[int], port: int):
    run = workdir / "nginx"
    (run / "tmp").mkdir(parents=True)
    config = run / "nginx.conf"
    config.write_text(nginx_config(upstreams, port))
    log = (workdir / "nginx.log").open("ab")
    process = subprocess.Popen(
        [NGINX, "-p", str(run), "-c", str(config), "-e", "stderr", "-g", "daemon off;"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError((workdir / "nginx.log").read_text()) from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def stripe_module_server():
    """The stand-in Stripe for this module's servers."""
    from tests.stripe_stub import StripeStub

    stub = StripeStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, stripe_module_server):
    """Instances A and B, nginx in front (`lb`), their data; rebuilt for this module only."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI and cannot be reached: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    if not Path(NGINX).exists():
        pytest.fail(f"{NGINX} is missing: `make nginx` installs Debian's package")
    workdir = tmp_path_factory.mktemp("cluster")
    prefix = f"membership-cluster-test-{uuid.uuid4().hex[:10]}"
    lb_port = free_port()
    with _database(workdir) as database_url:
        extra = {
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "CACHE_KEY_PREFIX": f"{prefix}:",
            "FLASK_RATELIMIT_KEY_PREFIX": prefix,
            "JOBS_QUEUE_NAME": prefix,
            "PROXY_FIX_X_FOR": "1",
            "INSTANCE_PATH": str(workdir / "instance"),
            # Low limits, so counting across instances shows within a few requests.
            "FLASK_LOGIN_LIMIT_PER_ACCOUNT": '"4/minute"',
            "FLASK_LOGIN_LIMIT_PER_IP": '"6/minute"',
            "FLASK_RATELIMIT_STORAGE_URI": REDIS_URL,
        }
        env = app_environment(workdir, lb_port, stripe=stripe_module_server, extra=extra)
        env.update({k: v for k, v in extra.items() if k.startswith("FLASK_LOGIN")})
        run_flask_commands(env, [["db", "upgrade"], ["seed-demo"], ["stripe", "sync"]])
        with (
            _serve(env, workdir / "a.log") as server_a,
            _serve(env, workdir / "b.log") as server_b,
        ):
            ports = [int(s.base_url.rsplit(":", 1)[1]) for s in (server_a, server_b)]
            lb = AppServer(f"http://127.0.0.1:{lb_port}", env, database_url, workdir / "lb.log")
            with _nginx(workdir, ports, lb_port):
                data = SiteData(server_a)
                try:
                    yield server_a, server_b, lb, data
                finally:
                    data.close()
                    client = redis.Redis.from_url(REDIS_URL)
                    keys = list(client.scan_iter(match=f"{prefix}*", count=500))
                    keys += list(client.scan_iter(match=f"huey*{prefix}*", count=500))
                    if keys:
                        client.delete(*keys)


class Client(Browser):
    """A browser at an address of its own: talking to an instance directly, it sends the
    X-Forwarded-For that nginx would add, so tests do not share one IP's rate limits."""

    def __init__(self, server: AppServer, address: str | None = None) -> None:
        super().__init__(server)
        self.address = address or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"

    def request(self, path: str, data: dict | None = None, headers: dict | None = None):
        return super().request(path, data, {"X-Forwarded-For": self.address, **(headers or {})})


def cookies_copied(browser: Client, server: AppServer) -> Client:
    """Another client holding the same cookies (and address)."""
    twin = Client(server, browser.address)
    source = next(h.cookiejar for h in browser.opener.handlers if hasattr(h, "cookiejar"))
    target = next(h.cookiejar for h in twin.opener.handlers if hasattr(h, "cookiejar"))
    for cookie in source:
        target.set_cookie(cookie)
    return twin


def fresh_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@example.org"


def on(browser: Browser, server: AppServer) -> Browser:
    """The same browser (same cookies) talking to another instance."""
    browser.server = server
    return browser


def test_a_session_started_on_one_instance_works_on_the_other_and_logout_ends_it(cluster):
    server_a, server_b, _lb, data = cluster
    email = fresh_email("roamer")
    data.create_user(email, "Roamer", age=MONTH)
    browser = Client(server_a)
    _sign_in(browser, email)
    assert browser.request("/account")[0] == 200
    assert on(browser, server_b).request("/account")[0] == 200, "B honours A's session"

    # A copy of the cookie, kept by a second tab (or a thief), before logging out on B.
    copy = cookies_copied(browser, server_a)
    assert browser.submit("/logout", page="/account") in (302, 303)
    assert browser.request("/account")[0] == 302
    status, headers, _ = copy.request("/account")
    assert status == 302 and "/login" in headers["Location"], "A ends the session too"
    with data.session() as session:
        assert (
            session.scalar(
                select(func.count(UserSession.id))
                .where(UserSession.revoked_at.is_(None))
                .join(UserSession.user)
                .where(UserSession.user.has(email=email))
            )
            == 0
        )


def test_login_throttling_counts_across_instances(cluster):
    server_a, server_b, _lb, data = cluster
    email = fresh_email("target")
    data.create_user(email, "Target", age=MONTH)
    statuses = []
    for attempt in range(5):
        browser = Client(server_a if attempt % 2 == 0 else server_b)
        statuses.append(browser.submit("/login", {"email": email, "password": "wrong guess!"}))
    # The account's limit is 4 a minute in all: the fifth try (on A) is refused although each
    # instance saw no more than 3.
    assert statuses[:4] == [422, 422, 422, 422], statuses  # wrong password, form shown again
    assert statuses[4] == 429, statuses


def test_a_cached_page_is_fresh_on_the_other_instance_after_a_write(cluster):
    server_a, server_b, _lb, data = cluster
    email = fresh_email("writer")
    data.create_user(email, "Writer", age=MONTH)
    with data.session() as session:
        slug = session.scalar(
            select(Article.slug).where(Article.access_level == "public").order_by(Article.id)
        )
    url = f"/articles/{slug}"
    anonymous = Client(server_b)
    anonymous.page(url)
    assert anonymous.request(url)[1].get("X-Page-Cache") == "hit"
    writer = Client(server_a)
    _sign_in(writer, email)
    body = f"Written on A {uuid.uuid4().hex[:6]}"
    assert writer.submit(f"{url}/comments", {"body": body}, page=url) == 302
    assert body in anonymous.page(url), "B's cached page followed A's write"


def test_a_comment_double_submitted_to_two_instances_is_one_comment(cluster):
    server_a, server_b, _lb, data = cluster
    email = fresh_email("double")
    data.create_user(email, "Double", age=MONTH)
    with data.session() as session:
        slug = session.scalar(
            select(Article.slug).where(Article.access_level == "public").order_by(Article.id.desc())
        )
    url = f"/articles/{slug}"
    browser = Client(server_a)
    _sign_in(browser, email)
    html = browser.page(url)
    token = CSRF.search(html)
    submission = re.search(r'name="submission_id"[^>]*value="([^"]*)"', html).group(1)
    body = f"Sent twice {uuid.uuid4().hex[:6]}"
    form = {
        "csrf_token": token.group(1) or token.group(2),
        "submission_id": submission,
        "body": body,
    }
    twins = [cookies_copied(browser, server) for server in (server_a, server_b)]
    barrier, statuses = threading.Barrier(2), []

    def send(twin):
        barrier.wait()
        statuses.append(twin.request(f"{url}/comments", form)[0])

    threads = [threading.Thread(target=send, args=(twin,)) for twin in twins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 302], statuses
    with data.session() as session:
        assert session.scalar(select(func.count(Comment.id)).where(Comment.body == body)) == 1
        article = session.scalar(select(Article).where(Article.slug == slug))
        counted = session.scalar(
            select(func.count(Comment.id)).where(
                Comment.article_id == article.id, Comment.status == "published"
            )
        )
        assert article.comment_count == counted


def test_a_webhook_delivered_concurrently_to_two_instances_takes_effect_once(
    cluster, stripe_module_server
):
    server_a, server_b, _lb, data = cluster
    stub = stripe_module_server
    stub.outbox.clear()
    email = fresh_email("payer")
    data.create_user(email, "Payer", age=MONTH)
    browser = Client(server_a)
    _sign_in(browser, email)
    html = browser.page("/membership")
    token = CSRF.search(html)
    status, headers, _ = browser.request(
        "/membership/checkout",
        {"csrf_token": token.group(1) or token.group(2), "tier": "supporter", "interval": "month"},
    )
    assert status == 303, status
    session_id = re.search(r"/pay/(cs_[A-Za-z0-9_]+)", headers["Location"]).group(1)
    stub.complete_checkout(session_id)
    events = list(stub.outbox)
    stub.outbox.clear()
    assert events
    for event in events:
        payload = json.dumps(event).encode()
        signature = stub.sign(payload)
        barrier, statuses = threading.Barrier(2), []

        def send(server, payload=payload, signature=signature, barrier=barrier, out=statuses):
            request = urllib.request.Request(  # noqa: S310
                server.url("/stripe/webhook"),
                data=payload,
                headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
            )
            barrier.wait()
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                    out.append(answer.status)
            except urllib.error.HTTPError as error:
                out.append(error.code)

        threads = [threading.Thread(target=send, args=(s,)) for s in (server_a, server_b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200, 200], (event["type"], statuses)
    with data.session() as session:
        ids = [event["id"] for event in events]
        assert session.scalar(
            select(func.count(StripeEvent.id)).where(StripeEvent.id.in_(ids))
        ) == len(set(ids))
        assert (
            session.scalar(
                select(func.count(Subscription.id))
                .join(User, User.id == Subscription.user_id)
                .where(User.email == email)
            )
            == 1
        )


def test_client_ip_comes_from_the_load_balancer_and_a_forged_header_changes_nothing(cluster):
    server_a, _server_b, lb, data = cluster
    # Through nginx: the session records the address nginx saw, not the forged one.
    email = fresh_email("forger")
    data.create_user(email, "Forger", age=MONTH)
    browser = Browser(lb)
    html = browser.page("/login")
    token = CSRF.search(html)
    fields = {
        "csrf_token": token.group(1) or token.group(2),
        "email": email,
        "password": "correct horse battery staple",
    }
    status, _h, _t = browser.request("/login", fields, headers={"X-Forwarded-For": "198.51.100.7"})
    assert status == 302
    with data.session() as session:
        ip = session.scalar(select(UserSession.ip_address).where(UserSession.user.has(email=email)))
    assert ip == "127.0.0.1", ip

    # The per-IP login limit (6 a minute) holds through nginx whatever X-Forwarded-For the
    # client invents: each attempt names a new account, so only the IP limit can refuse it.
    statuses = []
    for attempt in range(8):
        client = Browser(lb)
        html = client.page("/login")
        token = CSRF.search(html)
        form = {
            "csrf_token": token.group(1) or token.group(2),
            "email": fresh_email("nobody"),
            "password": "wrong guess!",
        }
        forged = {"X-Forwarded-For": f"203.0.113.{attempt + 1}"}
        statuses.append(client.request("/login", form, headers=forged)[0])
    assert 429 in statuses, statuses
    assert statuses[-1] == 429, statuses

    # Straight to an instance, the one proxy hop it trusts is the X-Forwarded-For it is given
    # (what nginx sends): that address is the client's.
    direct = Client(server_a)
    email2 = fresh_email("behind-lb")
    data.create_user(email2, "Behind", age=MONTH)
    html = direct.page("/login")
    token = CSRF.search(html)
    fields = {
        "csrf_token": token.group(1) or token.group(2),
        "email": email2,
        "password": "correct horse battery staple",
    }
    direct.address = "192.0.2.44"
    status, _h, _t = direct.request("/login", fields)
    assert status == 302
    with data.session() as session:
        ip = session.scalar(
            select(UserSession.ip_address).where(UserSession.user.has(email=email2))
        )
    assert ip == "192.0.2.44"
