"""The secrets-at-rest migration encrypts what was stored in plaintext, and downgrading reverses it.

Runs on a new SQLite file, and with `TEST_DATABASE=postgresql` also on a throwaway PostgreSQL
database (the fixtures of test_migrations.py).
"""

from sqlalchemy import text

from membership.crypto import PREFIX
from membership.extensions import db
from membership.models import OutboxEmail, User
from membership.models.types import utcnow
from tests.test_migrations import (  # noqa: F401  (fixtures)
    empty_database_url,
    flask_db,
    migration_app,
    preserve_logging,
)

BEFORE = "3865e5887a0e"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
BODY = "Reset your password: http://portal.test/reset-password/tok3n"


def raw(sql: str):
    """Read, then end the transaction (an open one would block the migration's ALTER TABLE)."""
    rows = db.session.execute(text(sql)).all()
    db.session.rollback()
    return rows


def test_upgrade_encrypts_stored_secrets_and_downgrade_decrypts_them(migration_app):  # noqa: F811
    flask_db(migration_app, "upgrade", BEFORE)
    now = utcnow()
    db.session.execute(
        text(
            "INSERT INTO users (email, display_name, password_hash, role, status, created_at,"
            " password_changed_at, notify_replies, totp_secret, totp_enabled_at)"
            " VALUES ('boss@example.org', 'Boss', 'x', 'admin', 'active', :now, :now, true,"
            " :secret, :now)"
        ),
        {"now": now, "secret": SECRET},
    )
    db.session.execute(
        text(
            "INSERT INTO outbox_emails (to_address, subject, text_body, html_body, created_at,"
            " next_attempt_at, attempts) VALUES ('boss@example.org', 'Reset', :body, :body,"
            " :now, :now, 0)"
        ),
        {"now": now, "body": BODY},
    )
    db.session.commit()

    flask_db(migration_app, "upgrade")
    [(stored,)] = raw("SELECT totp_secret FROM users")
    assert stored.startswith(PREFIX) and SECRET not in stored
    [(text_body, html_body)] = raw("SELECT text_body, html_body FROM outbox_emails")
    assert all(v.startswith(PREFIX) and "tok3n" not in v for v in (text_body, html_body))
    assert db.session.get(User, 1).totp_secret == SECRET
    assert db.session.get(OutboxEmail, 1).text_body == BODY
    db.session.rollback()
    db.session.expunge_all()

    flask_db(migration_app, "upgrade")  # a second run changes nothing
    assert raw("SELECT totp_secret FROM users") == [(stored,)]

    flask_db(migration_app, "downgrade", BEFORE)
    assert raw("SELECT totp_secret FROM users") == [(SECRET,)]
    assert raw("SELECT text_body, html_body FROM outbox_emails") == [(BODY, BODY)]
