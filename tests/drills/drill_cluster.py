"""The drills' cluster: deploy/cluster.sh's environment and deploy/Procfile's processes, one
process group each, the loopback SMTP server's counter, and small helpers."""

import collections
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from email.parser import BytesHeaderParser

import psycopg

from tests.drills import soak

ROOT = soak.ROOT
RUN = ROOT / "run" / "drills"
BASE = soak.BASE
INSTANCES = (8101, 8102, 8103)
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "membership_drills"
DIRECT_URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"


class MailCounter:
    """aiosmtpd handler: how many times each outbox id arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: collections.Counter = collections.Counter()

    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self.lock:
            self.counts[headers.get("X-Outbox-Id", "?")] += 1
        return "250 OK"


def get(url: str, timeout: float = 3) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def sql(query: str, *params) -> list[tuple]:
    with psycopg.connect(DIRECT_URL, connect_timeout=5) as connection:
        return connection.execute(query, params).fetchall()


def fresh_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (DATABASE,),
        )
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')


class Cluster:
    """deploy/cluster.sh's environment, deploy/Procfile's processes, one process group each."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    def prepare(self) -> None:
        env_file = RUN / "cluster.env"
        with (RUN / "cluster-setup.log").open("wb") as log:
            subprocess.run(
                [str(ROOT / "deploy" / "cluster.sh")],
                cwd=ROOT,
                env={**self.env, "CLUSTER_ENV_ONLY": str(env_file)},
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
            )
        pairs = env_file.read_bytes().decode().split("\0")
        self.env = dict(pair.split("=", 1) for pair in pairs if "=" in pair)

    def start(self) -> None:
        for line in (ROOT / "deploy" / "Procfile").read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            name, command = line.split(":", 1)
            self.processes[name] = subprocess.Popen(
                ["/bin/sh", "-c", "exec " + command.strip()],
                cwd=ROOT,
                env=self.env,
                stdout=(RUN / f"{name}.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready = [get(f"http://127.0.0.1:{port}/healthz")[0] for port in INSTANCES]
            if ready == [200, 200, 200] and get(BASE + "/healthz")[0] == 200:
                return
            dead = [name for name, process in self.processes.items() if process.poll() is not None]
            if dead:
                raise SystemExit(f"{dead} exited; see {RUN}")
            time.sleep(0.5)
        raise SystemExit(f"the cluster did not start; see {RUN}")

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
