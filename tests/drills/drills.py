"""`make drills`: fault drills against the cluster of `make cluster`, under steady mixed load.

deploy/cluster.sh prepares the cluster (its own database `membership_drills`, Redis keys
`membership-drills`) with its dependencies behind fault proxies (tests/drills/faultproxy.py):
PostgreSQL, Redis, a loopback SMTP server this drill runs (it counts messages per outbox id) and
the stand-in Stripe (tests/stripe_stub). The drill starts deploy/Procfile's lines itself, one
process group each, so one instance can be killed alone. Under load (drill_load.py) it then cuts
PostgreSQL, cuts Redis, cuts SMTP, makes Stripe answer 500 and then time out, and SIGKILLs an
instance; it checks the data afterwards and prints one table row per fault.
"""

import argparse
import collections
import json
import os
import sys
import threading
import time

from tests.drills import soak
from tests.drills.drill_checks import consistency, table
from tests.drills.drill_cluster import (
    ADMIN_URL,
    BASE,
    DATABASE,
    DIRECT_URL,
    INSTANCES,
    RUN,
    Cluster,
    MailCounter,
    fresh_database,
    get,
    sql,
)
from tests.drills.drill_load import (
    EXPECTED,
    Reader,
    Recorder,
    Shared,
    Webhooks,
    load,
    release_sign_ins,
)
from tests.drills.faultproxy import FaultProxy, free_port


def errors_by_status(rows) -> dict[int, int]:
    counted = collections.Counter(
        status for _s, _e, kind, status in rows if status not in EXPECTED[kind]
    )
    return dict(sorted(counted.items()))


