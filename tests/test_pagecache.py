"""The shared page and fragment caches: shared HTML for readers who are not signed in, and only
for them; one rebuild at a time; the site keeps serving when the cache is down."""

import hashlib
import os
import threading
import time

import pytest
from sqlalchemy import event, update

from membership import cache as shared
from membership.extensions import db
from membership.models import Article


@pytest.fixture
def app_config(shared_cache_config):
    return shared_cache_config


def test_anonymous_reads_are_served_from_the_cache(client, article):
    first = client.get("/articles/harbor-story")
    assert "X-Page-Cache" not in first.headers
    assert "Set-Cookie" not in first.headers
    # A change that bumps no version (made behind the app's back) is not seen: the copy is used.
    db.session.execute(update(Article).values(title="Changed behind the app's back"))
    db.session.commit()
    second = client.get("/articles/harbor-story")
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    assert second.headers["Content-Security-Policy"], "headers are still set per response"
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]


def test_a_version_bump_gives_a_new_key(client, article):
    client.get("/articles/harbor-story")
    db.session.execute(update(Article).values(title="Changed", version=Article.version + 1))
    db.session.commit()
    page = client.get("/articles/harbor-story")
    assert "X-Page-Cache" not in page.headers
    assert "<h1>Changed</h1>" in page.get_data(as_text=True)


def test_signed_in_readers_never_get_the_shared_page(app, article, user, login):
    anonymous = app.test_client()
    anonymous.get("/articles/harbor-story")
    reader = app.test_client()
    login(reader, user.email)
    page = reader.get("/articles/harbor-story")
    assert "X-Page-Cache" not in page.headers
    assert page.headers["Cache-Control"] == "no-store"
    assert "Sign out" in page.get_data(as_text=True)
    assert "Sign out" not in anonymous.get("/articles/harbor-story").get_data(as_text=True)


def test_other_pages_and_query_strings_are_separate(client, article):
    client.get("/articles/harbor-story")
    assert "X-Page-Cache" not in client.get("/articles/harbor-story?sort=newest").headers
    assert client.get("/articles/harbor-story?sort=newest").headers["X-Page-Cache"] == "hit"
    assert "X-Page-Cache" not in client.get("/account").headers


def test_made_up_query_strings_are_never_stored(client, article):
    for _ in range(2):
        response = client.get("/articles/harbor-story?utm_source=x")
        assert response.status_code == 200
        assert "X-Page-Cache" not in response.headers


@pytest.mark.parametrize(
    "query", ["sort=made-up-1", "page=x1", "cpage=00002", "page=2&page=3", "sort=newest&sort=old"]
)
def test_made_up_values_of_the_paging_parameters_are_never_stored(client, article, query):
    """Endless spellings of one page ("page=x1", "page=x2" ...) must not fill the cache."""
    for _ in range(2):
        response = client.get(f"/articles/harbor-story?{query}")
        assert response.status_code == 200
        assert "X-Page-Cache" not in response.headers
    for _ in range(2):
        response = client.get(f"/?{query}")
        assert response.status_code == 200
        assert "X-Page-Cache" not in response.headers


def test_real_page_numbers_and_sorts_are_stored(client, article):
    for url in ["/articles/harbor-story?sort=newest&cpage=2", "/?page=2"]:
        client.get(url)
        assert client.get(url).headers["X-Page-Cache"] == "hit", url


def _statements(client, url: str) -> tuple[int, object]:
    count = 0

    def counter(*args, **kwargs):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    return count, response


def test_a_cache_hit_costs_one_small_query(client, article):
    client.get("/articles/harbor-story")
    count, response = _statements(client, "/articles/harbor-story")
    assert response.headers["X-Page-Cache"] == "hit"
    assert count == 1, "only the versions are read"


def test_the_discussion_is_cached_for_anonymous_readers_with_a_session(client, article, make_user):
    """A reader who opened the login page carries a CSRF token: the page is theirs, the
    discussion inside it is still the shared fragment."""
    client.get("/login")
    cold, first = _statements(client, "/articles/harbor-story")
    warm, second = _statements(client, "/articles/harbor-story")
    assert first.headers["Cache-Control"] == second.headers["Cache-Control"] == "no-store"
    assert "X-Page-Cache" not in second.headers
    assert warm < cold, (cold, warm)


def test_only_one_worker_rebuilds_an_expired_fragment(app):
    """Eight threads ask for the same missing fragment at once: one builds, all get it."""
    builds = []

    def build() -> str:
        builds.append(1)
        time.sleep(0.2)
        return "<p>shared</p>"

    results = []

    def ask() -> None:
        with app.app_context():
            results.append(shared.cached_fragment(("stampede", 1), build, 30))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["<p>shared</p>"] * 8
    assert len(builds) == 1


