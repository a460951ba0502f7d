"""Signing in: generic errors, throttling, password hash upgrades, session cookies."""

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from membership.extensions import db
from membership.models import User, UserSession
from tests.conftest import PASSWORD


def test_login_starts_a_server_side_session(client, user, login):
    response = login(client, user.email)
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    sessions = db.session.scalars(select(UserSession)).all()
    assert len(sessions) == 1 and sessions[0].user_id == user.id


def test_email_is_case_insensitive(client, user, login):
    assert login(client, "  ADA@Example.ORG ").status_code == 302


@pytest.mark.parametrize("email", ["ada@example.org", "nobody@example.org"])
def test_failed_login_has_one_generic_answer(client, user, login, email):
    response = login(client, email, "wrong password entirely")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Incorrect email or password." in body
    assert client.get("/account").status_code == 302


def test_known_and_unknown_emails_answer_identically(client, user, login):
    known = login(client, user.email, "wrong password entirely")
    unknown = login(client, "nobody@example.org", "wrong password entirely")
    assert known.status_code == unknown.status_code
    strip = lambda text: text.replace("ada@example.org", "").replace("nobody@example.org", "")  # noqa: E731
    known_body = strip(known.get_data(as_text=True))
    unknown_body = strip(unknown.get_data(as_text=True))
    # Only the CSRF token differs between the two pages.
    assert known_body.split('name="csrf_token"')[0] == unknown_body.split('name="csrf_token"')[0]


def test_banned_account_cannot_sign_in(client, make_user, login):
    banned = make_user("banned@example.org", status="banned", status_reason="spam")
    response = login(client, banned.email)
    assert response.status_code == 422
    assert db.session.scalars(select(UserSession)).all() == []


def test_unconfirmed_account_signs_in_and_sees_a_banner(client, make_user, login):
    pending = make_user("pending@example.org", confirmed=False)
    assert login(client, pending.email).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Please confirm your email address" in page
    assert "Resend the link" in page


def test_suspended_account_signs_in_and_sees_why(client, make_user, login):
    from datetime import timedelta

    from membership.models.types import utcnow

    suspended = make_user(
        "loud@example.org",
        status="suspended",
        status_reason="Repeated personal attacks",
        suspended_until=utcnow() + timedelta(days=3),
    )
    assert login(client, suspended.email).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Your account is suspended until" in page
    assert "Repeated personal attacks" in page


def test_outdated_hash_is_upgraded_at_login(client, make_user, login):
    reader = make_user("old@example.org")
    reader.password_hash = PasswordHasher(time_cost=1, memory_cost=16, parallelism=1).hash(PASSWORD)
    db.session.commit()
    assert login(client, reader.email).status_code == 302
    db.session.refresh(reader)
    assert reader.password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_production_hash_parameters_meet_the_minimum(make_app):
    app = make_app(ARGON2_TIME_COST=2, ARGON2_MEMORY_COST=19 * 1024, ARGON2_PARALLELISM=1)
    with app.app_context():
        from membership.auth.passwords import hash_password

        assert hash_password("any long enough passphrase").startswith(
            "$argon2id$v=19$m=19456,t=2,p=1$"
        )


def test_default_argon2_parameters_are_at_least_owasp(tmp_path, monkeypatch):
    from membership.config import load_config

    monkeypatch.setenv("APP_ENV", "development")
    config = load_config(str(tmp_path))
    assert config["ARGON2_MEMORY_COST"] >= 19 * 1024
    assert config["ARGON2_TIME_COST"] >= 2
    assert config["ARGON2_PARALLELISM"] >= 1


def test_remember_me_makes_a_persistent_cookie(client, user, login):
    response = login(client, user.email, remember="y")
    assert "Expires=" in response.headers["Set-Cookie"]
    record = db.session.scalar(select(UserSession))
    assert record.remember
    assert (record.expires_at - record.created_at).days == 30


def test_without_remember_me_the_cookie_ends_with_the_browser(client, user, login):
    response = login(client, user.email)
    assert "Expires=" not in response.headers["Set-Cookie"]


