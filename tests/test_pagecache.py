"""The anonymous page cache: shared HTML for readers who are not signed in, and only for them."""

import pytest
from sqlalchemy import update

from membership.extensions import db
from membership.models import Article


@pytest.fixture
def app_config():
    return {"PAGE_CACHE_SECONDS": 60}


def test_anonymous_reads_are_served_from_the_cache(client, article):
    first = client.get("/articles/harbor-story")
    assert "X-Page-Cache" not in first.headers
    assert "Set-Cookie" not in first.headers
    db.session.execute(update(Article).values(title="Changed behind the app's back"))
    db.session.commit()
    second = client.get("/articles/harbor-story")
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    assert second.headers["Content-Security-Policy"], "headers are still set per response"
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]


def test_signed_in_readers_never_get_the_shared_page(app, article, user, login):
    anonymous = app.test_client()
    anonymous.get("/articles/harbor-story")
    reader = app.test_client()
    login(reader, user.email)
    page = reader.get("/articles/harbor-story")
    assert "X-Page-Cache" not in page.headers
    assert page.headers["Cache-Control"] == "no-store"
    assert "Sign out" in page.get_data(as_text=True)


def test_a_write_empties_the_cache(app, article, user, login):
    anonymous = app.test_client()
    anonymous.get("/articles/harbor-story")
    reader = app.test_client()
    login(reader, user.email)  # a POST in this worker
    assert "X-Page-Cache" not in anonymous.get("/articles/harbor-story").headers


def test_other_pages_and_query_strings_are_separate(client, article):
    client.get("/articles/harbor-story")
    assert "X-Page-Cache" not in client.get("/articles/harbor-story?sort=newest").headers
    assert "X-Page-Cache" not in client.get("/account").headers
