"""Outgoing mail through a transactional outbox.

`queue_email` records the message in the same transaction as the action that causes it. Once that
transaction commits, the request delivers it (`deliver_committed_mail`); if SMTP is down the row
stays unsent and `flask --app app mail deliver` retries it later with a growing back-off, so no
message is ever lost. Without `MAIL_SERVER`, messages are logged and written as `.eml` files under
`instance/outbox/` instead of being sent.
"""

import logging
import smtplib
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from flask import current_app, has_request_context, render_template, url_for
from flask_mailman import EmailMultiAlternatives
from flask_mailman.backends.base import BaseEmailBackend
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from membership.extensions import db, mail
from membership.models import OutboxEmail
from membership.models.types import utcnow
from membership.settings import site_name

log = logging.getLogger(__name__)

PENDING_KEY = "outbox_pending"
COMMITTED_KEY = "outbox_committed"
MAX_BACKOFF = timedelta(hours=6)


def external_url(endpoint: str, **values) -> str:
    """An absolute URL built from SITE_URL, never from the request's Host header.

    Works outside requests too (CLI commands such as `stripe reconcile` send emails).
    """
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        anchor = values.pop("_anchor", None)
        values = {key: value for key, value in values.items() if value is not None}
        path = current_app.url_map.bind("localhost").build(endpoint, values)
        if anchor:
            path += f"#{anchor}"
    return current_app.config["SITE_URL"].rstrip("/") + path


def queue_email(
    to: str, subject: str, template: str, *, headers: dict | None = None, **context
) -> OutboxEmail:
    """Record an email for delivery once the current transaction commits."""
    context.setdefault("site_name", site_name())
    context.setdefault("site_url", current_app.config["SITE_URL"].rstrip("/"))
    email = OutboxEmail(
        to_address=to,
        subject=subject,
        text_body=render_template(f"email/{template}.txt", subject=subject, **context),
        html_body=render_template(f"email/{template}.html", subject=subject, **context),
        headers=headers,
    )
    session = db.session()
    session.add(email)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(email.id)
    return email


@event.listens_for(Session, "after_commit")
def _remember_committed_mail(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if pending:
        session.info.setdefault(COMMITTED_KEY, []).extend(pending)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_mail(session: Session, previous_transaction) -> None:
    session.info.pop(PENDING_KEY, None)


def deliver_committed_mail() -> int:
    """Deliver the emails committed by this request; failures wait for `mail deliver`."""
    session = db.session()
    ids = session.info.pop(COMMITTED_KEY, None)
    if not ids:
        return 0
    return deliver(select(OutboxEmail).where(OutboxEmail.id.in_(ids)))


def deliver_due(limit: int = 100) -> int:
    """Deliver unsent emails whose next attempt is due; returns how many were sent."""
    query = (
        select(OutboxEmail)
        .where(OutboxEmail.sent_at.is_(None), OutboxEmail.next_attempt_at <= utcnow())
        .order_by(OutboxEmail.id)
        .limit(limit)
    )
    return deliver(query)


def deliver(query) -> int:
    """Send the unsent emails the query selects, locking them so two workers never both send."""
    sent = 0
    rows = db.session.scalars(
        query.where(OutboxEmail.sent_at.is_(None)).with_for_update(skip_locked=True)
    ).all()
    for email in rows:
        try:
            if email.text_body is None or email.html_body is None:
                # Encrypted under a key no longer configured: it can never be sent.
                raise OSError("body cannot be decrypted with the configured keys")
            _send(email)
        except (smtplib.SMTPException, OSError) as exc:
            email.attempts += 1
            email.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            email.next_attempt_at = utcnow() + min(
                timedelta(minutes=2**email.attempts), MAX_BACKOFF
            )
            log.warning("mail to outbox #%s failed (attempt %s): %s", email.id, email.attempts, exc)
        else:
            email.sent_at = utcnow()
            email.attempts += 1
            sent += 1
    db.session.commit()
    return sent


def _send(email: OutboxEmail) -> None:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text_body,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[email.to_address],
        alternatives=[(email.html_body, "text/html")],
        headers={**(email.headers or {}), "X-Outbox-Id": str(email.id)},
    )
    with mail.get_connection(fail_silently=False) as connection:
        connection.send_messages([message])


class OutboxDirEmailBackend(BaseEmailBackend):
    """Development backend: log each message and save it as an `.eml` file under instance/."""

    def send_messages(self, email_messages: Iterable) -> int:
        directory = Path(current_app.config["MAIL_OUTBOX_DIR"])
        directory.mkdir(parents=True, exist_ok=True)
        count = 0
        for message in email_messages:
            outbox_id = message.extra_headers.get("X-Outbox-Id", "0")
            stamp = utcnow().strftime("%Y%m%d-%H%M%S")
            path = directory / f"{stamp}-{int(outbox_id):06d}.eml"
            path.write_bytes(message.message().as_bytes())
            log.warning(
                "No MAIL_SERVER: email to %s saved as %s\nSubject: %s\n\n%s",
                ", ".join(message.to),
                path,
                message.subject,
                message.body,
            )
            count += 1
        return count