def test_login_redirects_to_a_safe_next(client, user):
    response = client.submit(
        "/login?next=/section/world", {"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/section/world"


# --- throttling (SECURITY 5) ----------------------------------------------------------------


def test_seventh_attempt_in_a_minute_is_refused_even_with_the_right_password(client, user, login):
    for _ in range(6):
        assert login(client, user.email, "wrong password entirely").status_code == 422
    assert login(client, user.email).status_code == 429
    assert client.get("/account").status_code == 302


def test_account_limit_holds_across_ip_addresses(app, user):
    for number in range(6):
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = f"10.0.0.{number + 1}"
        other.submit("/login", {"email": user.email, "password": "wrong password entirely"})
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert fresh.submit("/login", {"email": user.email, "password": PASSWORD}).status_code == 429


def test_other_accounts_are_unaffected(app, make_user, login):
    victim = make_user("victim@example.org")
    bystander = make_user("bystander@example.org")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    for _ in range(7):
        login(attacker, victim.email, "wrong password entirely")
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert login(other, bystander.email).status_code == 302


def test_ip_limit_stops_spraying_across_accounts(make_app, login):
    app = make_app(LOGIN_LIMIT_PER_IP="5/minute")
    client = app.test_client()
    with app.app_context():
        statuses = [
            login(client, f"user{n}@example.org", "wrong password entirely").status_code
            for n in range(6)
        ]
    assert statuses == [422] * 5 + [429]


def test_forged_forwarded_for_does_not_reset_the_ip_limit(make_app, login):
    app = make_app(LOGIN_LIMIT_PER_IP="5/minute", PROXY_FIX_X_FOR=1)
    client = app.test_client()
    statuses = []
    with app.app_context():
        for n in range(6):
            # The proxy appends the real client (198.51.100.7); the rest is attacker-controlled.
            forwarded = f"203.0.113.{n}, 198.51.100.7"
            statuses.append(
                login(
                    client,
                    f"user{n}@example.org",
                    "wrong password entirely",
                    headers={"X-Forwarded-For": forwarded},
                ).status_code
            )
    assert statuses[-1] == 429


def test_forwarded_for_is_ignored_without_a_trusted_proxy(make_app, login):
    app = make_app(LOGIN_LIMIT_PER_IP="5/minute")
    client = app.test_client()
    with app.app_context():
        statuses = [
            login(
                client,
                f"user{n}@example.org",
                "wrong password entirely",
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(6)
        ]
    assert statuses[-1] == 429


def test_thousand_wrong_passwords_across_ten_accounts(make_app, make_user):
    """1,000 wrong-password attempts across 10 accounts: none succeeds, the 7th is refused."""
    app = make_app(LOGIN_LIMIT_PER_IP="100000/minute")
    with app.app_context():
        from membership.auth.services import create_user

        emails = [f"target{n}@example.org" for n in range(10)]
        for email in emails:
            create_user(email, "Target", PASSWORD, confirmed=True)
        db.session.commit()
        client = app.test_client()
        token = client.csrf_token("/login")
        outcomes = {email: [] for email in emails}
        for attempt in range(100):
            for email in emails:
                response = client.post(
                    "/login",
                    data={"email": email, "password": f"wrong {attempt}", "csrf_token": token},
                )
                outcomes[email].append(response.status_code)
        assert db.session.scalars(select(UserSession)).all() == []
        for statuses in outcomes.values():
            assert 302 not in statuses
            assert statuses[:7] == [422] * 6 + [429]
            # However slow the machine, an account never gets more than 30 tries an hour.
            assert statuses.count(422) <= 30
            assert set(statuses) == {422, 429}


def test_rate_limits_are_shared_through_redis(make_app, user, login, redis_url):
    """With REDIS_URL the counters live in Redis, so every worker sees the same limit."""
    import redis

    first = make_app(**redis_url.limiter_settings())
    second = make_app(**redis_url.limiter_settings())
    with first.app_context():
        for _ in range(6):
            login(first.test_client(), "shared@example.org", "wrong password entirely")
    with second.app_context():
        response = login(second.test_client(), "shared@example.org", "wrong password")
    assert response.status_code == 429
    # The counters are in Redis, under this run's own prefix (never in a shared keyspace).
    server = redis.Redis.from_url(redis_url.url)
    try:
        assert list(server.scan_iter(match=f"*{redis_url.key_prefix}*", count=1000))
    finally:
        server.close()


def test_user_row_is_not_touched_by_failed_logins(client, user, login):
    before = db.session.scalar(select(User.last_login_at).where(User.id == user.id))
    login(client, user.email, "wrong password entirely")
    assert db.session.scalar(select(User.last_login_at).where(User.id == user.id)) == before
