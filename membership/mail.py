"""Outgoing mail through a transactional outbox.

`queue_email` records the message in the same transaction as the action that causes it. Once that
transaction commits, the request queues a background job for it (`wake_committed_mail`); the
worker sends it (`send_one`). If SMTP is down the row stays unsent with a growing back-off and
the worker's periodic sweep retries it (so does `flask --app app mail deliver`): no message is
lost, and the outbox row, not the queue, says whether it was sent.
Without `MAIL_SERVER`, messages are logged and written as `.eml` files under
`instance/outbox/` instead of being sent.
"""

import contextlib
import logging
import smtplib
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_request_context, render_template, url_for
from flask_mailman import EmailMultiAlternatives
from flask_mailman.backends.base import BaseEmailBackend
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from membership.extensions import db, mail
from membership.models import OutboxEmail
from membership.models.types import utcnow
from membership.settings import site_name

log = logging.getLogger(__name__)

PENDING_KEY = "outbox_pending"
COMMITTED_KEY = "outbox_committed"
MAX_BACKOFF = timedelta(hours=6)
# How long a claimed email is left to its sender before another job may try it.
SEND_LEASE = timedelta(minutes=5)


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


def wake_committed_mail() -> int:
    """Queue a delivery job for each email this session committed; returns how many.

    A request never talks to SMTP itself. If the queue cannot be reached the rows stay in the
    outbox and the periodic sweep (membership/jobs/tasks.py) wakes them a minute later.
    """
    ids = db.session().info.pop(COMMITTED_KEY, None)
    if not ids:
        return 0
    from membership.jobs.tasks import deliver_email

    for outbox_id in ids:
        try:
            deliver_email(outbox_id)
        except Exception:
            log.exception("could not queue outbox #%s; the sweep will", outbox_id)
    return len(ids)


def due_ids(*, settled_for: timedelta = timedelta(0), limit: int = 100) -> list[int]:
    """Unsent emails whose next attempt is due (and, for the sweep, that a request's own job
    has had `settled_for` to pick up first)."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(OutboxEmail.id)
            .where(
                OutboxEmail.sent_at.is_(None),
                OutboxEmail.failed_at.is_(None),
                OutboxEmail.next_attempt_at <= now,
                (OutboxEmail.attempts > 0) | (OutboxEmail.created_at <= now - settled_for),
            )
            .order_by(OutboxEmail.id)
            .limit(limit)
        )
    )


def deliver_due(limit: int = 100) -> int:
    """Deliver unsent emails whose next attempt is due; returns how many were sent."""
    from membership.jobs import PermanentJobError

    sent = 0
    for outbox_id in due_ids(limit=limit):
        # A permanent failure is recorded on the row (failed_at, last_error).
        with contextlib.suppress(PermanentJobError):
            sent += send_one(outbox_id) == "sent"
    return sent


def send_one(outbox_id: int) -> str:
    """Send one outbox email at most once: "sent", "deferred" (SMTP failed, back-off set) or
    "skipped" (already sent, given up, not yet due, or being sent by another worker).

    The row is claimed with a conditional UPDATE that pushes its next attempt a lease ahead, so
    a job that runs twice, or two workers woken for one row, send it once. Only a crash between
    the SMTP exchange and the commit below can repeat it (once the lease has passed).
    """
    from membership.jobs import PermanentJobError

    now = utcnow()
    claimed = db.session.execute(
        update(OutboxEmail)
        .where(
            OutboxEmail.id == outbox_id,
            OutboxEmail.sent_at.is_(None),
            OutboxEmail.failed_at.is_(None),
            OutboxEmail.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + SEND_LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        return "skipped"
    email = db.session.get(OutboxEmail, outbox_id)
    email.attempts += 1
    try:
        if email.text_body is None or email.html_body is None:
            # Encrypted under a key no longer configured: it can never be sent.
            raise PermanentJobError("body cannot be decrypted with the configured keys")
        _check_address(email.to_address)
        _send(email)
    except PermanentJobError as exc:
        email.failed_at = utcnow()
        email.last_error = str(exc)[:1000]
        db.session.commit()
        log.warning("mail to outbox #%s failed for good: %s", email.id, exc)
        raise
    except (smtplib.SMTPException, OSError) as exc:
        if _refused_for_good(exc):
            email.failed_at = utcnow()
            email.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            db.session.commit()
            raise PermanentJobError(f"The mail server refused {email.to_address}: {exc}") from exc
        email.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        email.next_attempt_at = utcnow() + min(timedelta(minutes=2**email.attempts), MAX_BACKOFF)
        db.session.commit()
        log.warning("mail to outbox #%s failed (attempt %s): %s", email.id, email.attempts, exc)
        return "deferred"
    email.sent_at = utcnow()
    email.last_error = None
    db.session.commit()
    return "sent"


def _check_address(address: str) -> None:
    from membership.jobs import PermanentJobError

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise PermanentJobError(f"Invalid address {address!r}: {exc}") from exc


def _refused_for_good(exc: Exception) -> bool:
    """A 5xx answer to every recipient: retrying cannot help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _message in exc.recipients.values())
    return False


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
