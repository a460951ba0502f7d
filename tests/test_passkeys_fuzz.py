"""Generated bad input for every passkey endpoint: a clear 4xx, never a 5xx, nothing stored.

Runs 500 examples each under HYPOTHESIS_PROFILE=ci: arbitrary JSON, non-JSON bodies, and real
ceremonies with one part of the browser's answer replaced by junk.
"""

import base64
import copy
from collections import Counter

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from membership.extensions import db
from membership.models import UserSession, WebAuthnChallenge, WebAuthnCredential
from tests.conftest import PASSWORD
from tests.soft_authenticator import SoftAuthenticator
from tests.test_forms_fuzz import NO_LIMITS, WILD, form_data

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
B64URL_JUNK = st.binary(max_size=300).map(
    lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
)
JUNK = st.one_of(JSON, B64URL_JUNK, st.text(max_size=200))
# Parts of the browser's answer that no junk (or absence) can replace and still pass. The optional
# ones (clientExtensionResults, authenticatorAttachment, transports) may be dropped harmlessly;
# the user handle may be absent but never wrong.
ASSERTION_PATHS = [
    ("id",), ("rawId",), ("type",), ("response",), ("response", "clientDataJSON"),
    ("response", "authenticatorData"), ("response", "signature"),
]  # fmt: skip
REGISTRATION_PATHS = [
    ("id",), ("rawId",), ("type",), ("response",), ("response", "clientDataJSON"),
    ("response", "attestationObject"),
]  # fmt: skip


def assertion_bend():
    """A (path, junk) pair that must make an assertion fail."""
    return st.one_of(
        st.tuples(st.sampled_from(ASSERTION_PATHS), st.one_of(st.none(), JUNK)),
        st.tuples(st.just(("response", "userHandle")), JUNK.filter(lambda v: v is not None)),
    )


def bent(payload: dict, path: tuple, value) -> dict:
    """A copy of the payload with the value at `path` replaced (or removed for None)."""
    result = copy.deepcopy(payload)
    target = result
    for key in path[:-1]:
        target = target[key]
    # Junk equal to the real value would be no bend at all (Hypothesis does find user handles).
    assume(value is None or target.get(path[-1]) != value)
    if value is None:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return result


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


class Browser:
    """A test client with its CSRF token fetched once; posts JSON like static/passkeys.js."""

    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.token = self.client.csrf_token("/reset-password")

    def post(self, url: str, body=None, *, raw: bytes | None = None):
        headers = {"X-CSRFToken": self.token}
        if raw is not None:
            return self.client.post(url, data=raw, headers=headers, content_type="application/json")
        return self.client.post(url, json=body, headers=headers)


@pytest.fixture
def fuzz_app(make_app):
    """An app without rate limits (the fuzzer sends thousands of requests from one IP)."""
    app = make_app(**NO_LIMITS)
    with app.app_context():
        yield app


@pytest.fixture
def reader_with_passkey(fuzz_app, make_user, login):
    """A reader with one passkey, the authenticator holding it, and a signed-in browser."""
    user = make_user("ada@example.org")
    authenticator = SoftAuthenticator()
    browser = Browser(fuzz_app)
    login(browser.client, user.email)
    browser.token = browser.client.csrf_token("/account")
    options = browser.post("/account/passkeys/options").get_json()
    response = browser.post(
        "/account/passkeys", {"credential": authenticator.create(options), "name": "Laptop"}
    )
    assert response.status_code == 200
    return user, authenticator, browser


def test_passkey_sign_in_survives_generated_payloads(fuzz_app, reader_with_passkey):
    _user, authenticator, _browser = reader_with_passkey
    anonymous = Browser(fuzz_app)
    statuses = Counter()

    @settings()
    @given(
        how=st.sampled_from(["json", "raw", "bent"]),
        body=JSON,
        raw=st.binary(max_size=200),
        bend=assertion_bend(),
    )
    def check(how, body, raw, bend):
        path, junk = bend
        options = anonymous.post("/login/passkey/options").get_json()
        if how == "json":
            response = anonymous.post("/login/passkey", body)
        elif how == "raw":
            response = anonymous.post("/login/passkey", raw=raw)
        else:
            assertion = authenticator.get(options)
            response = anonymous.post("/login/passkey", {"credential": bent(assertion, path, junk)})
        assert 400 <= response.status_code < 500, (response.status_code, how)
        assert "error" in response.get_json()
        statuses[response.status_code] += 1
        assert anonymous.client.get("/account").status_code == 302

    check()
    assert set(statuses) == {400}, statuses
    assert count(UserSession) == 1  # only the fixture's own sign-in
    assert count(WebAuthnChallenge) == 0


