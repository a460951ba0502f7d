"""Background jobs: mail through the queue and a real Huey consumer, idempotent jobs, permanent
failures, the periodic chores, the admin queue page, /healthz and the `worker` command."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from membership.extensions import db
from membership.jobs import huey
from membership.mail import send_one
from membership.models import AuditEvent, JobRecord, OutboxEmail, User, UserSession
from membership.models.types import utcnow
from tests.conftest import PASSWORD, USING_POSTGRES

FORM = {
    "email": "reader@example.org",
    "display_name": "Reader",
    "password": "long enough harbor passphrase",
    "password_confirm": "long enough harbor passphrase",
}


def wait_for(condition, timeout: float = 15.0, message: str = "condition"):
    """Poll until `condition()` is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


@pytest.fixture
def silent_smtp():
    """A port that accepts TCP connections and never answers: an SMTP server that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def queue_settings(tmp_path):
    """A real queue store: Redis (a queue name of this test's own) with PostgreSQL, else SQLite."""
    if USING_POSTGRES:
        name = f"membership-test-{uuid.uuid4().hex[:10]}"
        yield {
            "JOBS_STORE": "redis",
            "JOBS_REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "JOBS_QUEUE_NAME": name,
        }
        huey.storage.flush_all()
        return
    yield {"JOBS_STORE": "sqlite", "JOBS_SQLITE_PATH": str(tmp_path / "jobs.sqlite3")}


@contextmanager
def running_worker(threads: int = 2):
    """A real Huey consumer (threads) on the configured store, stopped gracefully afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = huey.create_consumer(
        workers=threads, worker_type="thread", periodic=False, initial_delay=0.02, max_delay=0.2
    )
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def point_mail_at(app, port: int) -> None:
    app.config["MAIL_PORT"] = port
    app.extensions["mailman"].port = port


def outbox_rows(app) -> list[OutboxEmail]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
        db.session.expunge_all()
        return rows


def test_smtp_down_request_is_fast_and_mail_arrives_once_when_it_is_back(
    make_app, smtp_server, mailbox, silent_smtp, queue_settings
):
    controller, _ = smtp_server
    app = make_app(MAIL_PORT=silent_smtp, MAIL_TIMEOUT=2, **queue_settings)
    client = app.test_client()
    started = time.monotonic()
    response = client.submit("/register", FORM)
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    assert elapsed < 1.5, f"the request waited for SMTP ({elapsed:.2f} s)"
    assert huey.pending_count() == 1, "the request queued one delivery job"
    health = client.get("/healthz").get_json()
    assert health["jobs"]["pending"] == 1
    assert health["jobs"]["oldest_pending_seconds"] >= 0

    with running_worker():
        # The worker tries the hanging server, gives up after MAIL_TIMEOUT and backs off.
        wait_for(lambda: outbox_rows(app)[0].attempts == 1, message="a failed attempt")
        row = outbox_rows(app)[0]
        assert row.sent_at is None and "timed out" in row.last_error.lower()
        assert mailbox.messages == []

        # SMTP is back and the back-off has passed: the sweep wakes the row, and the delivery
        # job also runs twice more (a duplicate wake-up): one email all the same.
        point_mail_at(app, controller.port)
        with app.app_context():
            db.session.get(OutboxEmail, row.id).next_attempt_at = utcnow()
            db.session.commit()
        from membership.jobs.tasks import deliver_email, sweep_outbox

        with app.app_context():
            sweep_outbox()
            deliver_email(row.id)
            deliver_email(row.id)
        wait_for(lambda: outbox_rows(app)[0].sent_at is not None, message="delivery")
        wait_for(lambda: huey.pending_count() == 0, message="an empty queue")
    assert len(mailbox.to("reader@example.org")) == 1
    assert mailbox.last("reader@example.org")["Subject"] == "Confirm your email address"
    assert outbox_rows(app)[0].attempts == 2


def test_a_delivery_job_run_concurrently_sends_once(app, mailbox):
    from membership.mail import queue_email

    queue_email("twice@example.org", "Hello", "account_deleted", user=User(display_name="T"))
    db.session.commit()
    outbox_id = db.session.scalar(select(OutboxEmail.id))
    results, barrier = [], threading.Barrier(2)

    def run():
        with app.app_context():
            barrier.wait()
            results.append(send_one(outbox_id))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["sent", "skipped"]
    assert len(mailbox.to("twice@example.org")) == 1
    assert send_one(outbox_id) == "skipped", "a third run finds it sent"
    assert len(mailbox.messages) == 1


def test_an_invalid_address_fails_for_good_with_its_reason(app, mailbox, admin_client):
    email = OutboxEmail(
        to_address="not an address", subject="Hi", text_body="Hi", html_body="<p>Hi</p>"
    )
    db.session.add(email)
    db.session.commit()
    from membership.jobs.tasks import deliver_email, sweep_outbox

    deliver_email(email.id)
    db.session.expire_all()
    record = db.session.scalar(select(JobRecord))
    assert record.status == "failed" and record.name == "deliver_email"
    assert "Invalid address" in record.error
    assert record.args == [email.id]
    assert db.session.get(OutboxEmail, email.id).failed_at is not None

    # Not retried forever: the sweep leaves it alone.
    db.session.get(OutboxEmail, email.id).created_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    sweep_outbox()
    assert db.session.scalar(select(func.count(JobRecord.id))) == 1
    assert db.session.get(OutboxEmail, email.id).attempts == 1
    assert mailbox.messages == []

    page = admin_client.get("/admin/jobs").get_data(as_text=True)
    assert "deliver_email" in page and "Invalid address" in page and "Retry now" in page


def test_retry_now_is_admin_only_checks_csrf_and_is_audited(app, admin_client, make_user, login):
    record = JobRecord(
        task_id="1-abc", name="expire_sessions", args=[], status="failed", error="boom"
    )
    db.session.add(record)
    db.session.commit()
    url = f"/admin/jobs/{record.id}/retry"

    reader_client = app.test_client()
    make_user("reader@example.org")
    login(reader_client, "reader@example.org", PASSWORD)
    assert reader_client.submit(url, page="/").status_code == 403
    assert admin_client.post(url, data={}).status_code == 400, "no CSRF token"
    db.session.expire_all()
    assert db.session.get(JobRecord, record.id).status == "failed"

    response = admin_client.submit(url, page="/admin/jobs")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(JobRecord, record.id).status == "requeued"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "job.retry"))
    assert event.actor_id == admin_client.user.id and event.target_id == record.id
    # A requeued job cannot be queued a second time from the same row.
    admin_client.submit(url, page="/admin/jobs")
    assert db.session.scalar(select(func.count(AuditEvent.id))) >= 1
    assert (
        db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "job.retry"))
        == 1
    )


def test_retry_now_while_the_queue_is_down_says_so_and_keeps_the_job_failed(
    app, admin_client, monkeypatch
):
    """Redis down: "Retry now" fails closed with a message, never a 500 or a job marked
    requeued that no queue holds."""
    import redis

    from membership.jobs import records

    record = JobRecord(
        task_id="1-def", name="expire_sessions", args=[], status="failed", error="boom"
    )
    db.session.add(record)
    db.session.commit()

    def unreachable(_record):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(records, "enqueue_retry", unreachable)
    response = admin_client.submit(f"/admin/jobs/{record.id}/retry", page="/admin/jobs")
    assert response.status_code == 302
    page = admin_client.get("/admin/jobs").get_data(as_text=True)
    assert "The job queue cannot be reached just now" in page
    db.session.expire_all()
    assert db.session.get(JobRecord, record.id).status == "failed"


def test_a_retried_job_is_listed_and_the_dashboard_summarises_failures(app, admin_client):
    db.session.add_all(
        [
            JobRecord(
                task_id="1-a",
                name="nightly_reconcile",
                args=[],
                status="retried",
                error="APIConnectionError",
                failures=1,
            ),
            JobRecord(
                task_id="1-b",
                name="deliver_email",
                args=[7],
                status="failed",
                error="Invalid address",
                failures=1,
            ),
        ]
    )
    db.session.commit()
    page = admin_client.get("/admin/jobs").get_data(as_text=True)
    assert "nightly_reconcile" in page and "retried" in page
    dashboard = admin_client.get("/admin").get_data(as_text=True)
    assert "Failed jobs: deliver_email (1)" in dashboard


def test_complimentary_tiers_and_suspensions_end_on_their_date_with_an_email(
    app, make_user, mailbox
):
    from membership.jobs.tasks import end_expired_grants
    from membership.models import AccountStatus, Tier

    past = utcnow() - timedelta(minutes=1)
    comp = make_user("comp@example.org", paying=True, complimentary_until=past)
    kept = make_user("kept@example.org", paying=True, complimentary_until=utcnow() + timedelta(3))
    tier = db.session.get(Tier, kept.complimentary_tier_id)
    paused = make_user("paused@example.org", status=AccountStatus.SUSPENDED, suspended_until=past)
    db.session.commit()

    end_expired_grants()  # runs in-line on the test's immediate store
    db.session.expire_all()
    assert db.session.get(User, comp.id).complimentary_tier_id is None
    assert db.session.get(User, kept.id).complimentary_tier_id == tier.id
    assert db.session.get(User, paused.id).status == AccountStatus.ACTIVE
    assert "Supporter membership has ended" in mailbox.last("comp@example.org")["Subject"]
    assert mailbox.last("paused@example.org")["Subject"] == "Your suspension has ended"
    assert mailbox.to("kept@example.org") == []

    end_expired_grants()  # runs again: nothing sent twice
    assert len(mailbox.messages) == 2


def test_ended_sessions_are_deleted_after_a_week(app, make_user):
    from membership.jobs.tasks import expire_sessions

    user = make_user("reader@example.org")
    now = utcnow()
    rows = {
        "old": UserSession(user_id=user.id, token_hash="a" * 64, expires_at=now - timedelta(8)),
        "revoked": UserSession(
            user_id=user.id,
            token_hash="b" * 64,
            expires_at=now + timedelta(9),
            revoked_at=now - timedelta(days=8),
        ),
        "recent": UserSession(user_id=user.id, token_hash="c" * 64, expires_at=now - timedelta(1)),
        "live": UserSession(user_id=user.id, token_hash="d" * 64, expires_at=now + timedelta(9)),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    expire_sessions()
    db.session.expire_all()
    left = set(db.session.scalars(select(UserSession.token_hash)))
    assert left == {"c" * 64, "d" * 64}


def test_worker_command_runs_jobs_and_stops_on_sigterm(database_url, tmp_path, smtp_server):
    controller, mailbox = smtp_server
    mailbox.clear()
    env = {
        **os.environ,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "worker-test-secret-key-0123456789abcdef",
        "JOBS_STORE": "sqlite",
        "JOBS_SQLITE_PATH": str(tmp_path / "jobs.sqlite3"),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(controller.port),
        "REDIS_URL": "",
    }
    app_py = os.path.join(os.path.dirname(os.path.dirname(__file__)), "app.py")
    # Queue one email the way a request would: an outbox row and a job on the store.
    code = (
        "from membership import create_app\n"
        "from membership.extensions import db\n"
        "from membership.mail import queue_email, wake_committed_mail\n"
        "from membership.models import User\n"
        "app = create_app()\n"
        "with app.test_request_context():\n"
        "    queue_email('worker@example.org', 'From the worker', 'account_deleted',"
        " user=User(display_name='W'))\n"
        "    db.session.commit()\n"
        "    assert wake_committed_mail() == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert mailbox.messages == []
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", app_py, "worker", "--threads", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: mailbox.to("worker@example.org"), timeout=30, message="the email")
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output
    assert "Worker on the sqlite queue" in output
    assert "Consumer exiting" in output
    assert len(mailbox.to("worker@example.org")) == 1


def test_nightly_reconcile_with_stripe_unreachable_is_scheduled_for_a_retry(make_app):
    from membership.jobs.tasks import nightly_reconcile

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    app = make_app(
        STRIPE_SECRET_KEY="sk_test_stub",
        STRIPE_API_BASE=f"http://127.0.0.1:{port}",
        STRIPE_WEBHOOK_SECRET="whsec_test",
        STRIPE_TIMEOUT=1,
    )
    with app.app_context():
        nightly_reconcile()
        record = db.session.scalar(select(JobRecord))
        assert record.name == "nightly_reconcile"
        assert record.status == "retrying", "a passing outage is retried, not failed for good"
        assert "PaymentProviderError" in record.error
        retry = huey.scheduled()
        assert [task.name.rsplit(".", 1)[-1] for task in retry] == ["nightly_reconcile"]
        assert retry[0].retries == 2, "three retries in all, one used"
