"""Secrets at rest (issue 14.1): TOTP secrets and outgoing mail are stored encrypted.

The raw columns are read with plain SQL, as a backup or a replica would be read.
"""

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, text, update

from membership.crypto import PREFIX, Box, SecretUnreadable, derive_key
from membership.extensions import db
from membership.models import PendingTotpSecret, RecoveryCode, User
from membership.models.types import utcnow
from tests.conftest import sign_in_with_two_factor
from tests.test_reset import reset_path

SETUP = "/account/two-factor"


def shown_secret(client) -> str:
    page = client.get(SETUP).get_data(as_text=True)
    return re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)


def raw(sql: str, **params):
    return db.session.execute(text(sql), params).all()


def session_cookie(app, client) -> dict:
    """The decoded session cookie, as anyone holding it can read it (signed, not encrypted)."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_totp_secret_is_encrypted_in_the_database_and_never_in_the_cookie(app, signed_in, user):
    secret = shown_secret(signed_in)
    assert secret not in str(session_cookie(app, signed_in)), "the setup secret left the server"
    [(pending,)] = raw("SELECT secret FROM pending_totp_secrets")
    assert pending.startswith(PREFIX) and secret not in pending

    assert shown_secret(signed_in) == secret, "reloading the page keeps the same secret"
    response = signed_in.submit(f"{SETUP}/enable", {"code": pyotp.TOTP(secret).now()}, page=SETUP)
    assert response.status_code == 200
    [(stored,)] = raw("SELECT totp_secret FROM users WHERE id = :id", id=user.id)
    assert stored.startswith(PREFIX)
    assert secret not in stored and secret.lower() not in stored.lower()
    assert raw("SELECT user_id FROM pending_totp_secrets") == [], "the pending copy is gone"
    db.session.refresh(user)
    assert user.totp_secret == secret, "the app still reads the plaintext"


def test_admin_signs_in_with_the_encrypted_secret(app, make_admin):
    admin = make_admin()
    [(stored,)] = raw("SELECT totp_secret FROM users WHERE id = :id", id=admin.id)
    assert stored.startswith(PREFIX) and admin.totp_secret not in stored
    client = app.test_client()
    assert sign_in_with_two_factor(client, admin).status_code == 302
    assert client.get("/admin").status_code == 200


def test_wrong_setup_code_stores_nothing(app, signed_in, user):
    shown_secret(signed_in)
    response = signed_in.submit(f"{SETUP}/enable", {"code": "000000"}, page=SETUP)
    assert response.status_code == 422
    db.session.refresh(user)
    assert user.totp_secret_ciphertext is None and user.totp_enabled_at is None
    assert db.session.scalars(select(RecoveryCode)).all() == []


def test_an_expired_setup_is_refused_and_replaced(app, signed_in, user):
    old = shown_secret(signed_in)
    db.session.execute(
        update(PendingTotpSecret).values(created_at=utcnow() - timedelta(minutes=31))
    )
    db.session.commit()
    response = signed_in.submit(f"{SETUP}/enable", {"code": pyotp.TOTP(old).now()}, page=SETUP)
    # submit() fetched the page first, which already replaced the expired secret.
    assert response.status_code == 422
    db.session.refresh(user)
    assert user.totp_enabled_at is None
    assert shown_secret(signed_in) != old


def test_expired_setup_on_submit_says_so(app, signed_in, user):
    token = signed_in.csrf_token(SETUP)
    old = db.session.get(PendingTotpSecret, user.id).secret
    db.session.execute(
        update(PendingTotpSecret).values(created_at=utcnow() - timedelta(minutes=31))
    )
    db.session.commit()
    response = signed_in.post(
        f"{SETUP}/enable", data={"code": pyotp.TOTP(old).now(), "csrf_token": token}
    )
    assert response.status_code == 302
    assert "expired" in signed_in.get(SETUP).get_data(as_text=True)
    db.session.refresh(user)
    assert user.totp_enabled_at is None


def test_emails_with_links_are_encrypted_in_the_outbox(client, user, mailbox):
    client.submit("/reset-password", {"email": user.email})
    token = reset_path(mailbox, user.email).rsplit("/", 1)[-1]
    [(text_body, html_body)] = raw("SELECT text_body, html_body FROM outbox_emails")
    for stored in (text_body, html_body):
        assert stored.startswith(PREFIX)
        assert token not in stored and "reset-password" not in stored


def test_a_value_under_another_key_or_in_plaintext_is_refused():
    mine, theirs = Box(["key-one-" * 5]), Box(["key-two-" * 5])
    stored = mine.encrypt("JBSWY3DPEHPK3PXP")
    assert mine.decrypt(stored) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretUnreadable):
        theirs.decrypt(stored)
    with pytest.raises(SecretUnreadable):
        mine.decrypt("JBSWY3DPEHPK3PXP")
    with pytest.raises(SecretUnreadable):
        mine.decrypt(PREFIX + "not-a-token")
    assert derive_key("a") != derive_key("b") and len(derive_key("a")) == 44


def test_an_unreadable_secret_refuses_codes_instead_of_failing(app, make_admin):
    admin = make_admin()
    code = pyotp.TOTP(admin.totp_secret).now()
    db.session.execute(
        update(User)
        .where(User.id == admin.id)
        .values(totp_secret_ciphertext=Box(["someone-elses-key" * 3]).encrypt("X" * 32))
    )
    db.session.commit()
    client = app.test_client()
    client.submit("/login", {"email": admin.email, "password": "correct horse battery staple"})
    response = client.submit("/login/two-factor", {"code": code})
    assert response.status_code == 422
    assert client.get("/admin").status_code == 302


def test_setup_pages_opened_at_once_share_one_pending_secret(app, make_user, login):
    """Two tabs (or a double click) opening the setup page together: both pages, one secret."""
    import threading

    user = make_user("tabs@example.org")
    clients = [app.test_client() for _ in range(6)]
    for client in clients:
        login(client, user.email)
    barrier = threading.Barrier(len(clients))
    pages: list = []

    def open_setup(client):
        barrier.wait()
        pages.append(client.get("/account/two-factor"))

    threads = [threading.Thread(target=open_setup, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [page.status_code for page in pages] == [200] * len(clients)
    secret = db.session.get(PendingTotpSecret, user.id).secret
    assert all(secret in page.get_data(as_text=True) for page in pages)
