"""HTTP caching: ETags and 304s for anonymous reading pages, public versus no-store, and no
database write on a plain page view."""

from datetime import timedelta

import pytest
from sqlalchemy import event, update

from membership.extensions import db
from membership.models import Comment, Tag, UserSession
from membership.models.types import utcnow

READING_PAGES = ("/", "/section/world", "/tag/harbors", "/articles/harbor-story")


@pytest.fixture
def app_config(shared_cache_config):
    return shared_cache_config


@pytest.fixture
def story(article):
    """The article, tagged, with one comment."""
    tag = Tag(slug="harbors", name="Harbors")
    article.tags.append(tag)
    db.session.add(Comment(article_id=article.id, author_id=None, body="A first comment"))
    db.session.commit()
    return article


class Statements:
    """The SQL statements run while it is active."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, conn, cursor, statement, *args) -> None:
        self.seen.append(statement)

    @property
    def writes(self) -> list[str]:
        return [s for s in self.seen if s.lstrip().split()[0].upper() in {"INSERT", "UPDATE"}]

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(db.engine, "before_cursor_execute", self)


@pytest.mark.parametrize("path", READING_PAGES)
def test_anonymous_reading_pages_are_public_with_an_etag_and_no_cookie(client, story, path):
    for state in ("rendered", "from the cache"):
        response = client.get(path)
        assert response.status_code == 200, state
        assert response.headers["Cache-Control"] == (
            "public, max-age=10, stale-while-revalidate=30"
        ), state
        assert response.headers["ETag"].startswith('"'), state
        assert "Cookie" in response.headers["Vary"], state
        assert "Set-Cookie" not in response.headers, state
    assert response.headers["X-Page-Cache"] == "hit"


@pytest.mark.parametrize("path", READING_PAGES)
def test_a_matching_if_none_match_gets_304_without_rendering(client, story, path):
    etag = client.get(path).headers["ETag"]
    for sent in (etag, f"W/{etag}", f'"something-else", {etag}'):
        with Statements() as statements:
            response = client.get(path, headers={"If-None-Match": sent})
        assert response.status_code == 304, sent
        assert response.get_data() == b""
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"].startswith("public")
        assert "Set-Cookie" not in response.headers
        assert len(statements.seen) == 1, "only the versions are read, nothing is rendered"


def test_a_stale_etag_gets_the_new_page(client, story, user, login):
    etag = client.get("/articles/harbor-story").headers["ETag"]
    assert (
        client.get("/articles/harbor-story", headers={"If-None-Match": '"nope"'}).status_code == 200
    )
    reader = client.application.test_client()
    login(reader, user.email)
    page = reader.get("/articles/harbor-story").get_data(as_text=True)
    fields = {
        "csrf_token": page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0],
        "submission_id": page.split('name="submission_id" type="hidden" value="')[1].split('"')[0],
        "body": "A second comment",
    }
    assert reader.post("/articles/harbor-story/comments", data=fields).status_code == 302
    response = client.get("/articles/harbor-story", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert "A second comment" in response.get_data(as_text=True)


def test_signed_in_pages_are_no_store_and_never_shared(signed_in, story):
    for path in READING_PAGES:
        response = signed_in.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert "ETag" not in response.headers, path
        assert "X-Page-Cache" not in response.headers, path
        etag_probe = signed_in.get(path, headers={"If-None-Match": "*"})
        assert etag_probe.status_code == 200, "a signed-in page is never answered 304"


def test_pages_with_forms_or_session_data_are_no_store(client, story):
    for path in ("/login", "/register"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
    # The login page put a CSRF token in this browser's session: its reading pages are its own.
    for path in READING_PAGES:
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert "ETag" not in response.headers, path


# --- no writes on a plain read ----------------------------------------------------------------


def test_the_signed_in_article_page_reads_a_fixed_few_statements_and_writes_nothing(
    signed_in, story
):
    signed_in.get("/articles/harbor-story")
    with Statements() as statements:
        response = signed_in.get("/articles/harbor-story")
    assert response.status_code == 200
    assert statements.writes == []
    # The session with its user, live subscriptions and the site version; the article with the
    # reader's own comments, likes and reports. The discussion and the rest come from caches.
    assert len(statements.seen) == 2, statements.seen


def test_the_signed_in_home_page_reads_one_statement(signed_in, story):
    signed_in.get("/")
    with Statements() as statements:
        page = signed_in.get("/").get_data(as_text=True)
    assert "Harbor story" in page and "Sign out" in page
    assert len(statements.seen) == 1, statements.seen
    assert "user_sessions" in statements.seen[0]


@pytest.mark.parametrize("path", ["/", "/section/world", "/tag/harbors"])
def test_listings_are_rendered_once_for_every_reader(client, signed_in, story, path):
    """The list of stories is the same for everyone: a signed-in reader gets the copy an
    anonymous reader's request built, without querying the articles."""
    anonymous = signed_in.application.test_client()
    anonymous.get(path)
    signed_in.get(path)
    with Statements() as statements:
        page = signed_in.get(path).get_data(as_text=True)
    assert "Harbor story" in page and "Sign out" in page
    assert not [s for s in statements.seen if "FROM articles" in s], statements.seen


