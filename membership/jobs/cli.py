"""`flask --app app worker`: the job consumer with its periodic scheduler."""

import logging

import click
from flask import current_app

from membership.jobs import huey


@click.command("worker")
@click.option("--threads", type=click.IntRange(1, 32), default=None, help="Jobs run at once.")
def worker(threads: int | None) -> None:
    """Run background jobs and the periodic scheduler until stopped.

    SIGTERM (systemd, honcho, `kill`) stops it after the jobs in progress finish; SIGINT
    interrupts them (their rows stay claimed until the lease passes, then the sweep retries).
    """
    if huey.immediate:
        raise click.ClickException("JOBS_STORE=immediate runs jobs in-line; no worker needed.")
    logging.getLogger("huey").setLevel(logging.INFO)
    if not logging.getLogger("huey").handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("huey").addHandler(handler)
    store = current_app.config["JOBS_STORE"]
    click.echo(f"Worker on the {store} queue {huey.name!r}; periodic jobs on. Stop with SIGTERM.")
    consumer = huey.create_consumer(
        workers=threads or current_app.config["JOBS_WORKERS"],
        worker_type="thread",
        periodic=True,
        initial_delay=0.1,
        backoff=1.15,
        max_delay=2.0,
        graceful_signal="TERM",
    )
    consumer.run()
