"""The background job queue: what waits, what failed (with its error), what was retried."""

import logging

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from membership import audit
from membership.admin.blueprint import bp
from membership.admin.forms import ButtonForm
from membership.extensions import db
from membership.jobs import records
from membership.models import JobRecord

log = logging.getLogger(__name__)


@bp.route("/jobs")
def jobs():
    """The queue page (administrators only: moderators are not let in by the guard)."""
    try:
        pending = records.pending_jobs()
        storage_error = None
    except Exception as exc:  # the queue's store (Redis) may be down: the page still answers
        pending, storage_error = [], type(exc).__name__
    return render_template(
        "admin/jobs.html",
        stats=records.queue_stats(),
        pending=pending,
        storage_error=storage_error,
        failed=records.records(JobRecord.FAILED),
        retrying=records.records(JobRecord.RETRYING),
        retried=records.records(JobRecord.RETRIED) + records.records(JobRecord.REQUEUED),
        mail_waiting=records.mail_waiting_for_retry(),
        form=ButtonForm(),
    )


@bp.route("/jobs/<int:record_id>/retry", methods=["POST"])
def retry_job(record_id: int):
    """Run a failed job again now."""
    record = db.get_or_404(JobRecord, record_id)
    if not ButtonForm().validate_on_submit():
        abort(400, "Your form expired. Reload the page and try again.")
    try:
        records.retry_now(record)
    except records.NotRetryable as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.jobs"))
    audit.record(current_user, "job.retry", record, job=record.name, args=record.args)
    db.session.commit()
    try:
        records.enqueue_retry(record)
    except Exception:  # the queue's store (Redis) is down: say so, and keep the job failed
        log.warning("could not queue %s again", record.name, exc_info=True)
        record.status = JobRecord.FAILED
        db.session.commit()
        flash("The job queue cannot be reached just now. Try again in a moment.", "error")
        return redirect(url_for("admin.jobs"))
    flash(f"{record.name} queued again.", "success")
    return redirect(url_for("admin.jobs"))
