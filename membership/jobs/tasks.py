"""The jobs: mail delivery, and the periodic chores the worker's scheduler runs."""

import logging
from datetime import timedelta

from huey import crontab
from sqlalchemy import delete, or_, select, update

from membership import audit
from membership.extensions import db
from membership.jobs import PermanentJobError, job
from membership.mail import due_ids, external_url, queue_email, send_one
from membership.models import AccountStatus, JobRecord, Tier, User, UserSession
from membership.models.types import utcnow

log = logging.getLogger(__name__)

# A request's own delivery job normally runs within a second; the sweep leaves it this long.
SWEEP_SETTLE = timedelta(minutes=1)
# Ended sessions are kept this long for the account's "where you are signed in" history.
SESSION_RETENTION = timedelta(days=7)
JOB_RECORD_RETENTION = timedelta(days=30)


@job
def deliver_email(outbox_id: int) -> str:
    """Send one outbox email (at most once; see membership.mail.send_one)."""
    return send_one(outbox_id)


@job(periodic=crontab(minute="*"))
def sweep_outbox() -> int:
    """Wake the emails whose back-off has passed, and any whose job was lost."""
    ids = due_ids(settled_for=SWEEP_SETTLE, limit=500)
    for outbox_id in ids:
        deliver_email(outbox_id)
    return len(ids)


@job(periodic=crontab(minute="30", hour="3"), retries=3, retry_delay=600)
def nightly_reconcile() -> int:
    """`stripe reconcile` every night: repair what missed webhooks left behind."""
    from membership.billing import stripe_gateway
    from membership.billing.reconcile import reconcile
    from membership.billing.webhooks import EVENT_HANDLERS

    if not stripe_gateway.is_configured():
        return 0
    try:
        changes = reconcile(3, handlers=EVENT_HANDLERS)
    except stripe_gateway.PaymentProviderError as exc:
        if not exc.retryable:
            raise PermanentJobError(f"Stripe refused the reconciliation: {exc.message}") from exc
        raise
    db.session.commit()
    for change in changes:
        log.info("reconcile: %s", change)
    return len(changes)


@job(periodic=crontab(minute="*/5"))
def end_expired_grants() -> int:
    """End complimentary memberships and suspensions whose end date has passed; tell the member."""
    now = utcnow()
    ended = 0
    comps = db.session.execute(
        select(User.id, User.complimentary_tier_id).where(
            User.complimentary_tier_id.is_not(None), User.complimentary_until <= now
        )
    ).all()
    for user_id, tier_id in comps:
        # Conditional: a job that runs twice (or an admin's new grant meanwhile) ends it once.
        if _claim(
            user_id,
            User.complimentary_tier_id == tier_id,
            User.complimentary_until <= now,
            values={"complimentary_tier_id": None, "complimentary_until": None},
        ):
            user = db.session.get(User, user_id)
            tier = db.session.get(Tier, tier_id)
            audit.record(None, "member.comp.expired", user, tier=tier.slug)
            queue_email(
                user.email,
                f"Your {tier.name} membership has ended",
                "membership_ended",
                user=user,
                tier=tier,
                plans_url=external_url("billing.plans"),
            )
            ended += 1
        db.session.commit()
    suspended = db.session.scalars(
        select(User.id).where(User.status == AccountStatus.SUSPENDED, User.suspended_until <= now)
    ).all()
    for user_id in suspended:
        if _claim(
            user_id,
            User.status == AccountStatus.SUSPENDED,
            User.suspended_until <= now,
            values={"status": AccountStatus.ACTIVE, "status_reason": None, "suspended_until": None},
        ):
            user = db.session.get(User, user_id)
            audit.record(None, "member.suspension.expired", user)
            queue_email(user.email, "Your suspension has ended", "suspension_ended", user=user)
            ended += 1
        db.session.commit()
    return ended


def _claim(user_id: int, *conditions, values: dict) -> bool:
    return bool(
        db.session.execute(
            update(User)
            .where(User.id == user_id, *conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


@job(periodic=crontab(minute="17"))
def expire_sessions() -> int:
    """Delete sign-in sessions that ended (expired or revoked) more than a week ago.

    Links sent by email (confirmation, reset) are signed tokens with their age inside: they
    expire by themselves and have no rows to clean up.
    """
    cutoff = utcnow() - SESSION_RETENTION
    result = db.session.execute(
        delete(UserSession).where(
            or_(UserSession.expires_at <= cutoff, UserSession.revoked_at <= cutoff)
        )
    )
    db.session.commit()
    return result.rowcount


@job(periodic=crontab(minute="5", hour="6"))
def summarize_failed_jobs() -> dict[str, int]:
    """Log the day's failed jobs (the admin dashboard shows the same summary) and forget
    records older than a month."""
    from membership.jobs.records import failure_summary

    summary = failure_summary(24)
    if summary:
        log.warning("failed jobs in the last 24 hours: %s", summary)
    db.session.execute(
        delete(JobRecord).where(JobRecord.updated_at <= utcnow() - JOB_RECORD_RETENTION)
    )
    db.session.commit()
    return summary
