"""A dependency down (Redis for rate limits, a database restart) degrades the site, never into
a 500."""

import socket
import time

import pytest

from membership.extensions import db
from tests.conftest import PASSWORD, USING_POSTGRES


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sign_in_with_the_rate_limit_store_down_still_works_and_still_counts(make_app, make_user):
    """Redis down: limits count in the process's memory instead (README: make drills)."""
    app = make_app(
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed_port()}/0",
        LOGIN_LIMIT_PER_ACCOUNT="3/minute",
    )
    with app.app_context():
        db.create_all()
        make_user("reader@example.org")
    client = app.test_client()
    statuses = [
        client.submit(
            "/login", {"email": "reader@example.org", "password": "wrong" * 3}
        ).status_code
        for _attempt in range(4)
    ]
    assert 500 not in statuses
    assert statuses[:3] == [422, 422, 422], "wrong passwords: the form again"
    assert statuses[3] == 429, "the per-account limit still counts, in memory"
    fresh = app.test_client()
    assert (
        fresh.submit("/login", {"email": "reader@example.org", "password": PASSWORD}).status_code
        == 429
    )


def _end_the_pools_connections() -> None:
    """What a database restart does to the pool: every server process of this database ends."""
    import psycopg

    url = db.engine.url.set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.mark.skipif(not USING_POSTGRES, reason="server connections are PostgreSQL's")
def test_a_connection_lost_while_idle_is_replaced_before_use(client, article):
    """A pooled connection that sat idle is pinged before use: after a restart, the reader is
    served, not shown an error."""
    assert client.get("/articles/harbor-story").status_code == 200
    db.session.remove()
    _end_the_pools_connections()
    time.sleep(1.1)
    assert client.get("/articles/harbor-story").status_code == 200


@pytest.mark.skipif(not USING_POSTGRES, reason="server connections are PostgreSQL's")
def test_a_connection_lost_within_the_second_costs_one_retry_and_nothing_else(client, article):
    """Used within the last second, a connection is not pinged: the one request that meets a
    restart in that second gets the "try again" page, and the next one is served."""
    assert client.get("/articles/harbor-story").status_code == 200
    db.session.remove()
    _end_the_pools_connections()
    first = client.get("/articles/harbor-story")
    assert first.status_code == 503 and first.headers["Retry-After"]
    assert client.get("/articles/harbor-story").status_code == 200
