"""A dependency down (Redis for rate limits) degrades the site, never into a 500."""

import socket

from membership.extensions import db
from tests.conftest import PASSWORD


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