def _age_session(minutes: float) -> None:
    db.session.execute(
        update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def _session_writes(client, path: str = "/articles/harbor-story") -> int:
    with Statements() as statements:
        assert client.get(path).status_code == 200
    return sum("user_sessions" in s for s in statements.writes)


def test_session_activity_is_written_at_most_once_per_interval(signed_in, story):
    assert [_session_writes(signed_in) for _ in range(3)] == [0, 0, 0]
    _age_session(4)
    assert _session_writes(signed_in) == 0, "within the 5-minute interval"
    _age_session(6)
    assert [_session_writes(signed_in) for _ in range(3)] == [1, 0, 0]
    assert utcnow() - db.session.scalar(db.select(UserSession.last_seen_at)) < timedelta(minutes=1)


def test_staff_sessions_are_stamped_often_enough_for_their_idle_timeout(admin_client, story):
    _age_session(4)
    assert _session_writes(admin_client, "/admin") == 0
    _age_session(29)
    assert _session_writes(admin_client, "/admin") == 1, "29 minutes idle: still signed in"
    _age_session(31)
    response = admin_client.get("/admin")
    assert response.status_code == 302, "31 minutes idle: signed out"


def _in_transaction(dbapi_connection) -> bool:
    if hasattr(dbapi_connection, "in_transaction"):  # sqlite3
        return dbapi_connection.in_transaction
    from psycopg.pq import TransactionStatus

    return dbapi_connection.info.transaction_status != TransactionStatus.IDLE


@pytest.mark.parametrize(
    ("path", "reading"), [("/articles/harbor-story", True), ("/", True), ("/account", False)]
)
def test_reading_pages_run_without_a_transaction(signed_in, story, path, reading):
    """A reading page's statements run in autocommit: PostgreSQL gets no BEGIN and no ROLLBACK
    round trips. Other pages keep their transaction."""
    signed_in.get(path)
    states: list[bool] = []

    def record(conn, cursor, statement, *args) -> None:
        states.append(_in_transaction(conn.connection.dbapi_connection))

    event.listen(db.engine, "after_cursor_execute", record)
    try:
        assert signed_in.get(path).status_code == 200
    finally:
        event.remove(db.engine, "after_cursor_execute", record)
    assert states, "the page read something"
    if reading:
        assert not any(states), states
    elif db.engine.dialect.name == "postgresql":  # pysqlite opens transactions only for writes
        assert all(states), states


def test_a_paying_members_article_page_reads_no_more(app, story, make_user, login):
    """A member's subscription and tier come with the session (the banner and the gate ask):
    their page reads the same two statements as a free reader's."""
    make_user("member@example.org", paying=True)
    member = app.test_client()
    assert login(member, "member@example.org").status_code == 302
    member.get("/articles/harbor-story")
    with Statements() as statements:
        assert member.get("/articles/harbor-story").status_code == 200
    assert len(statements.seen) == 2, statements.seen
