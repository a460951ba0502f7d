"""The mail outbox: recorded with the action, sent after commit, retried when SMTP is down."""

from email import message_from_bytes, policy

from sqlalchemy import select

from membership.extensions import db
from membership.models import OutboxEmail, User
from tests.conftest import free_port

FORM = {
    "email": "reader@example.org",
    "display_name": "Reader",
    "password": "long enough harbor passphrase",
    "password_confirm": "long enough harbor passphrase",
}


def test_email_is_sent_over_smtp_with_text_and_html_parts(client, mailbox):
    client.submit("/register", FORM)
    message = mailbox.last("reader@example.org")
    assert message["Subject"] == "Confirm your email address"
    assert message["From"] == "The Civic Ledger <newsroom@localhost>"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Confirm my email" in html and "<a href=" in html
    assert "/confirm/" in mailbox.text_of(message)
    row = db.session.scalar(select(OutboxEmail))
    assert row.sent_at is not None and row.attempts == 1


def test_smtp_outage_keeps_the_action_and_the_email_for_later(make_app, smtp_server, mailbox):
    controller, _ = smtp_server
    app = make_app(MAIL_PORT=free_port())  # nothing listens there
    client = app.test_client()
    response = client.submit("/register", FORM)
    assert response.status_code == 302, "the registration succeeds although SMTP is down"
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "reader@example.org"))
        row = db.session.scalar(select(OutboxEmail))
        assert row.sent_at is None and row.attempts == 1
        assert "ConnectionRefusedError" in row.last_error
        assert row.next_attempt_at > row.created_at
    assert mailbox.messages == []

    # The server comes back: the worker sends the email once it is due.
    app.config["MAIL_PORT"] = controller.port
    app.extensions["mailman"].port = controller.port
    with app.app_context():
        row = db.session.scalar(select(OutboxEmail))
        row.next_attempt_at = row.created_at
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["mail", "deliver"])
    assert result.exit_code == 0, result.output
    assert "Delivered 1 email(s)." in result.output
    assert mailbox.last("reader@example.org")["Subject"] == "Confirm your email address"
    result = app.test_cli_runner().invoke(args=["mail", "deliver"])
    assert "Delivered 0 email(s)." in result.output
    assert len(mailbox.messages) == 1


def test_deliver_waits_for_the_backoff(make_app, mailbox):
    app = make_app(MAIL_PORT=free_port())
    app.test_client().submit("/register", FORM)
    result = app.test_cli_runner().invoke(args=["mail", "deliver"])
    assert "Delivered 0 email(s)." in result.output
    with app.app_context():
        assert db.session.scalar(select(OutboxEmail.attempts)) == 1


def test_rolled_back_action_sends_nothing(app, mailbox):
    from membership.mail import queue_email, wake_committed_mail

    with app.test_request_context():
        queue_email("x@example.org", "Hello", "account_deleted", user=User(display_name="X"))
        db.session.rollback()
        assert wake_committed_mail() == 0
    assert db.session.scalars(select(OutboxEmail)).all() == []
    assert mailbox.messages == []


def test_without_mail_server_emails_are_saved_as_eml(make_app, tmp_path, mailbox, caplog):
    outbox = tmp_path / "dev-outbox"
    app = make_app(
        MAIL_BACKEND="membership.mail.OutboxDirEmailBackend", MAIL_OUTBOX_DIR=str(outbox)
    )
    caplog.set_level("INFO", logger="membership")
    app.test_client().submit("/register", FORM)
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "reader@example.org"
    assert "http://portal.test/confirm/" in message.get_body(("plain",)).get_content()
    assert any("saved as" in record.getMessage() for record in caplog.records)
    assert mailbox.messages == []


def test_development_config_without_mail_server_uses_the_outbox_dir(tmp_path, monkeypatch):
    from membership import create_app

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    for name in ("MAIL_SERVER", "DATABASE_URL", "SECRET_KEY", "SITE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'dev.sqlite3'}"})
    assert app.config["MAIL_BACKEND"] == "membership.mail.OutboxDirEmailBackend"
    assert app.config["MAIL_OUTBOX_DIR"] == str(tmp_path / "outbox")
