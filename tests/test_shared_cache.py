"""One cache for every worker and instance: a write through one app is seen through the other.

Two `create_app()` instances in this process stand for two servers: each has its own
in-process state (settings, Jinja, engine, request contexts), and they share only what two
real servers share, the database and the cache (Redis on PostgreSQL runs, the file cache on
SQLite runs). `test_shared_cache_processes.py` repeats the core case with two gunicorn servers.
"""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.models import Comment
from membership.models.types import utcnow
from tests.test_admin_articles import FORM

ARTICLE_URL = "/articles/harbor-story"


@pytest.fixture
def app_config(shared_cache_config):
    return shared_cache_config


@pytest.fixture
def app_b(make_app, app_config):
    """The second server: same database, same cache, its own process state."""
    return make_app(**app_config)


def submit_comment(client, body: str):
    """Submit the comment form from the article page, as a browser does."""
    html = client.get(ARTICLE_URL).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|submission_id)"[^>]*value="([^"]*)"', html))
    return client.post(f"{ARTICLE_URL}/comments", data={**fields, "body": body})


def post_comment(client, body: str) -> Comment:
    """Post a comment that must be accepted; returns it."""
    response = submit_comment(client, body)
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(select(Comment).where(Comment.body == body))


@pytest.fixture
def world(app, app_b, make_user, make_article, admin_client, login):
    """An article, a commenter and a reader signed in on server A, a reader on server B."""
    article = make_article(slug="harbor-story", title="Harbor story")
    month_ago = utcnow() - timedelta(days=30)
    writer = make_user("writer@example.org", display_name="Wren", created_at=month_ago)
    liker = make_user("liker@example.org", display_name="Lee", created_at=month_ago)
    reader = make_user("reader@example.org", display_name="Rory", created_at=month_ago)
    clients = {}
    for name, server, person in (
        ("writer_a", app, writer),
        ("liker_a", app, liker),
        ("reader_b", app_b, reader),
    ):
        clients[name] = server.test_client()
        assert login(clients[name], person.email).status_code == 302
    return SimpleNamespace(
        article=article,
        admin_a=admin_client,
        anonymous_a=app.test_client(),
        anonymous_b=app_b.test_client(),
        **clients,
    )


def _edit(w, comment):
    return w.writer_a.submit(f"/comments/{comment.id}/edit", {"body": "Corrected words"})


def _moderate(w, comment):
    return w.admin_a.submit(
        "/admin/comments/moderate",
        {"action": "hide", "ids": [str(comment.id)], "queue": "held"},
        page="/admin/comments",
    )


def _edit_article(w, _comment):
    form = {**FORM, "title": "Harbor story, revised", "slug": "harbor-story"}
    form["section_id"] = w.article.section_id
    form["published_at"] = w.article.published_at.strftime("%Y-%m-%dT%H:%M")
    return w.admin_a.submit(f"/admin/articles/{w.article.id}", form)


def _close_comments(w, _comment):
    return w.admin_a.submit(
        "/admin/settings/comments",
        {"comment_policy": "closed", "comments_auto_close_days": "0", "report_threshold": "3"},
    )


# A comment deleted or hidden with no replies leaves no placeholder: the count shows it went.
NO_COMMENTS = 'Comments <span class="muted">(0)</span>'
# (what exists before, the write through server A, text before, text after)
WRITES = {
    "post": (None, lambda w, _c: submit_comment(w.writer_a, "Posted through A"), None, "Posted"),
    "edit": ("Original words", _edit, "Original words", "Corrected words"),
    "delete": (
        "Soon gone",
        lambda w, c: w.writer_a.submit(f"/comments/{c.id}/delete"),
        "Soon gone",
        NO_COMMENTS,
    ),
    "like": (
        "Likeable",
        lambda w, c: w.liker_a.submit(f"/comments/{c.id}/like", page=ARTICLE_URL),
        "0 likes",
        "1 like<",
    ),
    "moderate": ("Rude words", _moderate, "Rude words", NO_COMMENTS),
    "article edit": (
        None,
        _edit_article,
        "<h1>Harbor story</h1>",
        "<h1>Harbor story, revised</h1>",
    ),
    "setting": (None, _close_comments, "Sign in to leave a comment.", "Comments are closed"),
}


def _served(client, url: str = ARTICLE_URL) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_through_one_server_is_served_by_the_other_at_once(world, write):
    existing, act, before, after = WRITES[write]
    comment = post_comment(world.writer_a, existing) if existing else None
    # Both servers hold the page in the shared cache (the second read on B is a hit).
    for client in (world.anonymous_a, world.anonymous_b):
        client.get(ARTICLE_URL)
    warm = world.anonymous_b.get(ARTICLE_URL)
    assert warm.headers.get("X-Page-Cache") == "hit"
    if before:
        assert before in warm.get_data(as_text=True)
    assert after not in warm.get_data(as_text=True)

    response = act(world, comment)
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]

    anonymous = world.anonymous_b.get(ARTICLE_URL, headers={"If-None-Match": warm.headers["ETag"]})
    assert anonymous.status_code == 200, "the old ETag must not earn a 304"
    for page in (anonymous.get_data(as_text=True), _served(world.reader_b)):
        assert after in page
        if before and write != "setting":
            assert before not in page


def test_an_article_edit_reaches_the_listings_of_the_other_server(world):
    world.anonymous_b.get("/")
    assert world.anonymous_b.get("/").headers.get("X-Page-Cache") == "hit"
    assert "Harbor story" in _served(world.reader_b, "/")  # the listing fragment, cached
    assert _edit_article(world, None).status_code == 302
    for page in (_served(world.anonymous_b, "/"), _served(world.reader_b, "/")):
        assert "Harbor story, revised" in page


def test_unpublishing_removes_the_story_from_the_other_server(world):
    world.anonymous_b.get(ARTICLE_URL)
    world.anonymous_b.get("/")
    path = f"/admin/articles/{world.article.id}/unpublish"
    assert world.admin_a.submit(path, page=f"/admin/articles/{world.article.id}").status_code == 302
    assert world.anonymous_b.get(ARTICLE_URL).status_code == 404
    assert "Harbor story" not in _served(world.anonymous_b, "/")


def test_viewer_marks_never_reach_the_shared_page(world):
    """Signed-in and anonymous requests alternate: the anonymous copy carries nobody's marks."""
    mine = post_comment(world.writer_a, "Wren wrote these words")
    for _ in range(3):
        own = _served(world.writer_a)
        assert f'href="/comments/{mine.id}/edit"' in own and "Wren" in own
        other = _served(world.reader_b)
        assert f'href="/comments/{mine.id}/edit"' not in other
        assert "Rory" in other and "Sign out" in other
        for anonymous in (world.anonymous_a, world.anonymous_b):
            page = _served(anonymous)
            assert "Wren wrote these words" in page
            assert "/edit" not in page and "/delete" not in page and "Sign out" not in page
            assert 'name="csrf_token"' not in page


def test_the_file_cache_prunes_to_its_threshold_without_a_counter_file(tmp_path):
    """The embedded cache (membership/filecache.py) keeps its count in memory, no counter file,
    and its periodic scan still prunes the directory down to the threshold."""
    from membership.filecache import FileCache

    store = FileCache(str(tmp_path), threshold=5)
    for n in range(12):
        store.set(f"page-{n}", n)
    assert len(list(tmp_path.iterdir())) == 12  # between two scans, nothing is pruned
    store._next_prune = 0.0  # the next store scans
    store.set("page-12", 12)
    names = {path.name for path in tmp_path.iterdir()}
    assert len(names) <= 6
    assert store.get("page-12") == 12
    assert store._get_filename(store._fs_count_file).rsplit("/", 1)[1] not in names
