"""How long a sign-in lasts, as a reader meets it (issue 15)."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from membership.extensions import db
from membership.models import UserSession
from membership.models.types import utcnow


def signed_in_hours_ago(hours: float) -> None:
    """Move the sign-in back in time; the reader stayed active, so only its age changes."""
    record = db.session.scalar(select(UserSession))
    shift = timedelta(hours=hours)
    db.session.execute(
        update(UserSession).values(
            created_at=record.created_at - shift,
            authenticated_at=record.authenticated_at - shift,
            expires_at=record.expires_at - shift,
            last_seen_at=utcnow(),
        )
    )
    db.session.commit()


@pytest.mark.parametrize(("hours", "signed_in"), [(23, True), (25, False)])
def test_a_browser_session_without_remember_me_ends_after_24_hours(
    client, user, login, hours, signed_in
):
    login(client, user.email)
    signed_in_hours_ago(hours)
    response = client.get("/account")
    assert (response.status_code == 200) == signed_in
    if not signed_in:
        assert response.headers["Location"].startswith("/login")


def test_remember_me_keeps_an_active_reader_signed_in_for_weeks(client, user, login):
    login(client, user.email, remember="y")
    signed_in_hours_ago(24 * 29)
    assert client.get("/account").status_code == 200
    signed_in_hours_ago(24 * 2)
    assert client.get("/account").status_code == 302, "30 days at most, even when active"
