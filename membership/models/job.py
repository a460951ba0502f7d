"""What happened to background jobs that did not simply succeed (membership/jobs)."""

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class JobRecord(db.Model):
    """A job that failed (for now or for good), or succeeded only after retries.

    The queue itself (Huey) forgets a task once it has run; this row keeps its name, arguments
    and error so the admin queue page can show it and an administrator can run it again.
    """

    __tablename__ = "job_records"
    __table_args__ = (Index(None, "status", "updated_at"),)

    FAILED = "failed"  # no retry left, or a permanent error
    RETRYING = "retrying"  # failed, the queue runs it again later
    RETRIED = "retried"  # succeeded after one or more retries
    REQUEUED = "requeued"  # failed, then queued again by an administrator

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    args: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
