"""Settings read from the environment (and an optional `.env` file).

`APP_ENV` selects the environment: `development` (the default), `testing` or `production`.
Production refuses to start without a strong `SECRET_KEY`, with debug on, or without `SITE_URL`.
Any other Flask or extension setting can be given as `FLASK_<NAME>`.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

ENVIRONMENTS = ("development", "testing", "production")
WEAK_SECRET_KEYS = {"", "dev", "secret", "changeme", "change-me", "development", "please-change-me"}
MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The environment does not describe a safe configuration."""


def normalize_database_url(url: str) -> str:
    """Route `postgres://` and `postgresql://` URLs through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def development_secret_key(instance_path: str) -> str:
    """Return the development key stored in `instance/`, creating it on first use."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Created with owner-only permissions from the start; O_EXCL loses no race.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def cache_settings(redis_url: str, instance_path: str) -> dict:
    """The shared cache: Redis when REDIS_URL is set, else files under instance/cache.

    The file cache is shared by the processes of one machine (`make run`, gunicorn workers),
    which an in-process cache would not be. Short socket timeouts keep a Redis outage from
    stalling requests: the cache fails open (membership/cache.py).
    """
    if redis_url:
        return {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "membership:"),
            "CACHE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            "CACHE_DEFAULT_TIMEOUT": 300,
        }
    return {
        # cachelib's FileSystemCache with cheaper bookkeeping (membership/filecache.py).
        "CACHE_TYPE": "membership.filecache.FileCache",
        "CACHE_DIR": str(Path(instance_path) / "cache"),
        "CACHE_THRESHOLD": 2000,
        "CACHE_DEFAULT_TIMEOUT": 300,
    }


