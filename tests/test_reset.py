"""Password reset by email link (SECURITY 6, 9, 10)."""

from sqlalchemy import select

from membership.extensions import db
from membership.models import UserSession
from tests.conftest import PASSWORD

NEW_PASSWORD = "a completely new harbor passphrase"


def reset_path(mailbox, email: str) -> str:
    return mailbox.link(email, "/reset-password/").removeprefix("http://portal.test")


def choose(client, path: str, password: str = NEW_PASSWORD):
    return client.submit(path, {"password": password, "password_confirm": password})


def test_unknown_email_gets_the_same_answer(client, user, mailbox):
    known = client.submit("/reset-password", {"email": user.email})
    unknown = client.submit("/reset-password", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).count("If an account uses that address") == 1
    strip = known.get_data(as_text=True).split("<main")[1]
    assert strip == unknown.get_data(as_text=True).split("<main")[1]
    assert len(mailbox.to(user.email)) == 1
    assert mailbox.to("nobody@example.org") == []


def test_reset_link_changes_the_password_once_and_signs_nobody_in(client, user, mailbox, login):
    client.submit("/reset-password", {"email": user.email})
    path = reset_path(mailbox, user.email)
    assert client.get(path).status_code == 200
    response = choose(client, path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert client.get("/account").status_code == 302, "a reset must not sign the user in"

    again = client.get(path)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)

    assert login(client, user.email, PASSWORD).status_code == 422
    assert login(client, user.email, NEW_PASSWORD).status_code == 302
    assert "Your password was changed" in mailbox.last(user.email)["Subject"]


def test_reset_ends_every_other_session(app, user, mailbox, login):
    other_device = app.test_client()
    login(other_device, user.email)
    stranger = app.test_client()
    stranger.submit("/reset-password", {"email": user.email})
    choose(stranger, reset_path(mailbox, user.email))
    assert other_device.get("/account").status_code == 302
    sessions = db.session.scalars(select(UserSession)).all()
    assert sessions and all(s.revoked_at is not None for s in sessions)


def test_reset_link_expires_after_an_hour(make_app, mailbox):
    app = make_app(RESET_TOKEN_MAX_AGE=-1)
    client = app.test_client()
    with app.app_context():
        from membership.auth.services import create_user

        create_user("late@example.org", "Late", PASSWORD, confirmed=True)
        db.session.commit()
    client.submit("/reset-password", {"email": "late@example.org"})
    response = client.get(reset_path(mailbox, "late@example.org"))
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_reset_token_lifetime_is_one_hour(app):
    assert app.config["RESET_TOKEN_MAX_AGE"] == 3600


def test_reset_link_dies_when_the_password_changes_otherwise(client, user, mailbox):
    client.submit("/reset-password", {"email": user.email})
    first = reset_path(mailbox, user.email)
    client.submit("/reset-password", {"email": user.email})
    second = reset_path(mailbox, user.email)
    assert choose(client, second).status_code == 302
    assert client.get(first).status_code == 400


def test_tampered_reset_link_is_refused(client, user, mailbox):
    client.submit("/reset-password", {"email": user.email})
    path = reset_path(mailbox, user.email)
    assert client.get(path[:-2] + "xx").status_code == 400


def test_weak_new_password_is_refused(client, user, mailbox):
    client.submit("/reset-password", {"email": user.email})
    response = choose(client, reset_path(mailbox, user.email), "password")
    assert response.status_code == 422
    assert "at least 12 characters" in response.get_data(as_text=True)


def test_reset_link_is_built_from_site_url_not_the_host_header(client, user, mailbox):
    client.submit("/reset-password", {"email": user.email}, headers={"Host": "evil.example.com"})
    link = mailbox.link(user.email, "/reset-password/")
    assert link.startswith("http://portal.test/reset-password/")
    assert "evil" not in mailbox.text_of(mailbox.last(user.email))
