"""/healthz: 200 while the database answers, 503 (never 500) when it does not."""

import socket

import pytest

from membership import create_app
from membership.extensions import db

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_security_headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers.get("X-Request-ID")


@pytest.fixture
def unreachable_app(tmp_path, monkeypatch):
    """Build an app on a database URL that cannot be opened (make_app would create_all on it)."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    created = []

    def factory(url: str):
        application = create_app(
            {
                "TESTING": True,
                "APP_ENV": "testing",
                "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
                "SITE_URL": "http://portal.test",
                "SQLALCHEMY_DATABASE_URI": url,
                "RATELIMIT_STORAGE_URI": "memory://",
            }
        )
        created.append(application)
        return application

    yield factory
    for application in created:
        with application.app_context():
            db.engine.dispose()


def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json()["status"] == "ok"
    assert_security_headers(response)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("sqlite:////nonexistent-dir/x/db.sqlite3", id="sqlite-missing-directory"),
        pytest.param(
            "postgresql+psycopg://postgres@127.0.0.1:{port}/membership?connect_timeout=1",
            id="postgresql-closed-port",
        ),
    ],
)
def test_healthz_is_503_when_the_database_is_unreachable(unreachable_app, url):
    app = unreachable_app(url.format(port=closed_port()))
    client = app.test_client()
    for _attempt in range(2):  # a failed check must not break the next one
        response = client.get("/healthz")
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.is_json
        body = response.get_json()
        assert body["status"] != "ok"
        assert_security_headers(response)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("sqlite:///{tmp}/missing-dir/db.sqlite3", id="sqlite-missing-directory"),
        pytest.param(
            "postgresql+psycopg://postgres@127.0.0.1:{port}/membership?connect_timeout=1",
            id="postgresql-closed-port",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/", "/login", "/articles/some-story"])
def test_a_page_during_a_database_outage_gets_a_503_page(unreachable_app, tmp_path, url, path):
    """An outage is a 503 with Retry-After (try again shortly), never a 500; the error page
    must not need the database (its header reads the site-name setting)."""
    app = unreachable_app(url.format(tmp=tmp_path, port=closed_port()))
    client = app.test_client()
    for _attempt in range(2):  # the failed request leaves nothing behind for the next one
        response = client.get(path)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        body = response.get_data(as_text=True)
        assert "The service is briefly unavailable" in body
        assert "Something went wrong" not in body
        assert response.headers["X-Request-ID"] in body
        assert "The Civic Ledger" in body
        assert "Traceback" not in body
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_signed_in_reader_gets_the_503_page_during_a_database_outage(unreachable_app, tmp_path):
    """The page's header would load the signed-in reader, which needs the database: the outage
    page is rendered as for an anonymous reader instead of failing into a bare 500."""
    app = unreachable_app(f"sqlite:///{tmp_path}/missing-dir/db.sqlite3")
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = "1"
        cookie["sid"] = "a-session-token"
    response = client.get("/")
    assert response.status_code == 503
    assert "The service is briefly unavailable" in response.get_data(as_text=True)


def test_a_form_post_during_a_database_outage_gets_a_503_page(unreachable_app, tmp_path):
    """A write that cannot reach the database is refused with 503, not a 500."""
    app = unreachable_app(f"sqlite:///{tmp_path}/missing-dir/db.sqlite3")
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post(
        "/login", data={"email": "reader@example.org", "password": "x" * 12}
    )
    assert response.status_code == 503


def test_a_programming_error_is_still_a_500(app, client, monkeypatch):
    """Only a lost database is a 503: any other database error stays a logged 500."""
    from sqlalchemy.exc import ProgrammingError

    from membership.articles import views

    def broken(*args, **kwargs):
        raise ProgrammingError("SELECT nonsense", {}, Exception("syntax error"))

    monkeypatch.setattr(views, "render_template", broken)
    response = client.get("/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
