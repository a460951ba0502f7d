"""Server-side sessions: logout, copied cookies, other sessions, timeouts, suspension."""

from datetime import timedelta

from sqlalchemy import select, update

from membership.auth.sessions import revoke_sessions
from membership.extensions import db
from membership.models import UserSession
from membership.models.types import utcnow


def copy_cookies(source, target) -> None:
    """Give `target` the same cookies as `source`, as a thief with the cookie would."""
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def test_logout_is_post_only(signed_in):
    assert signed_in.get("/logout").status_code == 405
    assert signed_in.get("/account").status_code == 200


def test_logout_kills_a_copied_cookie(app, signed_in):
    thief = app.test_client()
    copy_cookies(signed_in, thief)
    assert thief.get("/account").status_code == 200
    response = signed_in.submit("/logout", page="/account")
    assert response.status_code == 302
    assert signed_in.get("/account").status_code == 302
    assert thief.get("/account").status_code == 302
    assert db.session.scalar(select(UserSession)).revoked_at is not None


def test_account_page_lists_sessions_and_signs_out_the_others(app, user, login):
    laptop = app.test_client()
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = "PhoneBrowser/1.0"
    login(laptop, user.email)
    login(phone, user.email)
    page = laptop.get("/account").get_data(as_text=True)
    assert "PhoneBrowser/1.0" in page
    assert "(this device)" in page

    response = laptop.submit("/account/sessions/sign-out-others", page="/account")
    assert response.status_code == 302
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200


def test_suspension_ends_sessions_on_the_next_request(signed_in, user):
    from membership.auth.standing import suspend

    suspend(user, reason="Spam", until=utcnow() + timedelta(days=1))
    db.session.commit()
    assert signed_in.get("/account").status_code == 302


def test_ban_ends_sessions_even_without_revocation(signed_in, user):
    user.status = "banned"
    db.session.commit()
    assert signed_in.get("/account").status_code == 302


def test_absolute_timeout(signed_in):
    db.session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert signed_in.get("/account").status_code == 302


def test_member_session_survives_a_day_of_idleness_with_remember_me(client, user, login):
    login(client, user.email, remember="y")
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    assert client.get("/account").status_code == 200


def test_member_idle_timeout_is_thirty_days(client, user, login):
    login(client, user.email, remember="y")
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    assert client.get("/account").status_code == 302


def test_staff_idle_timeout_is_thirty_minutes(client, make_user, login):
    admin = make_user("editor@example.org", role="admin")
    login(client, admin.email)
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    db.session.commit()
    assert client.get("/account").status_code == 302


def test_activity_refreshes_the_idle_clock(client, make_user, login):
    admin = make_user("editor@example.org", role="admin")
    login(client, admin.email)
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=20)))
    db.session.commit()
    assert client.get("/account").status_code == 200
    seen = db.session.scalar(select(UserSession.last_seen_at))
    assert utcnow() - seen < timedelta(minutes=1)


def test_revoke_sessions_keeps_the_one_asked_for(app, user, login):
    first, second = app.test_client(), app.test_client()
    login(first, user.email)
    login(second, user.email)
    keep = db.session.scalars(select(UserSession).order_by(UserSession.id)).first()
    assert revoke_sessions(user, keep=keep) == 1
    db.session.commit()
    assert first.get("/account").status_code == 200
    assert second.get("/account").status_code == 302


def test_login_rotates_the_session_cookie(app, user, login):
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("membership_session").value
    login(client, user.email)
    after = client.get_cookie("membership_session").value
    assert before != after