def load_config(instance_path: str, app_env: str | None = None) -> dict:
    """Build the settings dictionary from the environment (`app_env` overrides APP_ENV)."""
    app_env = (app_env or os.environ.get("APP_ENV") or "development").strip().lower()
    if app_env not in ENVIRONMENTS:
        raise ConfigurationError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}")
    development = app_env == "development"
    default_db = "sqlite:///" + str(Path(instance_path) / "membership.sqlite3")
    secret_key = os.environ.get("SECRET_KEY") or (
        development_secret_key(instance_path) if development else ""
    )
    mail_server = os.environ.get("MAIL_SERVER", "")
    redis_url = os.environ.get("REDIS_URL", "")
    return {
        "APP_ENV": app_env,
        "SECRET_KEY": secret_key,
        # Old keys, comma-separated, newest first: they still verify sessions, CSRF tokens and
        # emailed links and decrypt secrets at rest, but never sign or encrypt (README: rotation).
        "SECRET_KEY_FALLBACKS": _env_list("SECRET_KEY_FALLBACKS"),
        "SITE_NAME": os.environ.get("SITE_NAME", "The Civic Ledger"),
        "SITE_URL": os.environ.get("SITE_URL", "http://127.0.0.1:5000" if development else ""),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(
            os.environ.get("DATABASE_URL", default_db)
        ),
        # hide_parameters keeps password hashes and tokens out of logged SQL errors. Pooled
        # connections are pinged only after a second idle (membership/__init__._ping_if_idle).
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        # Mail: without MAIL_SERVER, messages are logged and saved under instance/outbox/.
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": _env_int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _env_bool("MAIL_USE_SSL"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "The Civic Ledger <newsroom@localhost>"
        ),
        "MAIL_TIMEOUT": _env_int("MAIL_TIMEOUT", 10),
        "MAIL_BACKEND": "smtp" if mail_server else "locmem",
        "MAIL_OUTBOX_DIR": str(Path(instance_path) / "outbox"),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_PUBLISHABLE_KEY": os.environ.get("STRIPE_PUBLISHABLE_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", ""),
        "STRIPE_TIMEOUT": 10,
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down: each process counts in its own memory until Redis answers again (limits
        # loosen to one count per worker for a while) rather than refusing every sign-in, or
        # answering 500 (README: Deployment shape, what fails open).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # A moving window: no double burst at the edge of a fixed minute.
        "RATELIMIT_STRATEGY": "moving-window",
        "LOGIN_LIMIT_PER_ACCOUNT": "6/minute;30/hour",
        "LOGIN_LIMIT_PER_IP": "30/minute;300/hour",
        "EMAIL_LIMIT_PER_IP": "10/minute;60/hour",
        "COMMENT_LIMIT_PER_USER": "30/hour;200/day",
        "SPONSOR_CHECKOUT_LIMIT": "20/minute",
        # Number of trusted proxies in front of the app; 0 means X-Forwarded-For is ignored.
        "PROXY_FIX_X_FOR": _env_int("PROXY_FIX_X_FOR", 0),
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": not development,
        "SESSION_COOKIE_NAME": "membership_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(days=30),
        "SESSION_IDLE_TIMEOUT": timedelta(days=30),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(days=30),
        "BROWSER_SESSION_TIMEOUT": timedelta(hours=24),
        "STAFF_IDLE_TIMEOUT": timedelta(minutes=30),
        # A plain page view writes the session's activity at most this often (never more than a
        # sixth of the idle timeout, so an idle session ends on time to within that much).
        "SESSION_TOUCH_INTERVAL": timedelta(minutes=5),
        "RECENT_LOGIN_WINDOW": timedelta(minutes=15),
        "CONFIRM_TOKEN_MAX_AGE": 3 * 24 * 3600,
        "RESET_TOKEN_MAX_AGE": 3600,
        "HSTS_ENABLED": not development,
        "ARGON2_TIME_COST": 2,
        "ARGON2_MEMORY_COST": 19 * 1024,
        "ARGON2_PARALLELISM": 1,
        "ARTICLES_PER_PAGE": 10,
        # Shared page and discussion caches (membership/cache.py, membership/pagecache.py).
        # Keys follow database versions, so writes show at once; this is only how long a copy
        # counts as fresh for what no version covers (scheduled publication, auto-close,
        # supporter badges). 0 turns the page and fragment caches off.
        "PAGE_CACHE_SECONDS": 30,
        # What anonymous reading pages tell browsers and shared caches (CDN, reverse proxy).
        "HTTP_CACHE_MAX_AGE": 10,
        "HTTP_STALE_WHILE_REVALIDATE": 30,
        **cache_settings(os.environ.get("REDIS_URL", ""), instance_path),
        # Background jobs (membership/jobs): "redis" when REDIS_URL is set, else "sqlite" (a file
        # under instance/, shared by every process of one machine); "immediate" runs each job
        # in-line where it is queued (tests only).
        "JOBS_STORE": os.environ.get("JOBS_STORE") or ("redis" if redis_url else "sqlite"),
        "JOBS_REDIS_URL": os.environ.get("JOBS_REDIS_URL") or redis_url,
        "JOBS_SQLITE_PATH": os.environ.get("JOBS_SQLITE_PATH")
        or str(Path(instance_path) / "jobs.sqlite3"),
        # The queue's name; also the Redis key prefix, so two deployments can share one Redis.
        "JOBS_QUEUE_NAME": os.environ.get("JOBS_QUEUE_NAME", "membership"),
        "JOBS_WORKERS": _env_int("JOBS_WORKERS", 2),
        "WTF_CSRF_TIME_LIMIT": None,
        "DEBUG": False,
    }


def check_production(config: dict) -> None:
    """Refuse an unsafe production configuration."""
    if config["APP_ENV"] != "production":
        return
    problems = []
    key = config.get("SECRET_KEY") or ""
    if len(key) < MIN_SECRET_KEY_LENGTH or key.lower() in WEAK_SECRET_KEYS or len(set(key)) < 10:
        problems.append(
            f"SECRET_KEY must be a random string of {MIN_SECRET_KEY_LENGTH}+ characters"
        )
    if config.get("DEBUG"):
        problems.append("debug must be off")
    if not config.get("SITE_URL"):
        problems.append("SITE_URL must be set (links in emails are built from it)")
    if problems:
        raise ConfigurationError("Refusing to start in production: " + "; ".join(problems))