def wait_until(condition, limit: float, step: float = 0.2) -> float | None:
    """Seconds until `condition()` held, or None if it did not within `limit`."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if condition():
            return time.monotonic() - started
        time.sleep(step)
    return None


def outbox_unsent() -> int:
    return sql("SELECT count(*) FROM outbox_emails WHERE sent_at IS NULL AND failed_at IS NULL")[0][
        0
    ]


class Drill:
    """Runs the faults one after another and keeps one result row per fault."""

    def __init__(self, args, cluster, proxies, stub, recorder, webhooks, shared) -> None:
        self.args = args
        self.shared = shared
        self.cluster = cluster
        self.proxies = proxies
        self.stub = stub
        self.recorder = recorder
        self.webhooks = webhooks
        self.rows: list[dict] = []
        self.problems: list[str] = []
        self.finished = threading.Event()

    def row(self, fault, start, end, recovery, checked, note="", entry=None) -> dict:
        """One table row for the requests started in [start, end); `entry` may already hold
        the time to recover (a watch started earlier)."""
        window = self.recorder.between(start, end)
        detail = collections.Counter(
            f"{kind} {status}" for _s, _e, kind, status in window if status not in EXPECTED[kind]
        )
        entry = {} if entry is None else entry
        entry.setdefault("recovery", recovery)
        entry.setdefault("note", note)
        entry.update(
            {
                "fault": fault,
                "detail": dict(detail),
                "requests": len(window),
                "errors": errors_by_status(window),
                "checked": checked,
                "slowest": max((e - s for s, e, _k, _st in window), default=0.0),
            }
        )
        self.rows.append(entry)
        print(f"  {fault}: {json.dumps({k: v for k, v in entry.items() if k != 'fault'})}")
        return entry

    def postgres(self, seconds: float) -> None:
        print(f"PostgreSQL cut for {seconds} s")
        start = time.monotonic()
        self.proxies["postgres"].set_mode("cut")
        time.sleep(seconds)
        self.proxies["postgres"].set_mode("pass")

        def all_serve() -> bool:
            return all(get(f"http://127.0.0.1:{p}/healthz", 2)[0] == 200 for p in INSTANCES)

        recovery = wait_until(all_serve, 30)
        time.sleep(2)
        entry = self.row("PostgreSQL cut", start, time.monotonic(), recovery, "at the end")
        if recovery is None or recovery > 5:
            self.problems.append(f"instances took {recovery} s to serve after PostgreSQL returned")
        bad = {status for status in entry["errors"] if status not in (503,)}
        if bad:
            self.problems.append(f"PostgreSQL cut: answers other than 503: {entry['errors']}")

    def redis(self, seconds: float) -> None:
        print(f"Redis cut for {seconds} s")
        start = time.monotonic()
        self.proxies["redis"].set_mode("cut")
        time.sleep(seconds)
        self.proxies["redis"].set_mode("pass")

        def queue_readable() -> bool:
            status, body = get(BASE + "/healthz", 2)
            return status == 200 and "error" not in json.loads(body or b"{}").get("jobs", {})

        recovery = wait_until(queue_readable, 30)
        entry = self.row("Redis cut", start, time.monotonic(), recovery, "outbox at the end")
        if entry["errors"]:
            self.problems.append(f"Redis cut: error answers {entry['errors']}")

    def watch(self, entry: dict, condition, note: str, since: float) -> None:
        """Fill in the row's time to recover, from `since`, once `condition()` holds (polled
        every second)."""
        started = since

        def poll() -> None:
            while not self.finished.is_set():
                try:
                    if condition():
                        entry["recovery"] = time.monotonic() - started
                        entry["note"] = note
                        return
                except Exception as exc:  # PostgreSQL busy: try again
                    print(f"  watch: {exc}")
                time.sleep(1)
            entry["note"] = "NOT recovered: " + note

        threading.Thread(target=poll, daemon=True).start()

    def smtp(self, seconds: float) -> None:
        print(f"SMTP down for {seconds} s")
        start = time.monotonic()
        self.proxies["smtp"].set_mode("cut")
        time.sleep(seconds)
        self.proxies["smtp"].set_mode("pass")
        back = time.monotonic()
        entry: dict = {}
        self.watch(entry, lambda: outbox_unsent() == 0, "every email sent", back)
        self.row("SMTP down", start, back, None, "outbox at the end", entry=entry)

    def stripe(self, seconds: float) -> None:
        print(f"Stripe answering 500 for {seconds / 2} s, then timing out for {seconds / 2} s")
        start = time.monotonic()
        self.stub.fail_next(100_000, 500)
        # Payments completed now: their webhooks cannot re-fetch the objects from Stripe.
        paying = self.shared.pay_abandoned(4)
        time.sleep(seconds / 2)
        with self.stub._lock:
            self.stub._faults.clear()
        self.proxies["stripe"].set_mode("blackhole")
        paying += self.shared.pay_abandoned(4)
        print(f"  {paying} payments completed during the outage")
        time.sleep(seconds / 2)
        self.proxies["stripe"].set_mode("pass")
        back = time.monotonic()
        watched: dict = {}
        self.watch(watched, lambda: self.webhooks.pending() == 0, "every event applied", back)
        time.sleep(5)
        entry = self.row(
            "Stripe 500 / timeout", start, time.monotonic(), None, "at the end", entry=watched
        )
        if 500 in entry["errors"]:
            self.problems.append(f"Stripe outage: 500s reached readers {entry['errors']}")

    def kill(self, seconds: float) -> None:
        print("SIGKILL of web2 (:8102)")
        start = time.monotonic()
        self.cluster.kill("web2")
        time.sleep(seconds)
        window = self.recorder.between(start, time.monotonic())
        # Connection errors and 5xx only: a 4xx is the app answering.
        failures = [s for s, _e, _kind, status in window if status == 0 or status >= 500]
        recovery = (max(failures) - start) if failures else 0.0
        self.row("SIGKILL of an instance", start, time.monotonic(), recovery, "comments at the end")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", type=float, default=20, help="PostgreSQL cut, seconds")
    parser.add_argument("--redis", type=float, default=20, help="Redis cut, seconds")
    parser.add_argument("--smtp", type=float, default=120, help="SMTP down, seconds")
    parser.add_argument("--stripe", type=float, default=60, help="Stripe outage, seconds")
    parser.add_argument("--seconds", type=float, help="every fault this long (short trial runs)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--readers", type=int, default=40)
    parser.add_argument("--drain", type=float, default=240, help="most to wait for mail/events")
    args = parser.parse_args()
    if args.seconds:
        args.postgres = args.redis = args.smtp = args.stripe = args.seconds
    return args


def main() -> int:
    from aiosmtpd.controller import Controller

    from tests.stripe_stub import StripeStub

    args = parse_args()
    began = time.monotonic()
    RUN.mkdir(parents=True, exist_ok=True)
    if get(BASE + "/healthz", 1)[0]:
        sys.exit(f"{BASE} already answers: stop that cluster first (make cluster-stop)")
    counter = MailCounter()
    smtp_port = free_port()
    smtp_server = Controller(counter, hostname="127.0.0.1", port=smtp_port)
    smtp_server.start()
    stub = StripeStub().start()
    stub.webhook_url = BASE + "/stripe/webhook"
    stripe_port = int(stub.base_url.rsplit(":", 1)[1])
    proxies = {
        "postgres": FaultProxy("postgres", 5432).start(),
        "redis": FaultProxy("redis", 6379).start(),
        "smtp": FaultProxy("smtp", smtp_port).start(),
        "stripe": FaultProxy("stripe", stripe_port).start(),
    }
    fresh_database()
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    env.update(
        {
            "CLUSTER_DATABASE_URL": (
                f"postgresql://postgres@127.0.0.1:{proxies['postgres'].port}/{DATABASE}"
                "?connect_timeout=3"
            ),
            "CLUSTER_POSTGRES_ADMIN_URL": ADMIN_URL,
            "CLUSTER_REDIS_URL": f"redis://127.0.0.1:{proxies['redis'].port}/0",
            "CLUSTER_KEY_PREFIX": "membership-drills",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(proxies["smtp"].port),
            "MAIL_TIMEOUT": "5",
            "STRIPE_SECRET_KEY": "sk_test_stub",
            "STRIPE_WEBHOOK_SECRET": stub.webhook_secret,
            "STRIPE_API_BASE": f"http://127.0.0.1:{proxies['stripe'].port}",
        }
    )
    cluster = Cluster(env)
    shared = Shared(DIRECT_URL)
    webhook_stop = threading.Event()
    try:
        cluster.prepare()
        cluster.start()
        print(f"Cluster up after {time.monotonic() - began:.0f} s; logs in {RUN}")
        soak.CLUSTER_DB = DIRECT_URL
        readers = [Reader(email) for email in soak.create_readers(args.readers)]
        paths = soak.article_paths()
        shared.refresh_threads(paths)
        recorder = Recorder()
        webhooks = Webhooks(stub, recorder, shared)
        gate = threading.BoundedSemaphore(3)

        def refresh() -> None:
            while not shared.stop.wait(10):
                shared.refresh_threads(paths)

        def deliver() -> None:
            while not webhook_stop.wait(1):
                webhooks.tick()

        threads = [
            threading.Thread(target=release_sign_ins, args=(gate, shared.stop), daemon=True),
            threading.Thread(target=refresh, daemon=True),
            threading.Thread(target=deliver, daemon=True),
        ] + [
            threading.Thread(
                target=load, args=(recorder, shared, readers[i :: args.threads], paths, gate)
            )
            for i in range(args.threads)
        ]
        for thread in threads:
            thread.start()
        time.sleep(15)  # steady load first
        drill = Drill(args, cluster, proxies, stub, recorder, webhooks, shared)
        drill.postgres(args.postgres)
        time.sleep(5)
        drill.redis(args.redis)
        time.sleep(5)
        drill.smtp(args.smtp)
        drill.stripe(args.stripe)
        drill.kill(10)
        shared.stop.set()
        for thread in threads[3:]:
            thread.join(timeout=60)
        print("Load stopped; waiting for the outbox and the webhooks to drain")
        drained = wait_until(
            lambda: outbox_unsent() == 0 and webhooks.pending() == 0, args.drain, 1
        )
        time.sleep(2)  # the watchers' last poll
        drill.finished.set()
        time.sleep(1.5)  # a watch still waiting marks its row "NOT recovered"
        webhook_stop.set()
        if drained is None:
            drill.problems.append(f"mail or webhooks not drained {args.drain} s after the load")
        checks = consistency(DIRECT_URL, shared.acknowledged, dict(counter.counts), webhooks)
        kinds = collections.Counter(kind for _s, _e, kind, _st in recorder.rows)
        elapsed = time.monotonic() - began
        print(f"\nTotal: {len(recorder.rows)} requests {dict(kinds)}, in {elapsed:.0f} s")
        print(table(drill.rows, checks))
        problems = drill.problems + checks["problems"]
        for problem in problems:
            print("PROBLEM:", problem)
        print("Drills passed." if not problems else f"{len(problems)} problem(s).")
        return 1 if problems else 0
    finally:
        shared.stop.set()
        webhook_stop.set()
        cluster.stop()
        for proxy in proxies.values():
            proxy.stop()
        stub.stop()
        smtp_server.stop()


if __name__ == "__main__":
    sys.exit(main())
