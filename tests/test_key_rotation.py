"""Rotating SECRET_KEY (issue 14.2): what the old key made keeps working while it is a fallback,
`rotate-secrets` moves secrets at rest to the new key, and dropping the old key ends the rest.

Three apps share one database: OLD (the key before), ROTATED (new key, old one in
SECRET_KEY_FALLBACKS) and DROPPED (new key alone).
"""

import time

import pyotp
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

from membership.config import load_config
from membership.extensions import db
from tests.conftest import PASSWORD
from tests.test_reset import choose, reset_path

OLD = "the-old-secret-key-that-was-in-use-0123456789"
NEW = "the-new-secret-key-after-rotation-9876543210"
COOKIE = "membership_session"


@pytest.fixture
def app_config():
    """The `app` fixture (and the factories) run under the old key."""
    return {"SECRET_KEY": OLD}


@pytest.fixture
def rotated(make_app):
    return make_app(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD])


@pytest.fixture
def dropped(make_app):
    return make_app(SECRET_KEY=NEW)


def moved(client, to_app):
    """A client of `to_app` carrying the same cookies (the browser after the deploy)."""
    other = to_app.test_client()
    cookie = client.get_cookie(COOKIE)
    if cookie is not None:
        other.set_cookie(COOKIE, cookie.value)
    return other


class Authenticator:
    """A phone app: the next code after the last one used (codes work once)."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last = int(time.time() // 30) - 2

    def code(self) -> str:
        self.last = max(self.last + 1, int(time.time() // 30) - 1)
        return self.totp.at(self.last * 30)


def two_factor_sign_in(application, user, phone: Authenticator) -> int:
    client = application.test_client()
    response = client.submit("/login", {"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/login/two-factor")
    return client.submit("/login/two-factor", {"code": phone.code()}).status_code


def run(application, *args: str):
    """A `flask` command of this app (its own context: the test's is the old app's)."""
    with application.app_context():
        return application.test_cli_runner().invoke(args=list(args))


def raw_secrets(application) -> list[str]:
    with application.app_context():
        return [row[0] for row in db.session.execute(text("SELECT totp_secret FROM users"))]


def test_a_session_survives_the_rotation_and_ends_when_the_old_key_goes(
    app, signed_in, rotated, dropped
):
    assert signed_in.get("/account").status_code == 200
    assert moved(signed_in, rotated).get("/account").status_code == 200
    assert moved(signed_in, dropped).get("/account").status_code == 302


def test_a_reset_link_survives_the_rotation_and_dies_with_the_old_key(
    app, user, mailbox, rotated, dropped
):
    app.test_client().submit("/reset-password", {"email": user.email})
    path = reset_path(mailbox, user.email)
    assert dropped.test_client().get(path).status_code == 400
    assert rotated.test_client().get(path).status_code == 200
    assert choose(rotated.test_client(), path).status_code == 302


def csrf_pair(session_app, token_key: str, raw: str = "a" * 40) -> tuple[str, str]:
    """A session cookie (signed by `session_app`) and a CSRF token signed with `token_key`."""
    cookie = session_app.session_interface.get_signing_serializer(session_app).dumps(
        {"csrf_token": raw}
    )
    return cookie, URLSafeTimedSerializer(token_key, salt="wtf-csrf-token").dumps(raw)


@pytest.mark.parametrize(("which", "status"), [("rotated", 422), ("dropped", 400)])
def test_a_form_opened_before_the_rotation_can_be_sent_after_it(
    app, user, rotated, dropped, which, status
):
    target = {"rotated": rotated, "dropped": dropped}[which]
    cookie, token = csrf_pair(dropped, OLD)  # the cookie is valid everywhere, the token is old
    client = target.test_client()
    client.set_cookie(COOKIE, cookie)
    response = client.post(
        "/login", data={"email": user.email, "password": "wrong password!", "csrf_token": token}
    )
    # 422: the CSRF token passed and the password was checked; 400: the CSRF token was refused.
    assert response.status_code == status


def test_totp_secrets_survive_the_rotation_and_rotate_secrets_moves_them(
    app, make_admin, rotated, dropped
):
    first, second = make_admin("one@example.org"), make_admin("two@example.org")
    phones = {admin.id: Authenticator(admin.totp_secret) for admin in (first, second)}
    before = raw_secrets(app)

    assert two_factor_sign_in(rotated, first, phones[first.id]) == 302
    assert two_factor_sign_in(dropped, second, phones[second.id]) == 422, "old key is gone"

    result = run(rotated, "rotate-secrets")
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 2 secret(s)" in result.output
    after = raw_secrets(app)
    assert set(after).isdisjoint(before)

    assert two_factor_sign_in(dropped, first, phones[first.id]) == 302
    assert two_factor_sign_in(dropped, second, phones[second.id]) == 302
    assert two_factor_sign_in(app, first, phones[first.id]) == 422, "the old key cannot read them"


def test_rotate_secrets_reports_what_no_key_can_read(app, make_admin, dropped):
    make_admin()
    result = run(dropped, "rotate-secrets")
    assert result.exit_code == 1
    assert "users.totp_secret #1" in result.output
    assert "could not be decrypted" in result.output


def test_fallbacks_come_from_a_comma_separated_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", f" {OLD} , another-old-key-0123456789abcdef,")
    config = load_config(str(tmp_path))
    assert config["SECRET_KEY_FALLBACKS"] == [OLD, "another-old-key-0123456789abcdef"]
    monkeypatch.delenv("SECRET_KEY_FALLBACKS")
    assert load_config(str(tmp_path))["SECRET_KEY_FALLBACKS"] == []
