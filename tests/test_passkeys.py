"""Passkeys (WebAuthn): add, name and remove them; sign in with one; a passkey as staff's 2FA.

The browser's side is played by tests/soft_authenticator.py (EC P-256 keys from `cryptography`);
the server verifies with py_webauthn exactly as it does for a real browser. Staff and the second
factor: tests/test_passkeys_staff.py.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from webauthn.helpers import base64url_to_bytes

from membership.extensions import db
from membership.models import UserSession, WebAuthnChallenge, WebAuthnCredential
from membership.models.types import utcnow
from tests.soft_authenticator import AT, UP, SoftAuthenticator


def post_json(client, url: str, body: dict | None = None, *, page: str = "/reset-password"):
    """POST JSON the way static/passkeys.js does, with the page's CSRF token in a header.

    The default page shows a form to everyone, signed in or not, so it always has a token.
    """
    token = client.csrf_token(page)
    return client.post(url, json=body if body is not None else {}, headers={"X-CSRFToken": token})


def registration_options(client) -> dict:
    response = post_json(client, "/account/passkeys/options", page="/account/passkeys")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def add_passkey(client, authenticator, name: str = "Laptop", **bend):
    """The whole add-a-passkey ceremony; `bend` goes to the authenticator (origin, rp_id...)."""
    options = registration_options(client)
    credential = authenticator.create(options, **bend)
    return post_json(
        client, "/account/passkeys", {"credential": credential, "name": name}, page="/account"
    )


def sign_in_options(client) -> dict:
    response = post_json(client, "/login/passkey/options")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def sign_in_with_passkey(client, authenticator, **bend):
    credential = authenticator.get(sign_in_options(client), **bend)
    return post_json(client, "/login/passkey", {"credential": credential})


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def is_signed_in(client) -> bool:
    return client.get("/account").status_code == 200


@pytest.fixture
def with_passkey(signed_in, authenticator, user):
    """The signed-in reader `user` with one passkey named "Laptop"."""
    response = add_passkey(signed_in, authenticator)
    assert response.status_code == 200, response.get_data(as_text=True)
    return signed_in


# --- adding, naming, removing -------------------------------------------------------------------


def test_the_account_page_leads_to_passkeys(signed_in):
    assert 'href="/account/passkeys"' in signed_in.get("/account").get_data(as_text=True)
    page = signed_in.get("/account/passkeys").get_data(as_text=True)
    assert "You have no passkeys yet." in page
    assert 'data-passkey="register"' in page and "passkeys.js" in page
    assert "<script>" not in page  # the CSP forbids inline scripts


@pytest.mark.parametrize("fmt", ["none", "packed"])
def test_a_reader_adds_a_passkey(signed_in, authenticator, user, fmt):
    options = registration_options(signed_in)
    assert options["rp"]["id"] == "portal.test"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    credential = authenticator.create(options, fmt=fmt)
    response = post_json(
        signed_in, "/account/passkeys", {"credential": credential, "name": "  My   phone "}
    )
    assert response.status_code == 200
    assert response.get_json() == {"redirect": "/account/passkeys"}
    record = db.session.scalar(select(WebAuthnCredential))
    assert (record.user_id, record.name) == (user.id, "My phone")
    assert record.credential_id == authenticator.credentials[0].credential_id
    assert count(WebAuthnChallenge) == 0
    assert "My phone" in signed_in.get("/account/passkeys").get_data(as_text=True)


def test_several_passkeys_renamed_and_removed(with_passkey, authenticator):
    assert add_passkey(with_passkey, authenticator, "Phone").status_code == 200
    records = db.session.scalars(select(WebAuthnCredential).order_by(WebAuthnCredential.id)).all()
    assert [r.name for r in records] == ["Laptop", "Phone"]
    # The new one was made knowing the old one (no duplicate on the same authenticator).
    response = with_passkey.submit(
        f"/account/passkeys/{records[0].id}/rename", {"name": "Work laptop"}, page="/account"
    )
    assert response.status_code == 302
    response = with_passkey.submit(f"/account/passkeys/{records[1].id}/remove", {}, page="/account")
    assert response.status_code == 302
    assert [r.name for r in db.session.scalars(select(WebAuthnCredential))] == ["Work laptop"]


def test_registration_options_exclude_the_passkeys_one_has(with_passkey, authenticator):
    options = registration_options(with_passkey)
    [excluded] = options["excludeCredentials"]
    assert base64url_to_bytes(excluded["id"]) == authenticator.credentials[0].credential_id


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_a_bad_name_is_refused_and_nothing_is_stored(signed_in, authenticator, name):
    response = add_passkey(signed_in, authenticator, name)
    assert response.status_code == 400
    assert "name" in response.get_json()["error"]
    assert count(WebAuthnCredential) == 0
    assert count(WebAuthnChallenge) == 0  # the challenge is spent all the same


@pytest.mark.parametrize("name", ["", "x" * 61])
def test_renaming_to_a_bad_name_shows_the_error(with_passkey, name):
    record = db.session.scalar(select(WebAuthnCredential))
    response = with_passkey.submit(
        f"/account/passkeys/{record.id}/rename", {"name": name}, page="/account"
    )
    assert response.status_code == 422
    db.session.refresh(record)
    assert record.name == "Laptop"


def make_stale(minutes: int = 20) -> None:
    db.session.execute(
        update(UserSession).values(authenticated_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def test_adding_and_removing_need_a_recent_sign_in(with_passkey, authenticator):
    record = db.session.scalar(select(WebAuthnCredential))
    make_stale()
    response = post_json(with_passkey, "/account/passkeys/options", page="/account")
    assert response.status_code == 403
    assert "password again" in response.get_json()["error"]
    assert "enter your password again" in with_passkey.get("/account/passkeys").get_data(
        as_text=True
    )
    response = with_passkey.submit(f"/account/passkeys/{record.id}/remove", {}, page="/account")
    assert "/reauthenticate" in response.headers["Location"]
    assert count(WebAuthnCredential) == 1
    assert count(WebAuthnChallenge) == 0


def test_nobody_touches_another_readers_passkeys(with_passkey, app, make_user, login):
    record = db.session.scalar(select(WebAuthnCredential))
    other = app.test_client()
    login(other, make_user("eve@example.org").email)
    for action, data in (("rename", {"name": "Mine now"}), ("remove", {})):
        response = other.submit(f"/account/passkeys/{record.id}/{action}", data, page="/account")
        assert response.status_code == 404
    db.session.refresh(record)
    assert record.name == "Laptop"


def test_anonymous_visitors_cannot_register(client, authenticator):
    response = post_json(client, "/account/passkeys/options")
    assert response.status_code == 302
    assert count(WebAuthnChallenge) == 0


# --- signing in with a passkey ------------------------------------------------------------------


def test_a_passkey_signs_in_without_a_password(with_passkey, app, authenticator, user):
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "Sign in with a passkey" in page and 'data-passkey="sign-in"' in page
    browser = app.test_client()
    options = sign_in_options(browser)
    assert options["rpId"] == "portal.test"
    assert options["allowCredentials"] == []  # discoverable: the passkey names the account
    assert options["userVerification"] == "required"
    response = post_json(browser, "/login/passkey", {"credential": authenticator.get(options)})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"redirect": "/"}
    assert is_signed_in(browser)
    record = db.session.scalar(select(WebAuthnCredential))
    assert record.sign_count == 1 and record.last_used_at is not None


def test_passkey_sign_in_honours_a_safe_next(with_passkey, app, authenticator):
    browser = app.test_client()
    options = sign_in_options(browser)
    credential = authenticator.get(options)
    response = post_json(browser, "/login/passkey?next=/account", {"credential": credential})
    assert response.get_json() == {"redirect": "/account"}
    browser = app.test_client()
    options = sign_in_options(browser)
    credential = authenticator.get(options)
    response = post_json(browser, "/login/passkey?next=//evil.com", {"credential": credential})
    assert response.get_json() == {"redirect": "/"}


def refused(response, text: str = "could not be verified") -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert text in response.get_json()["error"]


@pytest.mark.parametrize(
    "bend",
    [
        {"origin": "http://evil.test"},
        {"origin": "https://portal.test"},
        {"rp_id": "evil.test"},
        {"flags": UP},  # no user verification: a passkey alone must be two factors
        {"kind": "webauthn.create"},
    ],
    ids=["wrong-origin", "wrong-scheme", "wrong-rp-id", "no-user-verification", "wrong-type"],
)
def test_a_bent_assertion_is_refused_and_changes_nothing(with_passkey, app, authenticator, bend):
    browser = app.test_client()
    refused(sign_in_with_passkey(browser, authenticator, **bend))
    assert not is_signed_in(browser)
    record = db.session.scalar(select(WebAuthnCredential))
    assert record.sign_count == 0 and record.last_used_at is None
    assert count(WebAuthnChallenge) == 0


def test_a_replayed_assertion_is_refused(with_passkey, app, authenticator):
    browser = app.test_client()
    options = sign_in_options(browser)
    credential = authenticator.get(options)
    assert post_json(browser, "/login/passkey", {"credential": credential}).status_code == 200
    # The same assertion from another browser, with or without a challenge of its own.
    thief = app.test_client()
    refused(post_json(thief, "/login/passkey", {"credential": credential}), "expired")
    sign_in_options(thief)
    refused(post_json(thief, "/login/passkey", {"credential": credential}))
    assert not is_signed_in(thief)


def test_a_challenge_verifies_once_even_with_an_old_cookie(with_passkey, app, authenticator):
    browser = app.test_client()
    options = sign_in_options(browser)
    cookie = browser.get_cookie("membership_session").value
    first = post_json(browser, "/login/passkey", {"credential": authenticator.get(options)})
    assert first.status_code == 200
    # The cookie from before the sign-in still names the challenge; the server has spent it.
    replay = app.test_client()
    replay.set_cookie("membership_session", cookie, domain="localhost")
    response = post_json(replay, "/login/passkey", {"credential": authenticator.get(options)})
    refused(response, "expired")
    assert not is_signed_in(replay)


def test_an_expired_challenge_is_refused(with_passkey, app, authenticator):
    browser = app.test_client()
    options = sign_in_options(browser)
    db.session.execute(update(WebAuthnChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = post_json(browser, "/login/passkey", {"credential": authenticator.get(options)})
    refused(response, "expired")


@pytest.mark.parametrize("stale_count", [0, 5])
def test_a_sign_count_that_does_not_grow_is_refused(with_passkey, app, authenticator, stale_count):
    browser = app.test_client()
    assert sign_in_with_passkey(browser, authenticator, sign_count=5).status_code == 200
    clone = app.test_client()
    refused(sign_in_with_passkey(clone, authenticator, sign_count=stale_count))
    assert not is_signed_in(clone)
    assert db.session.scalar(select(WebAuthnCredential.sign_count)) == 5


def test_an_unknown_or_removed_passkey_is_refused(with_passkey, app, authenticator):
    stranger = SoftAuthenticator()
    stranger.create({"challenge": "AA", "rp": {"id": "portal.test"}, "user": {"id": "AQ"}})
    refused(sign_in_with_passkey(app.test_client(), stranger), "not registered")
    record = db.session.scalar(select(WebAuthnCredential))
    with_passkey.submit(f"/account/passkeys/{record.id}/remove", {}, page="/account")
    refused(sign_in_with_passkey(app.test_client(), authenticator), "not registered")


def test_a_banned_reader_cannot_sign_in_with_a_passkey(with_passkey, app, authenticator, user):
    user.status = "banned"
    db.session.commit()
    browser = app.test_client()
    refused(sign_in_with_passkey(browser, authenticator), "cannot sign in")
    assert not is_signed_in(browser)


@pytest.mark.parametrize("bend", [{"origin": "http://evil.test"}, {"rp_id": "evil.test"},
                                  {"flags": UP | AT}, {"kind": "webauthn.get"}])  # fmt: skip
def test_a_bent_registration_stores_nothing(signed_in, authenticator, bend):
    refused(add_passkey(signed_in, authenticator, **bend))
    assert count(WebAuthnCredential) == 0
    assert count(WebAuthnChallenge) == 0


def test_a_registration_cannot_be_replayed_into_another_account(
    signed_in, app, authenticator, make_user, login
):
    options = registration_options(signed_in)
    credential = authenticator.create(options)
    body = {"credential": credential, "name": "Laptop"}
    assert post_json(signed_in, "/account/passkeys", body).status_code == 200
    eve = app.test_client()
    login(eve, make_user("eve@example.org").email)
    refused(post_json(eve, "/account/passkeys", body), "expired")
    registration_options(eve)
    refused(post_json(eve, "/account/passkeys", body))
    assert count(WebAuthnCredential) == 1


def test_ten_simultaneous_uses_of_one_challenge_sign_in_once(with_passkey, app, authenticator):
    """Ten browsers holding the same cookie and assertion: the challenge row goes to one."""
    import threading

    first = app.test_client()
    options = sign_in_options(first)
    cookie = first.get_cookie("membership_session").value
    credential = authenticator.get(options)
    browsers = []
    for _ in range(10):
        browser = app.test_client()
        browser.set_cookie("membership_session", cookie, domain="localhost")
        browsers.append((browser, browser.csrf_token("/reset-password")))
    barrier = threading.Barrier(len(browsers))
    statuses: list[int] = []

    def send(browser, token):
        barrier.wait()
        response = browser.post(
            "/login/passkey", json={"credential": credential}, headers={"X-CSRFToken": token}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=pair) for pair in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * 9, statuses
    assert count(WebAuthnChallenge) == 0


def test_a_readers_passkey_is_not_asked_for_after_the_password(with_passkey, app, user, login):
    browser = app.test_client()
    response = login(browser, user.email)
    assert response.status_code == 302
    assert not response.headers["Location"].endswith("/login/two-factor")
    assert is_signed_in(browser)
