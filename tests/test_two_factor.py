"""Two-factor sign-in (SECURITY 8): required for admins, optional for readers, codes work once."""

import re
from datetime import timedelta

import pyotp
from sqlalchemy import select, update

from membership.extensions import db
from membership.models import RecoveryCode, User, UserSession
from membership.models.types import utcnow
from tests.conftest import PASSWORD, sign_in_with_two_factor, totp_code


def setup_two_factor(client) -> tuple[str, list[str]]:
    """Scan (read the secret from the page), confirm a code; returns (secret, recovery codes)."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    assert "<svg" in page, "the QR code is inline SVG"
    response = client.submit(
        "/account/two-factor/enable", {"code": pyotp.TOTP(secret).now()}, page="/account/two-factor"
    )
    assert response.status_code == 200
    codes = re.findall(
        r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", response.get_data(as_text=True)
    )
    return secret, codes


def test_admin_without_two_factor_is_sent_to_set_it_up(app, make_user, login):
    admin = make_user("boss@example.org", role="admin")
    client = app.test_client()
    login(client, admin.email)
    response = client.get("/admin/articles")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/two-factor"
    _secret, codes = setup_two_factor(client)
    assert len(codes) == 10
    assert client.get("/admin/articles").status_code == 200
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not any(code.replace("-", "") in stored for code in codes)


def test_wrong_setup_code_is_refused(app, make_user, login):
    client = app.test_client()
    login(client, make_user("reader@example.org").email)
    client.get("/account/two-factor")
    response = client.submit(
        "/account/two-factor/enable", {"code": "000000"}, page="/account/two-factor"
    )
    assert response.status_code == 422
    assert db.session.scalar(select(User.totp_enabled_at)) is None


def test_enabling_two_factor_ends_other_sessions(app, make_user, login):
    user = make_user("reader@example.org")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user.email)
    login(phone, user.email)
    setup_two_factor(laptop)
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200


def test_sign_in_needs_the_code_and_the_password_alone_gives_nothing(app, make_admin):
    admin = make_admin()
    client = app.test_client()
    response = client.submit("/login", {"email": admin.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/login/two-factor")
    assert client.get("/account").status_code == 302, "not signed in before the code"
    assert db.session.scalars(select(UserSession)).all() == []
    wrong = client.submit("/login/two-factor", {"code": "123456"})
    assert wrong.status_code == 422
    assert "not valid" in wrong.get_data(as_text=True)
    db.session.refresh(admin)
    right = client.submit("/login/two-factor", {"code": totp_code(admin)})
    assert right.status_code == 302
    assert client.get("/admin/articles").status_code == 200


def test_a_code_works_once(app, make_admin):
    admin = make_admin()
    first = app.test_client()
    assert sign_in_with_two_factor(first, admin).status_code == 302
    used_step = db.session.get(User, admin.id).totp_last_step
    replay = app.test_client()
    replay.submit("/login", {"email": admin.email, "password": PASSWORD})
    code = pyotp.TOTP(admin.totp_secret).at(used_step * 30)
    assert replay.submit("/login/two-factor", {"code": code}).status_code == 422


def test_recovery_code_signs_in_once(app, make_user, login):
    user = make_user("reader@example.org")
    client = app.test_client()
    login(client, user.email)
    _secret, codes = setup_two_factor(client)
    client.submit("/logout", page="/account")
    for expected in (302, 422):
        fresh = app.test_client()
        fresh.submit("/login", {"email": user.email, "password": PASSWORD})
        assert fresh.submit("/login/two-factor", {"code": codes[0]}).status_code == expected


def test_two_factor_attempts_are_throttled(app, make_admin):
    admin = make_admin()
    client = app.test_client()
    client.submit("/login", {"email": admin.email, "password": PASSWORD})
    statuses = [
        client.submit("/login/two-factor", {"code": "000000"}).status_code for _ in range(7)
    ]
    assert statuses[:6] == [422] * 6 and statuses[6] == 429
    db.session.refresh(admin)
    assert client.submit("/login/two-factor", {"code": totp_code(admin)}).status_code == 429


def test_pending_second_step_expires(app, make_admin, monkeypatch):
    admin = make_admin()
    client = app.test_client()
    client.submit("/login", {"email": admin.email, "password": PASSWORD})
    with client.session_transaction() as session:
        session["pending_2fa"]["at"] -= 301
        session.modified = True
    response = client.get("/login/two-factor")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_two_factor_changes_need_a_recent_login(app, make_user, login):
    user = make_user("reader@example.org")
    client = app.test_client()
    login(client, user.email)
    db.session.execute(
        update(UserSession).values(authenticated_at=utcnow() - timedelta(minutes=20))
    )
    db.session.commit()
    response = client.get("/account/two-factor")
    assert response.status_code == 302 and "/reauthenticate" in response.headers["Location"]


def test_turning_it_off_needs_the_password(app, make_user, login):
    user = make_user("reader@example.org")
    client = app.test_client()
    login(client, user.email)
    setup_two_factor(client)
    client.submit(
        "/account/two-factor/disable",
        {"password": "wrong password here"},
        page="/account/two-factor",
    )
    assert db.session.get(User, user.id).totp_enabled_at is not None
    client.submit("/account/two-factor/disable", {"password": PASSWORD}, page="/account/two-factor")
    assert db.session.get(User, user.id).totp_enabled_at is None
    assert db.session.scalars(select(RecoveryCode)).all() == []
