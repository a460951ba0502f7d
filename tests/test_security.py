"""Cross-cutting security requirements (SECURITY.md 12, 16-18, 22, 23, 33, 34, 36, 37).

Everything goes through real HTTP requests on the test client; nothing calls a view directly.
"""

import html
import logging
import re
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.routing import FloatConverter, IntegerConverter, UUIDConverter

from membership.config import load_config
from membership.extensions import db
from membership.models import User
from tests.conftest import PASSWORD

# Endpoints allowed to accept a POST without a CSRF token (SECURITY 17): only the Stripe webhook.
EXEMPT = {"stripe.webhook"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# POST routes that exist today: the walk must find them, so it cannot pass by finding nothing.
KNOWN_POST_ENDPOINTS = {
    "auth.login": "/login",
    "auth.register": "/register",
    "auth.logout": "/logout",
    "auth.reset_request": "/reset-password",
    "auth.reset_password": "/reset-password/x",
    "auth.confirm": "/confirm/x",
    "auth.resend_confirmation": "/confirm/resend",
    "auth.reauthenticate": "/reauthenticate",
    "account.update_profile": "/account/profile",
    "account.change_email": "/account/email",
    "account.change_password": "/account/password",
    "account.delete": "/account/delete",
    "account.sign_out_other_sessions": "/account/sessions/sign-out-others",
}
REQUIRED_CSP = {
    "default-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
SESSION_COOKIE = "membership_session"
FORM_EXPIRED = "Form expired"
DEVELOPMENT = {"APP_ENV": "development", "HSTS_ENABLED": False, "SESSION_COOKIE_SECURE": False}


# --- helpers --------------------------------------------------------------------------------


def parse_csp(header: str) -> dict[str, list[str]]:
    """`a x y; b z` -> {"a": ["x", "y"], "b": ["z"]}; a repeated directive is an error."""
    policy: dict[str, list[str]] = {}
    for part in header.split(";"):
        tokens = part.split()
        if not tokens:
            continue
        name = tokens[0].lower()
        assert name not in policy, f"directive {name} appears twice in {header!r}"
        policy[name] = tokens[1:]
    return policy


# Pages with forms that continue to Stripe (membership, account) may add Stripe's hosts, only
# to form-action (SECURITY 33: "plus Stripe's hosts only where needed").
STRIPE_FORM_HOSTS = {"https://checkout.stripe.com", "https://billing.stripe.com"}


def assert_security_headers(response, *, stripe_forms: bool = False) -> None:
    """SECURITY 33: the headers every response carries, whatever its status."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no CSP on a {response.status_code} response"
    policy = parse_csp(header)
    for directive, sources in REQUIRED_CSP.items():
        actual = policy.get(directive)
        if directive == "form-action" and stripe_forms:
            assert actual[0] == "'self'" and set(actual[1:]) == STRIPE_FORM_HOSTS, header
        else:
            assert actual == sources, (directive, header)
    # Nothing else in the policy may re-open script injection or allow any host outright.
    for directive, sources in policy.items():
        for source in sources:
            assert source not in {"*", "'unsafe-inline'", "'unsafe-eval'", "http:"}, (
                directive,
                header,
            )
    assert policy.get("script-src", ["'self'"]) == ["'self'"], header
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin"


def session_cookie_attributes(response) -> dict[str, str]:
    """The attributes (lower-cased names) of the session cookie the response sets."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{SESSION_COOKIE}="):
            attributes = {}
            for part in header.split(";")[1:]:
                name, _, value = part.strip().partition("=")
                attributes[name.lower()] = value
            return attributes
    raise AssertionError(f"no {SESSION_COOKIE} cookie in {response.headers.getlist('Set-Cookie')}")


def placeholder_url(app, rule) -> str:
    """A URL for the rule with dummy arguments (1 for numbers, "x" for strings)."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if isinstance(converter, IntegerConverter):
            values[name] = 1
        elif isinstance(converter, FloatConverter):
            values[name] = 1.0
        elif isinstance(converter, UUIDConverter):
            values[name] = "00000000-0000-0000-0000-000000000001"
        else:
            values[name] = "x"
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def unsafe_routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule that changes state, minus the exempt ones."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint in EXEMPT:
            continue
        for method in sorted((rule.methods or set()) & UNSAFE_METHODS):
            found.append((rule.endpoint, method, placeholder_url(app, rule)))
    return found


def signed_in_as(client, user) -> bool:
    """Whether the client's cookie still signs it in (the account page answers 200)."""
    response = client.get("/account")
    return response.status_code == 200 and user.email in response.get_data(as_text=True)


@pytest.fixture
def boom_app(make_app):
    """A fresh app with a test-only route that fails with an unexpected exception."""
    app = make_app()

    def boom():
        raise RuntimeError("secret detail")

    app.add_url_rule("/boom", "boom", boom)
    return app


# --- SECURITY 33: headers on every response ---------------------------------------------------


def test_security_headers_on_ok_redirect_404_405_and_csrf_400(client, user, login):
    responses = {
        "200": client.get("/"),
        "404": client.get("/no-such-page"),
        "405": client.get("/logout"),
        "csrf 400": client.post("/login", data={"email": user.email, "password": PASSWORD}),
        "422": login(client, user.email, "wrong password entirely"),
        "302": login(client, user.email),
        "signed-in 200": client.get("/account"),
    }
    expected = {
        "200": 200,
        "404": 404,
        "405": 405,
        "csrf 400": 400,
        "422": 422,
        "302": 302,
        "signed-in 200": 200,
    }
    assert {kind: r.status_code for kind, r in responses.items()} == expected
    assert FORM_EXPIRED in responses["csrf 400"].get_data(as_text=True)
    for kind, response in responses.items():
        assert_security_headers(response, stripe_forms=kind == "signed-in 200")
    # Only where a form continues to Stripe: not on the reading pages.
    assert "stripe" not in responses["200"].headers["Content-Security-Policy"]


def test_security_headers_on_500(boom_app):
    response = boom_app.test_client().get("/boom")
    assert response.status_code == 500
    assert_security_headers(response)


def test_security_headers_on_413(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    token = client.csrf_token("/login")
    response = client.post(
        "/login", data={"csrf_token": token, "email": "a@example.org", "password": "x" * 4096}
    )
    assert response.status_code == 413
    assert_security_headers(response)


def test_hsts_in_the_default_test_app(client):
    # APP_ENV=testing is "outside development": HSTS on, on pages and on errors alike.
    for response in (client.get("/"), client.get("/no-such-page")):
        hsts = response.headers.get("Strict-Transport-Security", "")
        match = re.search(r"max-age=(\d+)", hsts)
        assert match, f"no HSTS on a {response.status_code} response: {dict(response.headers)}"
        assert int(match.group(1)) >= 31536000


def test_no_hsts_with_development_settings(make_app):
    client = make_app(**DEVELOPMENT).test_client()
    for response in (client.get("/"), client.get("/no-such-page")):
        assert "Strict-Transport-Security" not in response.headers
        assert_security_headers(response)


@pytest.mark.parametrize(
    ("app_env", "outside_development"),
    [("development", False), ("testing", True), ("production", True)],
)
def test_load_config_enables_hsts_and_secure_cookies_outside_development(
    monkeypatch, tmp_path, app_env, outside_development
):
    monkeypatch.setenv("APP_ENV", app_env)
    config = load_config(str(tmp_path / "instance"))
    assert config["APP_ENV"] == app_env
    assert config["HSTS_ENABLED"] is outside_development
    assert config["SESSION_COOKIE_SECURE"] is outside_development
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


# --- SECURITY 36: generic error pages with a request id ---------------------------------------


def test_500_page_is_generic_and_shows_the_request_id(boom_app, caplog):
    caplog.set_level(logging.INFO)
    response = boom_app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    request_id = response.headers.get("X-Request-ID")
    assert request_id and re.fullmatch(r"[A-Za-z0-9._-]{8,64}", request_id)
    assert request_id in body
    assert "Something went wrong on our side" in body
    for leak in ("Traceback", "secret detail", "RuntimeError", 'File "'):
        assert leak not in body
    # The page says the error has been logged: it is, with its traceback.
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert logged, [r.getMessage() for r in caplog.records]


def test_a_well_formed_client_request_id_is_echoed(boom_app):
    client = boom_app.test_client()
    page = client.get("/", headers={"X-Request-ID": "edge-proxy.4f2a91c7"})
    assert page.status_code == 200
    assert page.headers["X-Request-ID"] == "edge-proxy.4f2a91c7"
    error = client.get("/boom", headers={"X-Request-ID": "edge-proxy.4f2a91c7"})
    assert error.status_code == 500
    assert error.headers["X-Request-ID"] == "edge-proxy.4f2a91c7"
    assert "edge-proxy.4f2a91c7" in error.get_data(as_text=True)


@pytest.mark.parametrize(
    "incoming",
    ["<script>alert(1)</script>", "short", "x" * 65, "abc def ghi", "../../etc/passwd"],
)
def test_a_malformed_client_request_id_is_replaced(boom_app, incoming):
    response = boom_app.test_client().get("/boom", headers={"X-Request-ID": incoming})
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert request_id != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    body = response.get_data(as_text=True)
    assert request_id in body
    assert incoming not in body


@pytest.mark.parametrize(
    "path",
    [
        "/section/a%00b",
        "/tag/a%00b",
        "/articles/a%00b",
        "/confirm/a%00b",
        "/reset-password/a%00b",
        "/account/email/confirm/a%00b",
        "/?page=%00",
    ],
)
def test_nul_in_the_url_is_not_a_server_error(client, path):
    # PostgreSQL refuses NUL in text parameters; a lookup by such a slug must not become a 500.
    response = client.get(path)
    assert response.status_code in (400, 404), response.status_code
    assert_security_headers(response)


# --- SECURITY 34: no-store on signed-in pages ---------------------------------------------------


def test_signed_in_pages_are_no_store(signed_in):
    for path in ("/", "/account", "/account/export.json", "/no-such-page"):
        response = signed_in.get(path)
        assert response.status_code in (200, 404), path
        assert "no-store" in response.headers.get("Cache-Control", ""), path


def test_anonymous_home_page_is_cacheable(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_admin_paths_are_no_store_even_anonymously(client):
    response = client.get("/admin/")
    assert "no-store" in response.headers.get("Cache-Control", "")


# --- SECURITY 16: session cookie flags ----------------------------------------------------------


def test_session_cookie_flags_in_the_default_test_app(client, user, login):
    response = login(client, user.email)
    assert response.status_code == 302
    attributes = session_cookie_attributes(response)
    assert "httponly" in attributes
    assert attributes.get("samesite", "").lower() == "lax"
    # APP_ENV=testing is outside development: the cookie must be Secure.
    assert "secure" in attributes, attributes


def test_session_cookie_flags_with_development_settings(make_app):
    app = make_app(**DEVELOPMENT)
    with app.app_context():
        from membership.auth.services import create_user

        create_user("dev@example.org", "Dev", PASSWORD, confirmed=True)
        db.session.commit()
    client = app.test_client()
    response = client.submit("/login", {"email": "dev@example.org", "password": PASSWORD})
    assert response.status_code == 302
    attributes = session_cookie_attributes(response)
    assert "httponly" in attributes
    assert attributes.get("samesite", "").lower() == "lax"
    assert "secure" not in attributes


# --- SECURITY 17: CSRF on every state-changing route --------------------------------------------


def test_the_walk_finds_the_known_state_changing_routes(app):
    found = {(endpoint, url) for endpoint, _method, url in unsafe_routes(app)}
    missing = set(KNOWN_POST_ENDPOINTS.items()) - found
    assert not missing, f"the url_map walk missed {missing}; found {sorted(found)}"


def test_every_state_changing_route_rejects_a_missing_csrf_token_anonymous(app, client):
    for endpoint, method, url in unsafe_routes(app):
        response = client.open(url, method=method, data={"email": "a@example.org"})
        assert response.status_code == 400, (endpoint, method, url, response.status_code)
        assert FORM_EXPIRED in response.get_data(as_text=True), (endpoint, url)


def test_every_state_changing_route_rejects_a_missing_csrf_token_signed_in(app, signed_in, user):
    routes = unsafe_routes(app)
    for endpoint, method, url in routes:
        response = signed_in.open(
            url,
            method=method,
            data={"current_password": PASSWORD, "understood": "y", "display_name": "Changed"},
        )
        assert response.status_code == 400, (endpoint, method, url, response.status_code)
        assert FORM_EXPIRED in response.get_data(as_text=True), (endpoint, url)
    # Nothing happened: still signed in (logout refused), account still there and unchanged.
    assert signed_in_as(signed_in, user)
    db.session.expire_all()
    assert db.session.scalar(select(User.display_name).where(User.id == user.id)) == "Ada"


def test_a_wrong_csrf_token_is_rejected(app, signed_in, user):
    stranger = app.test_client()
    foreign_token = stranger.csrf_token("/login")  # genuine, but for another browser's session
    own_token = signed_in.csrf_token("/account")
    for bad in ("wrong", "", own_token[:-4] + "AAAA", foreign_token):
        for endpoint, method, url in unsafe_routes(app):
            response = signed_in.open(
                url, method=method, data={"csrf_token": bad, "display_name": "Changed"}
            )
            assert response.status_code == 400, (bad, endpoint, url, response.status_code)
    assert signed_in_as(signed_in, user)


def test_a_right_csrf_token_is_accepted(signed_in, user):
    # The control case: the same request with the page's token goes through.
    response = signed_in.submit("/account/profile", {"display_name": "Ada L"}, page="/account")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "Ada L"


# --- SECURITY 12: a fresh session (and CSRF token) at login -------------------------------------


def test_csrf_token_from_before_login_is_rejected_after_it(client, user, login):
    old_token = client.csrf_token("/login")
    assert login(client, user.email).status_code == 302
    stale = client.post("/account/profile", data={"csrf_token": old_token, "display_name": "Eve"})
    assert stale.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "Ada"

    fresh = client.submit("/account/profile", {"display_name": "Ada L"}, page="/account")
    assert fresh.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "Ada L"


# --- SECURITY 18: GET never changes data ----------------------------------------------------------


def test_logout_by_get_is_refused_and_keeps_the_user_signed_in(signed_in, user):
    response = signed_in.get("/logout")
    assert response.status_code == 405
    assert signed_in_as(signed_in, user)


def test_405_error_page_keeps_the_allow_header(client):
    # RFC 9110 15.5.6: a 405 response MUST list the allowed methods in Allow.
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", "")


def test_logout_by_post_with_token_signs_out(signed_in, user):
    response = signed_in.submit("/logout", page="/account")
    assert response.status_code == 302
    assert not signed_in_as(signed_in, user)


# --- SECURITY 23: capped request bodies -----------------------------------------------------------


def test_oversized_body_gets_413(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    token = client.csrf_token("/login")
    small = client.post(
        "/login", data={"csrf_token": token, "email": "a@example.org", "password": "x" * 100}
    )
    assert small.status_code == 422  # under the cap the form is read as usual
    big = client.post(
        "/login", data={"csrf_token": token, "email": "a@example.org", "password": "x" * 4096}
    )
    assert big.status_code == 413
    assert "too large" in big.get_data(as_text=True)


def test_default_body_cap_is_set(app):
    assert 0 < app.config["MAX_CONTENT_LENGTH"] <= 10 * 1024 * 1024


# --- SECURITY 37: logs without secrets ------------------------------------------------------------


def test_auth_flows_log_events_but_no_passwords_tokens_or_hashes(client, mailbox, caplog):
    caplog.set_level(logging.INFO)
    email = "logged.reader@example.org"
    first = "a quiet harbor at dawn 0417"
    wrong = "not my password at all 9921"
    second = "lanterns over the old bridge 55"

    registered = client.submit(
        "/register",
        {"email": email, "display_name": "Logged", "password": first, "password_confirm": first},
    )
    assert registered.status_code == 302
    confirm_path = mailbox.link(email, "/confirm/").removeprefix("http://portal.test")
    confirm_token = confirm_path.rsplit("/", 1)[1]
    assert client.submit(confirm_path).status_code == 302
    first_hash = db.session.scalar(select(User.password_hash).where(User.email == email))

    assert client.submit("/login", {"email": email, "password": wrong}).status_code == 422
    assert (
        client.submit("/login", {"email": "nobody@example.org", "password": wrong}).status_code
        == 422
    )
    assert client.submit("/login", {"email": email, "password": first}).status_code == 302
    assert client.submit("/logout", page="/").status_code == 302

    sent = client.submit("/reset-password", {"email": email})
    assert sent.status_code == 200
    reset_path = mailbox.link(email, "/reset-password/").removeprefix("http://portal.test")
    reset_token = reset_path.rsplit("/", 1)[1]
    done = client.submit(reset_path, {"password": second, "password_confirm": second})
    assert done.status_code == 302
    assert client.submit("/login", {"email": email, "password": second}).status_code == 302
    db.session.expire_all()
    second_hash = db.session.scalar(select(User.password_hash).where(User.email == email))
    assert second_hash != first_hash

    secrets = {
        "first password": first,
        "wrong password": wrong,
        "second password": second,
        "confirm token": confirm_token,
        "reset token": reset_token,
        "first hash": first_hash,
        "first hash digest": first_hash.rsplit("$", 1)[1],
        "second hash": second_hash,
        "second hash digest": second_hash.rsplit("$", 1)[1],
    }
    # aiosmtpd's own logger ("mail.log") is the test's SMTP server, not the application.
    records = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert records
    for record in records:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        for what, secret in secrets.items():
            assert secret not in text, f"{what} in log record {record.name}: {text!r}"

    messages = [r.getMessage() for r in records]
    assert any("failed login" in m for m in messages), messages
    assert sum("failed login" in m for m in messages) >= 2
    assert any(m.startswith("login for account #") for m in messages), messages
    assert any("password reset requested for account #" in m for m in messages), messages
    assert any("password reset completed for account #" in m for m in messages), messages


def log_texts(caplog) -> list[str]:
    """Every captured record as it would be written: message plus any traceback."""
    texts = []
    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        texts.append(text)
    return texts


@pytest.fixture
def failing_password_updates(app):
    """Make the database itself refuse any UPDATE of users.password_hash (a real DB error)."""
    if db.engine.dialect.name == "postgresql":
        up = [
            "CREATE OR REPLACE FUNCTION membership_test_refuse() RETURNS trigger AS $$"
            " BEGIN RAISE EXCEPTION 'simulated database failure'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER membership_test_refuse BEFORE UPDATE OF password_hash ON users"
            " FOR EACH ROW EXECUTE FUNCTION membership_test_refuse()",
        ]
        down = [
            "DROP TRIGGER IF EXISTS membership_test_refuse ON users",
            "DROP FUNCTION IF EXISTS membership_test_refuse()",
        ]
    else:
        up = [
            "CREATE TRIGGER membership_test_refuse BEFORE UPDATE OF password_hash ON users"
            " BEGIN SELECT RAISE(ABORT, 'simulated database failure'); END"
        ]
        down = ["DROP TRIGGER IF EXISTS membership_test_refuse"]
    with db.engine.begin() as connection:
        for statement in up:
            connection.exec_driver_sql(statement)
    yield
    db.session.rollback()
    with db.engine.begin() as connection:
        for statement in down:
            connection.exec_driver_sql(statement)


def test_a_database_error_does_not_log_the_password_hash(
    signed_in, failing_password_updates, caplog
):
    caplog.set_level(logging.INFO)
    new = "racing along the harbor wall 42"
    response = signed_in.submit(
        "/account/password",
        {"current_password": PASSWORD, "password": new, "password_confirm": new},
        page="/account",
    )
    assert response.status_code == 500
    texts = log_texts(caplog)
    # The failure is logged, with the statement that failed...
    assert any("simulated database failure" in text for text in texts), texts
    for text in texts:  # ...but without the secrets that were among its parameters
        assert "$argon2" not in text, text
        assert new not in text, text
        assert PASSWORD not in text, text


def test_an_unexpected_error_on_a_reset_link_does_not_log_the_token(
    client, user, mailbox, caplog, monkeypatch
):
    from membership.auth import services

    assert client.submit("/reset-password", {"email": user.email}).status_code == 200
    path = mailbox.link(user.email, "/reset-password/").removeprefix("http://portal.test")
    token = path.rsplit("/", 1)[1]

    def fail(*args, **kwargs):
        raise RuntimeError("mail relay down")

    monkeypatch.setattr(services, "reset_password", fail)
    caplog.set_level(logging.INFO)
    new = "a brand new passphrase 2024"
    response = client.submit(path, {"password": new, "password_confirm": new})
    assert response.status_code == 500
    texts = log_texts(caplog)
    assert any("mail relay down" in text for text in texts), texts
    for text in texts:
        assert token not in text, text
        assert new not in text, text


# --- SECURITY 22: next redirects stay on this site ------------------------------------------------

ATTACKS = [
    "//evil.com",
    "/\\evil.com",
    "\\/evil.com",
    "\t//evil.com",
    "http:///evil.com",
    "https://evil.com",
    "//evil.com/%2F..",
    "/%09/evil.com",
    "javascript:alert(1)",
    "/\t/evil.com",
    "/\n/evil.com",
    " //evil.com",
    "///evil.com",
    "https:evil.com",
]


def assert_stays_on_site(location: str) -> None:
    parts = urlsplit(location)
    assert parts.netloc in ("", "localhost"), location
    if parts.netloc:
        assert parts.scheme in ("http", "https"), location
    else:
        assert location.startswith("/"), location
        # Browsers read "//host" and "/\host" as another host.
        assert not location.startswith("//"), location
    assert "\\" not in location, location
    assert not any(ord(char) < 32 or char == "\x7f" for char in location), location
    assert "evil.com" not in (parts.netloc or ""), location


def login_with_next(client, email: str, attack: str, via: str):
    query = urlencode({"next": attack})
    data = {"email": email, "password": PASSWORD}
    if via == "form":
        data["csrf_token"] = client.csrf_token("/login")
        data["next"] = attack
        return client.post("/login", data=data)
    page = client.get(f"/login?{query}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body)
    assert match
    data["csrf_token"] = match.group(1)
    if via == "page":
        # What a browser does: post the hidden field the page carries back to the same URL.
        hidden = re.search(r'<input type="hidden" name="next" value="([^"]*)">', body)
        assert hidden, "the login page should carry next as a hidden field"
        data["next"] = html.unescape(hidden.group(1))
    return client.post(f"/login?{query}", data=data)


@pytest.mark.parametrize("via", ["form", "query", "page"])
@pytest.mark.parametrize("attack", ATTACKS, ids=repr)
def test_next_cannot_leave_the_site(client, user, attack, via):
    response = login_with_next(client, user.email, attack, via)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert_stays_on_site(response.headers["Location"])
    assert signed_in_as(client, user)


@pytest.mark.parametrize("via", ["form", "query", "page"])
def test_a_safe_next_is_honoured(client, user, via):
    response = login_with_next(client, user.email, "/section/world?page=2", via)
    assert response.status_code == 302
    assert response.headers["Location"] == "/section/world?page=2"


def test_a_next_with_nul_is_refused_without_redirecting(client, user):
    attack = "\x00//evil.com"
    page = client.get(f"/login?{urlencode({'next': attack})}")
    assert page.status_code == 400
    response = login_with_next(client, user.email, attack, "form")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "cannot contain NUL" in response.get_data(as_text=True)
    assert not signed_in_as(client, user)


def test_already_signed_in_login_with_hostile_next_stays_on_site(signed_in):
    for attack in ATTACKS:
        response = signed_in.get(f"/login?{urlencode({'next': attack})}")
        assert response.status_code == 302
        assert_stays_on_site(response.headers["Location"])
