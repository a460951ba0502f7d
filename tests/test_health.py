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


def test_a_page_during_a_database_outage_gets_the_generic_error_page(unreachable_app, tmp_path):
    """The error page must not need the database (its header reads the site-name setting)."""
    app = unreachable_app(f"sqlite:///{tmp_path}/missing-dir/db.sqlite3")
    response = app.test_client().get("/")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong on our side" in body
    assert response.headers["X-Request-ID"] in body
    assert "The Civic Ledger" in body
    assert "Traceback" not in body
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
