"""A member signed out by a suspension is told why (issue 14.8): in the open tab's next request,
and again after signing in; a session ended for another reason says nothing of the kind."""

from datetime import UTC, datetime

from membership.auth.sessions import revoke_sessions
from membership.auth.standing import suspend
from membership.extensions import db
from tests.conftest import PASSWORD

UNTIL = datetime(2031, 3, 14, 9, 30, tzinfo=UTC)


def suspend_now(user, reason="Repeated spam", until=UNTIL):
    suspend(user, reason=reason, until=until)
    db.session.commit()


def test_an_open_tab_explains_the_suspension_once(signed_in, user):
    suspend_now(user)
    response = signed_in.get("/account", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/login"
    assert "signed out because your account is suspended until 14 March 2031, 09:30 UTC" in page
    assert "Repeated spam" in page
    again = signed_in.get("/").get_data(as_text=True)
    assert "signed out because" not in again, "said once, not on every page"


def test_a_public_page_says_it_too(signed_in, user):
    suspend_now(user, until=None)
    page = signed_in.get("/").get_data(as_text=True)
    assert "suspended until further notice" in page
    assert "Sign in" in page


def test_signing_in_again_shows_why_and_until_when(signed_in, user, login):
    suspend_now(user)
    signed_in.get("/")
    assert login(signed_in, user.email, PASSWORD).status_code == 302
    page = signed_in.get("/account").get_data(as_text=True)
    assert "Your account is suspended until 14 March 2031, 09:30 UTC: Repeated spam" in page


def test_other_revocations_say_nothing_about_suspension(signed_in, user):
    revoke_sessions(user)
    db.session.commit()
    response = signed_in.get("/account", follow_redirects=True)
    assert response.request.path == "/login"
    assert "suspended" not in response.get_data(as_text=True)
