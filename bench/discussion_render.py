"""What the discussion rebuild and a comment POST cost, on a small copy of the bench dataset.

    PYTHONPATH=. .venv/bin/python bench/discussion_render.py [--database postgresql|sqlite]
        [--scale 0.05] [--rounds 22] [--posts 60] [--profile FILE.prof]

Creates a throwaway database (PostgreSQL: `DISCUSSION_BENCH_DB` on the server of
`BENCH_POSTGRES_URL`, dropped at the end; SQLite: a temporary file), migrates it and fills it
with bench/dataset.py (the fixed stories keep exactly 200 comments). The app runs in-process with
the production settings and the embedded cache, as in `make bench`. It prints:

- the bench row "discussion rebuilt right after a comment" (bench/scenarios.py: post a comment,
  then time the next anonymous GET of the story with `time.process_time`), median and p90;
- the shared discussion alone (`build_shared_discussion_html`, 200 comments) and its query
  (`load_discussion`), CPU ms per call;
- comment POSTs by distinct readers: CPU ms per POST and SQL statements per POST.

`--profile` and `--profile-posts` write cProfile statistics (CPU time, not wall time) of the
rebuild rounds and of the POSTs; read them with `pstats`.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dataset, flames, scenarios  # noqa: E402
from bench.run import (  # noqa: E402
    forge_sessions,
    inprocess_app,
    postgres_admin_conninfo,
    raised_limits,
)

DB_NAME = os.environ.get("DISCUSSION_BENCH_DB", "membership_discussion_bench")


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(postgres_admin_conninfo(), autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql)


def prepare(kind: str, scale: float, workdir: Path) -> tuple[str, dict, dataset.Dataset]:
    """Create, migrate and fill the throwaway database (as `make profile` does)."""
    url, data = flames.prepare(kind, scale, workdir, database=DB_NAME)
    return url, flames._env(url, workdir / "instance"), data


def per_call(function, runs: int) -> float:
    """Mean CPU milliseconds of one call (after one warm-up call)."""
    function()
    started = time.process_time()
    for _ in range(runs):
        function()
    return (time.process_time() - started) / runs * 1000


def shared_part(app, slug: str, runs: int = 30) -> dict:
    """The shared discussion built from the database, and its query alone."""
    from sqlalchemy import select

    from membership.comments import discussion
    from membership.comments.queries import load_discussion
    from membership.extensions import db
    from membership.models import Article

    with app.test_request_context(f"/articles/{slug}"):
        article = db.session.scalar(select(Article).where(Article.slug == slug))
        html = discussion.build_shared_discussion_html(article, "oldest", 1, True)
        return {
            "shared_html_kib": len(html) // 1024,
            "build_ms": round(
                per_call(
                    lambda: discussion.build_shared_discussion_html(article, "oldest", 1, True),
                    runs,
                ),
                2,
            ),
            "load_ms": round(per_call(lambda: load_discussion(article, "oldest", 1), runs), 2),
        }


def comment_posts(app, slug: str, posters: list[tuple[str, str]]) -> dict:
    """CPU and SQL statements per comment POST, each by a different reader."""
    from sqlalchemy import event

    from membership.extensions import db

    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    ends: list[str] = []  # COMMIT and ROLLBACK: round trips the statement count leaves out

    def commit(conn):
        ends.append("commit")

    def rollback(conn):
        ends.append("rollback")

    name = app.config["SESSION_COOKIE_NAME"]
    client = app.test_client(use_cookies=False)
    counts, cpu, transactions = [], [], []
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", commit)
    event.listen(engine, "rollback", rollback)
    try:
        for i, (cookie, csrf) in enumerate(posters):
            statements.clear()
            ends.clear()
            started = time.process_time()
            response = client.post(
                f"/articles/{slug}/comments",
                data={"csrf_token": csrf, "body": f"Measured comment number {i}."},
                headers={"Cookie": f"{name}={cookie}"},
            )
            elapsed = (time.process_time() - started) * 1000
            if response.status_code != 302:
                raise RuntimeError(f"comment POST answered {response.status_code}")
            if i >= 3:
                cpu.append(elapsed)
                counts.append(len(statements))
                transactions.append(tuple(ends))
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", commit)
        event.remove(engine, "rollback", rollback)
    return {
        "posts": len(cpu),
        "cpu_ms_median": round(statistics.median(cpu), 2),
        "statements": sorted(set(counts)),
        "transaction_ends": sorted(set(transactions)),
        "last_statements": [s[:140] for s in statements],
    }


def readers_while_posting(app, env: dict, workdir: Path, slug: str, posters, seconds) -> dict:
    """The bench row: wrk reads the story (anonymous, as served) while a thread posts."""
    from bench import loadgen
    from bench.run import Gunicorn, http_request

    app_env = {**os.environ, **env, **raised_limits(app), "APP_ENV": "production"}
    app_env.update({"REDIS_URL": "", "FLASK_BENCHMARK_HELLO": "true"})
    server = Gunicorn(app_env, workdir).start()
    try:
        path = f"http://127.0.0.1:{server.port}/articles/{slug}"
        options = {"workdir": workdir, "connections": 32, "threads": 2}
        loadgen.run(path, duration=2, **options)
        server.drain()
        name = app.config["SESSION_COOKIE_NAME"]
        if os.environ.get("LIVE_WITHOUT_POSTS"):  # the same reads, for comparison
            posters = []
        poster = scenarios.Poster(lambda *a: http_request(server.port, *a), slug, posters, name)
        ticks, served = server.cpu_ticks(), server.served()
        poster.start()
        try:
            measured = loadgen.run(path, duration=seconds, **options)
        finally:
            poster.stop.set()
            poster.join()
        server.drain()
        answered = max(server.served() - served - 1, 1)
        measured["worker_cpu_ms"] = (
            (server.cpu_ticks() - ticks) * 1000 / os.sysconf("SC_CLK_TCK") / answered
        )
        measured["comments_posted"] = sum(1 for status in poster.statuses if status == 302)
        return measured
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="sqlite")
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=22)
    parser.add_argument("--posts", type=int, default=60)
    parser.add_argument(
        "--live",
        type=float,
        default=0,
        help="also run the bench row 'readers while one reader posts every second' for this "
        "many seconds (gunicorn, 2 workers, wrk at 32 connections)",
    )
    parser.add_argument("--profile", help="write cProfile statistics (CPU time) of the rebuild")
    parser.add_argument("--profile-posts", help="write cProfile statistics of the comment POSTs")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="membership-discussion-"))
    started = time.perf_counter()
    url, env, data = prepare(options.database, options.scale, workdir)
    print(f"{options.database}: dataset ready in {time.perf_counter() - started:.0f} s")
    try:
        app = inprocess_app(url, env)
        app.config.update({k.removeprefix("FLASK_"): v for k, v in raised_limits(app).items()})
        cookie_name = app.config["SESSION_COOKIE_NAME"]
        readers = data.reader_sessions
        need = options.rounds + options.posts + int(options.live) + 5
        if len(readers) < need:
            raise SystemExit(f"only {len(readers)} reader sessions, {need} needed")
        posters = forge_sessions(app, readers[:need])
        profiler = cProfile.Profile(time.process_time) if options.profile else None
        if profiler:
            profiler.enable()
        rebuild = scenarios.discussion_rebuild(
            app, data.slugs["rebuild"], posters[: options.rounds], cookie_name
        )
        if profiler:
            profiler.disable()
            profiler.dump_stats(options.profile)
        print(
            f"rebuild after a comment (anonymous GET, ?sort=newest): median "
            f"{rebuild['cpu_ms_median']} ms, p90 {rebuild['cpu_ms_p90']} ms CPU "
            f"({rebuild['rounds']} rounds)"
        )
        shared = shared_part(app, data.slugs["two-hundred"])
        print(
            f"shared discussion, 200 comments ({shared['shared_html_kib']} KiB): "
            f"{shared['build_ms']} ms CPU, of which load_discussion {shared['load_ms']} ms"
        )
        profiler = cProfile.Profile(time.process_time) if options.profile_posts else None
        if profiler:
            profiler.enable()
        posts = comment_posts(app, data.slugs["hot"], posters[options.rounds :])
        if profiler:
            profiler.disable()
            profiler.dump_stats(options.profile_posts)
        print(
            f"comment POST: {posts['cpu_ms_median']} ms CPU (median of {posts['posts']}), "
            f"statements {posts['statements']}, transaction ends {posts['transaction_ends']}"
        )
        for statement in posts["last_statements"]:
            print(f"    {statement}")
        if options.live:
            live = readers_while_posting(
                app,
                env,
                workdir,
                data.slugs["live"],
                posters[-int(options.live) - 5 :],
                options.live,
            )
            print(
                f"readers while posting: {live['rps']:.0f} req/s, p50 {live['p50_ms']:.0f} ms, "
                f"p99 {live['p99_ms']:.0f} ms, {live['comments_posted']} comments posted, "
                f"worker CPU {live['worker_cpu_ms']:.2f} ms/request"
            )
    finally:
        if options.database == "postgresql":
            from membership.extensions import db

            with app.app_context():
                db.engine.dispose()
            _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
