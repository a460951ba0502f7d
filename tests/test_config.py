"""Settings from the environment: safe defaults for development, refusal of unsafe production."""

import os
import secrets
import stat

import pytest

import membership
from membership import create_app
from membership.config import (
    ConfigurationError,
    check_production,
    load_config,
    normalize_database_url,
)
from membership.extensions import db

# Variables a developer's shell (or a `.env` file) might set; each test sets what it needs.
DEVELOPER_VARIABLES = (
    "APP_ENV",
    "SECRET_KEY",
    "SITE_URL",
    "SITE_NAME",
    "DATABASE_URL",
    "MAIL_SERVER",
    "MAIL_PORT",
    "REDIS_URL",
    "PROXY_FIX_X_FOR",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No inherited settings, no `.env` file, and an instance folder outside the repository."""
    for name in DEVELOPER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("FLASK_"):
            monkeypatch.delenv(name)
    # create_app() without test settings reads the repository's .env; it must not leak in here.
    monkeypatch.setattr(membership, "load_dotenv", lambda *args, **kwargs: False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))


@pytest.fixture
def build():
    """create_app() exactly as `flask` and gunicorn call it; engines are disposed afterwards."""
    created = []

    def factory():
        application = create_app()
        created.append(application)
        return application

    yield factory
    for application in created:
        with application.app_context():
            db.engine.dispose()


@pytest.fixture
def production(monkeypatch, tmp_path):
    """A complete, safe production environment; tests remove or spoil one part of it."""
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("SITE_URL", "https://news.example.org")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'production.sqlite3'}")
    return monkeypatch


# --- development ----------------------------------------------------------------------------


def test_development_needs_no_environment(build, tmp_path):
    app = build()
    assert app.config["APP_ENV"] == "development"
    assert len(app.config["SECRET_KEY"]) >= 32
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert str(tmp_path / "instance") in app.config["SQLALCHEMY_DATABASE_URI"]
    assert app.config["SITE_URL"] == "http://127.0.0.1:5000"
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["HSTS_ENABLED"] is False
    assert app.config["DEBUG"] is False


def test_development_secret_key_is_generated_once_and_private(tmp_path):
    instance = tmp_path / "instance"
    first = load_config(str(instance))["SECRET_KEY"]
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 32 and len(set(first)) >= 10

    second = load_config(str(instance))["SECRET_KEY"]
    assert second == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_development_keys_differ_between_instances(tmp_path):
    one = load_config(str(tmp_path / "one"))["SECRET_KEY"]
    two = load_config(str(tmp_path / "two"))["SECRET_KEY"]
    assert one != two


def test_explicit_secret_key_wins_and_no_file_is_written(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "an-explicit-development-key-0123456789")
    config = load_config(str(tmp_path / "instance"))
    assert config["SECRET_KEY"] == "an-explicit-development-key-0123456789"
    assert not (tmp_path / "instance" / "secret_key").exists()


# --- production -----------------------------------------------------------------------------


def test_good_production_environment_starts_with_secure_cookies_and_hsts(production, build):
    app = build()
    assert app.config["APP_ENV"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["HSTS_ENABLED"] is True
    assert app.config["DEBUG"] is False
    assert not app.debug

    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_production_does_not_write_a_secret_key_file(production, build, tmp_path):
    build()
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_production_refuses_to_start_without_secret_key(production, build):
    production.delenv("SECRET_KEY")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        build()


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("changeme", id="placeholder"),
        pytest.param(secrets.token_urlsafe(16), id="short-random"),
        pytest.param("a" * 40, id="long-but-one-character"),
        pytest.param("abab" * 12, id="long-but-two-characters"),
    ],
)
def test_production_refuses_a_weak_secret_key(production, build, key):
    production.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        build()


def test_production_refuses_to_start_without_site_url(production, build):
    production.delenv("SITE_URL")
    with pytest.raises(ConfigurationError, match="SITE_URL"):
        build()


def test_production_refuses_to_start_with_debug_on(production, build):
    production.setenv("FLASK_DEBUG", "true")
    with pytest.raises(ConfigurationError, match="debug"):
        build()


def test_production_refusal_lists_every_problem(production, build):
    production.setenv("SECRET_KEY", "a" * 40)
    production.delenv("SITE_URL")
    production.setenv("FLASK_DEBUG", "true")
    with pytest.raises(ConfigurationError) as refused:
        build()
    message = str(refused.value)
    assert "SECRET_KEY" in message and "SITE_URL" in message and "debug" in message


def test_check_production_ignores_other_environments():
    check_production({"APP_ENV": "development", "SECRET_KEY": "", "DEBUG": True, "SITE_URL": ""})
    check_production({"APP_ENV": "testing", "SECRET_KEY": "", "DEBUG": True, "SITE_URL": ""})
    with pytest.raises(ConfigurationError):
        check_production({"APP_ENV": "production", "SECRET_KEY": "", "SITE_URL": "https://x"})


# --- APP_ENV, database URLs, FLASK_<NAME> ---------------------------------------------------


@pytest.mark.parametrize("value", ["staging", "prod", "Production-ish", "debug"])
def test_unknown_app_env_is_refused(monkeypatch, build, tmp_path, value):
    monkeypatch.setenv("APP_ENV", value)
    with pytest.raises(ConfigurationError, match="APP_ENV"):
        load_config(str(tmp_path / "instance"))
    with pytest.raises(ConfigurationError, match="APP_ENV"):
        build()


def test_app_env_is_case_and_space_insensitive(production, build):
    production.setenv("APP_ENV", "  Production ")
    app = build()
    assert app.config["APP_ENV"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgres://news:pw@db.internal:5432/news",
            "postgresql+psycopg://news:pw@db.internal:5432/news",
        ),
        (
            "postgresql://news:pw@db.internal:5432/news?sslmode=require",
            "postgresql+psycopg://news:pw@db.internal:5432/news?sslmode=require",
        ),
        ("postgresql+psycopg://news@db/news", "postgresql+psycopg://news@db/news"),
        ("sqlite:////var/lib/news/news.sqlite3", "sqlite:////var/lib/news/news.sqlite3"),
        ("sqlite:///relative.sqlite3", "sqlite:///relative.sqlite3"),
    ],
)
def test_normalize_database_url(given, expected):
    assert normalize_database_url(given) == expected


def test_database_url_from_environment_is_normalized(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://news@db.internal/news")
    config = load_config(str(tmp_path / "instance"))
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://news@db.internal/news"


def test_flask_prefixed_variables_set_config(monkeypatch, build):
    monkeypatch.setenv("FLASK_ARTICLES_PER_PAGE", "3")
    monkeypatch.setenv("FLASK_SITE_NAME", "Harborview Herald")
    app = build()
    assert app.config["ARTICLES_PER_PAGE"] == 3
    assert app.config["SITE_NAME"] == "Harborview Herald"


def test_mail_goes_to_the_outbox_folder_without_a_mail_server(build, tmp_path):
    app = build()
    assert app.config["MAIL_SERVER"] == ""
    assert app.config["MAIL_BACKEND"] == "membership.mail.OutboxDirEmailBackend"
    assert app.config["MAIL_OUTBOX_DIR"] == str(tmp_path / "instance" / "outbox")


def test_redis_url_becomes_the_rate_limit_storage(monkeypatch, tmp_path):
    assert load_config(str(tmp_path / "a"))["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    assert load_config(str(tmp_path / "b"))["RATELIMIT_STORAGE_URI"] == (
        "redis://cache.internal:6379/0"
    )
