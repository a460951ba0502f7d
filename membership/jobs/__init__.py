"""Background jobs on Huey: mail delivery, reply notifications and the periodic chores.

One Huey object serves the whole process; `init_app` points its storage at the app's choice:
SQLite under instance/ (the embedded default, no other service), Redis when REDIS_URL is set,
or "immediate" (tests: a job runs in-line where it is queued, through the same code path).
Jobs run inside an application context of their own, so each has its own database session.

Every job is idempotent: the database row it works on is the truth and the queue only wakes it
(an outbox row is claimed with a conditional UPDATE before anything is sent).
"""

import functools
import logging
import time
import uuid
from collections.abc import Callable

from flask import Flask, current_app, has_app_context
from huey import Huey
from huey.api import Task
from huey.exceptions import CancelExecution
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from redis import ConnectionPool

log = logging.getLogger(__name__)

huey = Huey("membership", results=False, utc=True, storage_class=MemoryStorage)
_apps: dict[str, Flask] = {}
JOBS: dict[str, Callable] = {}


class PermanentJobError(Exception):
    """The job can never succeed as it stands (an address refused, an object Stripe does not
    know): it goes to the failed list with this reason instead of being retried."""


class StampedTask(Task):
    """A task whose id starts with its enqueue time, so the oldest pending job's age is known."""

    def create_id(self) -> str:
        return f"t{time.time():.3f}-{uuid.uuid4().hex[:12]}"


def queued_at(task_id: str) -> float | None:
    """The enqueue time (epoch seconds) carried by a StampedTask id (periodic ones have none)."""
    if not task_id.startswith("t"):
        return None
    try:
        return float(task_id[1:].split("-", 1)[0])
    except ValueError:
        return None


def init_app(app: Flask) -> None:
    """Point the queue at the storage the app's configuration names."""
    store = app.config["JOBS_STORE"]
    name = app.config["JOBS_QUEUE_NAME"]
    if store == "immediate":
        storage = MemoryStorage(name)
    elif store == "redis":
        # Short timeouts: a Redis outage must not stall the request that queues a job.
        pool = ConnectionPool.from_url(
            app.config["JOBS_REDIS_URL"], socket_timeout=5, socket_connect_timeout=1
        )
        storage = RedisStorage(name, connection_pool=pool)
    elif store == "sqlite":
        storage = SqliteStorage(name, filename=app.config["JOBS_SQLITE_PATH"], timeout=5)
    else:
        raise ValueError(f"JOBS_STORE must be immediate, sqlite or redis, not {store!r}")
    huey._immediate = store == "immediate"
    huey.name = name
    huey.storage = storage
    _apps["current"] = app
    app.extensions["jobs"] = huey
    from membership.jobs import tasks  # noqa: F401  (registers the tasks on `huey`)


def _app() -> Flask:
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    return _apps["current"]


def job(func: Callable | None = None, *, periodic=None, **options):
    """Register `func` as a job (or, with `periodic=crontab(...)`, a periodic one).

    The job runs in an application context of its own; failures are recorded (JobRecord) for
    the admin queue page, and the emails it committed are woken when it succeeds.
    """

    def decorate(func: Callable):
        name = func.__name__

        @functools.wraps(func)
        def run(*args, task=None, **kwargs):
            with _app().app_context():
                return _run_recorded(name, func, task, args, kwargs)

        if periodic is not None:
            wrapper = huey.periodic_task(periodic, context=True, name=name, **options)(run)
        else:
            wrapper = huey.task(context=True, name=name, task_base=StampedTask, **options)(run)
        JOBS[name] = wrapper
        return wrapper

    return decorate(func) if func is not None else decorate


def _run_recorded(name: str, func: Callable, task, args: tuple, kwargs: dict):
    from membership.extensions import db
    from membership.jobs.records import record_failure, record_success
    from membership.mail import wake_committed_mail

    try:
        result = func(*args, **kwargs)
    except PermanentJobError as exc:
        db.session.rollback()
        record_failure(task, name, args, str(exc), final=True)
        raise CancelExecution(str(exc), retry=False) from exc
    except Exception as exc:
        db.session.rollback()
        final = task is None or not task.retries
        record_failure(task, name, args, f"{type(exc).__name__}: {exc}", final=final)
        raise
    record_success(task)
    wake_committed_mail()
    return result