def test_an_expired_copy_is_served_while_one_worker_rebuilds(app):
    key = shared.make_key("fragment", "stale", 1)
    shared.store(key, "old copy", 30)
    # Expire it by hand: fresh-until in the past, still stored.
    shared.cache.set(key, (time.time() - 1, "old copy"), 300)
    shared.forget_local_copies()  # as another worker, which has no fresh copy of its own
    assert shared.claim(key), "the first worker takes the rebuild"
    assert shared.cached_fragment(("stale", 1), lambda: "new copy", 30) == "old copy"
    shared.release(key)
    assert shared.cached_fragment(("stale", 1), lambda: "new copy", 30) == "new copy"
    assert shared.cached_fragment(("stale", 1), lambda: "newer copy", 30) == "new copy"


@pytest.fixture
def redis_down(make_app, monkeypatch, caplog):
    """An app whose Redis is a closed port."""
    monkeypatch.setattr(shared, "_outage_until", 0.0)
    application = make_app(
        PAGE_CACHE_SECONDS=30,
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL="redis://127.0.0.1:9/0",
        CACHE_KEY_PREFIX="membership-test-down:",
        CACHE_OPTIONS={"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    )
    with application.app_context():
        yield application


def test_the_site_keeps_serving_when_redis_is_down(redis_down, article, caplog):
    client = redis_down.test_client()
    for url in ("/", "/articles/harbor-story", "/articles/harbor-story"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Harbor story" in response.get_data(as_text=True)
    assert "shared cache unavailable" in caplog.text
    # After the first failure the cache is skipped for a few seconds: one warning, not one each.
    assert caplog.text.count("shared cache unavailable") == 1


def _age_lock(key: str) -> None:
    """Make the rebuild lock look as if a worker took it a minute ago and then died."""
    old = time.time() - 60
    directory = shared._lock_directory()
    if directory is None:
        shared.cache.set(f"lock:{key}", old, 0)  # no expiry: SETNX without its EXPIRE
    else:
        path = directory / hashlib.sha256(key.encode()).hexdigest()
        os.utime(path, (old, old))


def test_a_lock_left_by_a_dead_worker_is_taken_over(app):
    key = shared.make_key("fragment", "orphan", 1)
    assert shared.claim(key)
    assert not shared.claim(key), "a live lock is respected"
    _age_lock(key)
    builds = []

    def build() -> str:
        builds.append(1)
        return "<p>built</p>"

    assert shared.cached_fragment(("orphan", 1), build, 30) == "<p>built</p>"
    assert shared.cached_fragment(("orphan", 1), build, 30) == "<p>built</p>"
    assert len(builds) == 1, "built once, then served from the cache"


def test_a_fresh_copy_is_answered_from_the_process_and_a_new_version_is_not(app):
    """The process keeps fresh entries it read or stored: the next request needs no trip to
    the shared cache. A write changes the versions, hence the key: nothing old is answered."""
    builds = []

    def build(version):
        builds.append(version)
        return f"<p>version {version}</p>"

    assert shared.cached_fragment(("local", 1), lambda: build(1), 30) == "<p>version 1</p>"
    shared.cache.delete(shared.make_key("fragment", "local", 1))
    assert shared.cached_fragment(("local", 1), lambda: build(1), 30) == "<p>version 1</p>"
    assert builds == [1], "answered from the process's own copy"
    assert shared.cached_fragment(("local", 2), lambda: build(2), 30) == "<p>version 2</p>"
    assert builds == [1, 2]


def test_an_expired_local_copy_is_not_answered(app, monkeypatch):
    assert shared.cached_fragment(("ageing", 1), lambda: "first", 30) == "first"
    later = time.time() + 31
    monkeypatch.setattr(shared.time, "time", lambda: later)
    assert shared.cached_fragment(("ageing", 1), lambda: "rebuilt", 30) == "rebuilt"


def test_the_process_keeps_a_bounded_amount_of_copies(app, monkeypatch):
    monkeypatch.setattr(shared, "LOCAL_BYTES", 1_000_000)
    for number in range(40):
        shared.store(shared.make_key("fragment", "big", number), "x" * 100_000, 30)
    copies = shared._local_copies()
    assert copies.size <= 1_000_000 and len(copies.entries) == 10
    newest = shared.make_key("fragment", "big", 39)
    assert shared.lookup(newest) == ("x" * 100_000, True)