def test_passkey_registration_survives_generated_payloads(reader_with_passkey):
    _user, _authenticator, browser = reader_with_passkey
    statuses = Counter()

    @settings()
    @given(
        how=st.sampled_from(["json", "raw", "bent", "name"]),
        body=JSON,
        raw=st.binary(max_size=200),
        path=st.sampled_from(REGISTRATION_PATHS),
        junk=st.one_of(st.none(), JUNK),
        name=st.one_of(JUNK, st.text(min_size=61, max_size=200)),
    )
    def check(how, body, raw, path, junk, name):
        options = browser.post("/account/passkeys/options").get_json()
        if how == "json":
            response = browser.post("/account/passkeys", body)
        elif how == "raw":
            response = browser.post("/account/passkeys", raw=raw)
        else:
            attestation = SoftAuthenticator().create(options)
            if how == "bent":
                attestation, name = bent(attestation, path, junk), "Phone"
            response = browser.post("/account/passkeys", {"credential": attestation, "name": name})
        if response.status_code == 200:
            # Only a real attestation with an odd but acceptable name gets through.
            assert how == "name" and isinstance(name, str) and name.strip(), name
            db.session.execute(
                WebAuthnCredential.__table__.delete().where(WebAuthnCredential.name != "Laptop")
            )
            db.session.commit()
        else:
            assert 400 <= response.status_code < 500, (response.status_code, how)
        statuses[response.status_code] += 1
        assert count(WebAuthnCredential) == 1

    check()
    assert statuses[400], statuses
    assert count(WebAuthnChallenge) == 0


def test_the_passkey_second_factor_survives_generated_payloads(
    fuzz_app, make_user, login, make_admin
):
    editor = make_admin("editor@example.org", role="editor")
    authenticator = SoftAuthenticator()
    setup = Browser(fuzz_app)
    from tests.conftest import sign_in_with_two_factor

    sign_in_with_two_factor(setup.client, editor)
    setup.token = setup.client.csrf_token("/account")
    options = setup.post("/account/passkeys/options").get_json()
    setup.post("/account/passkeys", {"credential": authenticator.create(options), "name": "Key"})
    browser = Browser(fuzz_app)
    browser.client.submit("/login", {"email": editor.email, "password": PASSWORD})
    browser.token = browser.client.csrf_token("/reset-password")
    statuses = Counter()

    @settings()
    @given(body=JSON, bend=assertion_bend())
    def check(body, bend):
        path, junk = bend
        options = browser.post("/login/two-factor/passkey/options").get_json()
        assertion = bent(authenticator.get(options), path, junk)
        for payload in (body, {"credential": assertion}):
            response = browser.post("/login/two-factor/passkey", payload)
            assert 400 <= response.status_code < 500, response.status_code
            statuses[response.status_code] += 1
        assert browser.client.get("/account").status_code == 302

    check()
    assert set(statuses) == {400}, statuses


def test_renaming_survives_generated_names(reader_with_passkey):
    """The rename form: any name, repeated or missing, with extras: 302, 400 (NUL) or 422."""
    _user, _authenticator, browser = reader_with_passkey
    record_id = db.session.scalar(select(WebAuthnCredential.id))
    token = browser.client.csrf_token("/account/passkeys")
    statuses = Counter()

    @settings()
    @given(data=form_data({"name": (st.text(max_size=70), WILD)}))
    def check(data):
        response = browser.client.post(
            f"/account/passkeys/{record_id}/rename", data={**data, "csrf_token": token}
        )
        assert response.status_code in (302, 400, 422), (response.status_code, data)
        statuses[response.status_code] += 1
        name = db.session.scalar(select(WebAuthnCredential.name))
        assert 1 <= len(name) <= 60 and name == name.strip()

    check()
    assert statuses[302] and statuses[422], statuses
    assert count(WebAuthnCredential) == 1
