"""The membership service: reader accounts, comments, memberships and sponsorships."""

import logging
import os
import sqlite3
import time
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool
from werkzeug.middleware.proxy_fix import ProxyFix

from membership import converters
from membership.config import check_production, load_config
from membership.crypto import configure_key_rotation

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: config -> extensions -> blueprints -> cli -> error handlers."""
    if test_config is None:
        load_dotenv(ROOT / ".env", override=False)
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(load_config(app.instance_path, (test_config or {}).get("APP_ENV")))
    app.config.from_prefixed_env()
    if test_config:
        app.config.update(test_config)
    check_production(app.config)
    configure_key_rotation(app)
    app.jinja_env.add_extension("jinja2.ext.do")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1, x_host=0
        )

    configure_logging(app)
    converters.register(app)
    register_extensions(app)
    register_blueprints(app)
    register_cli(app)

    from membership import formatting, pagecache
    from membership.web import register_request_hooks

    formatting.register(app)
    register_request_hooks(app)
    pagecache.init_app(app)
    return app


def configure_logging(app: Flask) -> None:
    """Log with the request id so an error page's id leads to its log lines."""
    from membership.web import RequestIdFilter

    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    logger = logging.getLogger("membership")
    if not logger.handlers:
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def register_extensions(app: Flask) -> None:
    """Bind the unbound extension objects to this app."""
    from membership.auth.sessions import load_user_from_session
    from membership.extensions import (
        cache,
        csrf,
        db,
        include_in_autogenerate,
        limiter,
        login_manager,
        mail,
        migrate,
    )

    if app.config["MAIL_BACKEND"] == "locmem" and not app.config.get("TESTING"):
        app.config["MAIL_BACKEND"] = "membership.mail.OutboxDirEmailBackend"
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        include_object=include_in_autogenerate,
    )
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are checked on the server instead
    login_manager.user_loader(load_user_from_session)

    from membership import jobs

    jobs.init_app(app)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL, enforced foreign keys and a busy timeout for every SQLite connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


# A pooled connection idle longer than this is pinged before it is used again.
PING_AFTER_IDLE_SECONDS = 1.0


@event.listens_for(Pool, "checkin")
def _remember_checkin(dbapi_connection, connection_record) -> None:
    connection_record.info["checked_in_at"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, connection_record, connection_proxy) -> None:
    """Check a PostgreSQL connection that sat idle in the pool before handing it out.

    Instead of `pool_pre_ping`, which pings before every request: a busy worker reuses its
    connection within milliseconds, and the ping was one round trip of the two or three an
    anonymous page needs. After a restart, a connection idle for a second or more is pinged
    and replaced here. One used within the last second meets a restart only if the database
    went down and came back within that second with no request in between; that request
    gets the 503 "try again" page (membership/web.py), nothing is half-written, and the pool
    is renewed for the next one. Raising `DisconnectionError` makes the pool connect again.
    """
    checked_in_at = connection_record.info.get("checked_in_at")
    if isinstance(dbapi_connection, sqlite3.Connection) or checked_in_at is None:
        return  # a file needs no ping; a new connection was just made
    if time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.rollback()  # the ping opened a transaction (psycopg, not autocommit)
    except Exception as error:
        raise DisconnectionError("pooled connection lost while idle") from error


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_a_transaction(connection, name) -> None:
    """pysqlite opens transactions only before DML, so a SAVEPOINT issued first would start (and
    its RELEASE commit) a transaction of its own. Open the real transaction before it."""
    raw = connection.connection.dbapi_connection
    if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
        raw.execute("BEGIN")


def register_blueprints(app: Flask) -> None:
    """Attach each feature's blueprint."""
    # Modules that add routes to another module's blueprint register them on import.
    from membership.account import passkey_views, twofactor_views  # noqa: F401
    from membership.account.views import bp as account_bp
    from membership.admin import bp as admin_bp
    from membership.articles.views import bp as articles_bp
    from membership.auth import magic_views  # noqa: F401
    from membership.auth import passkey_views as auth_passkey_views  # noqa: F401
    from membership.auth.views import bp as auth_bp
    from membership.billing.views import bp as billing_bp
    from membership.billing.webhooks import bp as stripe_bp
    from membership.comments.views import bp as comments_bp
    from membership.sponsors.views import bp as sponsors_bp

    app.register_blueprint(articles_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(billing_bp)
    app.register_blueprint(stripe_bp)
    app.register_blueprint(sponsors_bp)
    if app.config.get("BENCHMARK_HELLO"):
        from membership.hello import bp as hello_bp

        app.register_blueprint(hello_bp)


def register_cli(app: Flask) -> None:
    """Add the `flask` commands."""
    from membership.cli import register

    register(app)
