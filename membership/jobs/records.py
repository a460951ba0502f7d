"""The admin's view of the queue: failed and retried jobs, pending ones, and "retry now"."""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from membership.extensions import db
from membership.jobs import JOBS, huey, queued_at
from membership.models import JobRecord, OutboxEmail
from membership.models.types import utcnow

log = logging.getLogger(__name__)


def record_failure(task, name: str, args: tuple, error: str, *, final: bool) -> None:
    """Remember a failed run: "failed" when no retry is left, "retrying" otherwise."""
    task_id = task.id if task is not None else f"inline-{time.time():.6f}"
    try:
        row = db.session.scalar(select(JobRecord).where(JobRecord.task_id == task_id))
        if row is None:
            row = JobRecord(task_id=task_id, name=name, args=list(args), failures=0)
            db.session.add(row)
        row.status = JobRecord.FAILED if final else JobRecord.RETRYING
        row.error = error[:2000]
        row.failures += 1
        row.updated_at = utcnow()
        db.session.commit()
    except SQLAlchemyError:
        # The database may be why the job failed; the worker's log still has the error.
        db.session.rollback()
        log.exception("could not record the failure of job %s (%s)", name, task_id)
    log.warning("job %s (%s) failed%s: %s", name, task_id, "" if final else ", will retry", error)


def record_success(task) -> None:
    """A job that had failed before and now succeeded is marked "retried"."""
    if task is None:
        return
    db.session.execute(
        update(JobRecord)
        .where(JobRecord.task_id == task.id, JobRecord.status == JobRecord.RETRYING)
        .values(status=JobRecord.RETRIED, updated_at=utcnow())
    )
    db.session.commit()  # also when nothing matched: SQLite would keep the write lock


class NotRetryable(Exception):
    """Only a failed job can be queued again."""


def retry_now(record: JobRecord) -> None:
    """Queue a failed job again; an email that failed for good gets a fresh attempt."""
    if record.status != JobRecord.FAILED or record.name not in JOBS:
        raise NotRetryable("Only a failed job can be run again.")
    if record.name == "deliver_email" and record.args:
        db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == record.args[0], OutboxEmail.sent_at.is_(None))
            .values(failed_at=None, next_attempt_at=utcnow())
        )
    record.status = JobRecord.REQUEUED
    record.updated_at = utcnow()


def enqueue_retry(record: JobRecord) -> None:
    """After the commit: put the job back on the queue."""
    JOBS[record.name](*record.args)


@dataclass
class QueueStats:
    """How far behind the queue is; `error` is set when its storage cannot be read."""

    pending: int = 0
    scheduled: int = 0
    oldest_pending_seconds: float | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return {
            "pending": self.pending,
            "scheduled": self.scheduled,
            "oldest_pending_seconds": self.oldest_pending_seconds,
            **({"error": self.error} if self.error else {}),
        }


def queue_stats(sample: int = 100) -> QueueStats:
    """Depth of the queue and the age of its oldest pending job (both stores list the oldest
    jobs first, so a sample of them holds the oldest)."""
    try:
        pending = huey.pending_count()
        scheduled = huey.scheduled_count()
        stamps = [queued_at(task.id) for task in huey.pending(limit=sample)]
    except Exception as exc:  # Redis down, SQLite locked: report it, never fail the caller
        return QueueStats(error=type(exc).__name__)
    known = [stamp for stamp in stamps if stamp is not None]
    oldest = round(max(time.time() - min(known), 0.0), 1) if known else None
    return QueueStats(pending=pending, scheduled=scheduled, oldest_pending_seconds=oldest)


def pending_jobs(limit: int = 100) -> list[dict]:
    """The jobs waiting to run (and those scheduled for later: retries, delayed jobs)."""
    rows = []
    for state, tasks in (("pending", huey.pending(limit)), ("scheduled", huey.scheduled(limit))):
        for task in tasks:
            stamp = queued_at(task.id)
            rows.append(
                {
                    "state": state,
                    "name": task.name.rsplit(".", 1)[-1],
                    "args": list(task.args or ()),
                    "age": round(time.time() - stamp) if stamp else None,
                    "eta": task.eta,
                    "retries_left": task.retries,
                }
            )
    return rows


def records(status: str, limit: int = 100) -> list[JobRecord]:
    """Recorded jobs in one state, newest first."""
    return list(
        db.session.scalars(
            select(JobRecord)
            .where(JobRecord.status == status)
            .order_by(JobRecord.updated_at.desc())
            .limit(limit)
        )
    )


def mail_waiting_for_retry(limit: int = 100) -> list[OutboxEmail]:
    """Emails whose SMTP attempts failed and that wait for their next try."""
    return list(
        db.session.scalars(
            select(OutboxEmail)
            .where(
                OutboxEmail.sent_at.is_(None),
                OutboxEmail.failed_at.is_(None),
                OutboxEmail.attempts > 0,
            )
            .order_by(OutboxEmail.next_attempt_at)
            .limit(limit)
        )
    )


def failure_summary(hours: int = 24) -> dict[str, int]:
    """Failed jobs of the last `hours`, counted by job name."""
    since = utcnow() - timedelta(hours=hours)
    rows = db.session.execute(
        select(JobRecord.name, func.count())
        .where(JobRecord.status == JobRecord.FAILED, JobRecord.updated_at >= since)
        .group_by(JobRecord.name)
        .order_by(JobRecord.name)
    )
    return {name: count for name, count in rows}
