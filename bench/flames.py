"""`make profile`: flame graphs (py-spy) of the slow pages, on a small copy of the bench dataset.

One throwaway database (PostgreSQL by default, `PROFILE_DATABASE=sqlite` for SQLite) is
migrated and filled by bench/dataset.py at `PROFILE_SCALE` (0.05: 5,000 members, 100 articles,
10,000 comments; the fixed stories keep exactly 5, 200 and 1,000 comments). Then, for each
scenario, a worker process runs the app in-process (the same settings gunicorn gets) and sends
the same request for `PROFILE_SECONDS`, while `py-spy record` samples it:

- `signed-in-article`: the story with 200 comments, signed in as a reader;
- `anon-miss`: the same story, anonymous, with a new query string on every request;
- `comment-post`: a top-level comment by a different reader on every request.

Each scenario writes `bench/profiles/<label>-<scenario>.svg` (the flame graph) and
`<label>-<scenario>.txt`: the share of samples (inclusive) of the costliest app functions and
library buckets, computed from a second, raw py-spy recording. `PROFILE_LABEL` is `before` or
`after` (default `after`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dataset  # noqa: E402
from bench.run import (  # noqa: E402
    BIN,
    forge_sessions,
    inprocess_app,
    postgres_admin_conninfo,
    raised_limits,
)

PROFILE_DB = "membership_profile"
OUT = ROOT / "bench" / "profiles"
SCENARIOS = ("signed-in-article", "anon-miss", "comment-post")
# Library buckets for the summary: a sample counts once per bucket found on its stack.
BUCKETS = {
    "jinja2 (template rendering)": re.compile(r"jinja2/|\.html:"),
    "sqlalchemy (ORM + core)": re.compile(r"sqlalchemy/"),
    "database driver (psycopg / sqlite3)": re.compile(r"psycopg/|\bexecute \(sqlite"),
    "wtforms / flask_wtf (forms, CSRF)": re.compile(r"wtforms/|flask_wtf/"),
    "url_for / werkzeug routing": re.compile(r"url_for|werkzeug/routing"),
    "markupsafe / formatting": re.compile(r"markupsafe/|membership/formatting"),
}


def _env(url: str, instance: Path) -> dict:
    return {
        "SECRET_KEY": "profile-secret-key-profile-secret-key-profile",
        "SITE_URL": "https://news.bench.example",
        "INSTANCE_PATH": str(instance),
        "STRIPE_SECRET_KEY": "sk_test_profile",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_profile",
        "STRIPE_WEBHOOK_SECRET": "whsec_profile",
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "DATABASE_URL": url,
    }


def prepare(
    kind: str, scale: float, workdir: Path, database: str = PROFILE_DB
) -> tuple[str, dataset.Dataset]:
    """Create, migrate and fill a throwaway database (`database` on PostgreSQL, a file under
    `workdir` on SQLite); returns its URL and the dataset facts. The app's settings for it are
    `_env(url, workdir / "instance")`. bench/discussion_render.py uses it too."""
    instance = workdir / "instance"
    instance.mkdir(exist_ok=True)
    if kind == "postgresql":
        import psycopg

        conninfo = postgres_admin_conninfo()
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{database}"')
        base = conninfo.rsplit("/", 1)[0]
        url = base.replace("postgresql://", "postgresql+psycopg://", 1) + f"/{database}"
    else:
        url = f"sqlite:///{instance / (database + '.sqlite3')}"
    env = {**os.environ, **_env(url, instance), "APP_ENV": "production", "REDIS_URL": ""}
    subprocess.run(  # noqa: S603
        [str(BIN / "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True
    )
    sizes = {k: max(int(v * scale), 1) for k, v in dataset.SIZES.items()}
    data = dataset.generate(
        url,
        sizes=sizes,
        reader_sessions=2_000,
        log=lambda *_: None,
        secret_key=_env(url, instance)["SECRET_KEY"],
    )
    return url, data


def worker(scenario: str, url: str, instance: str, seconds: float, slug: str, viewer: str) -> None:
    """The profiled process: send one scenario's request in a loop for `seconds`."""
    viewer_id, viewer_token = viewer.split(":", 1)
    app = inprocess_app(url, _env(url, Path(instance)))
    app.config.update({k.removeprefix("FLASK_"): v for k, v in raised_limits(app).items()})
    name = app.config["SESSION_COOKIE_NAME"]
    ((cookie, _),) = forge_sessions(app, [(int(viewer_id), viewer_token)])
    client = app.test_client(use_cookies=False)
    path = f"/articles/{slug}"
    readers = [line.split(":", 1) for line in os.environ["PROFILE_READERS"].split(",")]
    posters = iter(forge_sessions(app, [(int(i), t) for i, t in readers]))

    def send(i: int) -> int:
        if scenario == "signed-in-article":
            return client.get(path, headers={"Cookie": f"{name}={cookie}"}).status_code
        if scenario == "anon-miss":
            return client.get(f"{path}?profile={uuid.uuid4().hex}").status_code
        poster, csrf = next(posters)
        body = {"csrf_token": csrf, "body": f"Profiled comment number {i}."}
        target = f"/articles/{os.environ['PROFILE_HOT']}/comments"
        return client.post(target, data=body, headers={"Cookie": f"{name}={poster}"}).status_code

    for i in range(3):
        send(i)
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        status = send(count + 3)
        if status not in (200, 302):
            raise SystemExit(f"{scenario}: status {status}")
        count += 1
    elapsed = time.perf_counter() - started
    print(f"{scenario}: {count} requests, {elapsed / count * 1000:.1f} ms each")


def summarise(raw: Path, limit: int = 18) -> str:
    """Inclusive share of samples for the costliest app frames and the library buckets."""
    total = 0
    own_frames: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        # Only the request: skip the loop's own set-up frames (forging cookies, app start).
        if not any("send (flames.py:" in f for f in frames):
            continue
        total += n
        seen = set()
        for frame in frames:
            key = re.sub(r":\d+\)$", ")", frame)
            if re.search(r"\((membership/|[\w/]+\.html\))", key) and key not in seen:
                seen.add(key)
                own_frames[key] += n
        for bucket, pattern in BUCKETS.items():
            if any(pattern.search(f) for f in frames):
                buckets[bucket] += n
    if not total:
        raise RuntimeError(f"no request frames in {raw}")
    lines = [f"samples in the request: {total}", "", "library buckets (inclusive share):"]
    for bucket, n in buckets.most_common():
        lines.append(f"  {n / total:6.1%}  {bucket}")
    lines += ["", "app functions (inclusive share):"]
    for frame, n in own_frames.most_common(limit):
        lines.append(f"  {n / total:6.1%}  {frame.replace(str(ROOT) + '/', '')}")
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6], sys.argv[7])
        return 0
    kind = os.environ.get("PROFILE_DATABASE", "postgresql")
    label = os.environ.get("PROFILE_LABEL", "after")
    seconds = float(os.environ.get("PROFILE_SECONDS", "15"))
    scale = float(os.environ.get("PROFILE_SCALE", "0.05"))
    scenarios = os.environ.get("PROFILE_SCENARIOS", ",".join(SCENARIOS)).split(",")
    formats = os.environ.get("PROFILE_FORMATS", "flamegraph,raw").split(",")
    OUT.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="membership-profile-"))
    print(f"preparing a {kind} database at scale {scale} ...", flush=True)
    url, data = prepare(kind, scale, workdir)
    viewer = "{}:{}".format(*data.viewer_session)
    # Two recordings per scenario, each needs its own fresh posters for comment POSTs.
    pools = [data.reader_sessions[i::2] for i in range(2)]
    try:
        for scenario in scenarios:
            for fmt in formats:
                posters = pools.pop() if scenario == "comment-post" else data.reader_sessions[:1]
                target = (
                    OUT / f"{label}-{scenario}.svg"
                    if fmt == "flamegraph"
                    else workdir / f"{label}-{scenario}.raw.txt"
                )
                env = {
                    **os.environ,
                    "PROFILE_READERS": ",".join(f"{i}:{t}" for i, t in posters),
                    "PROFILE_HOT": data.slugs["hot"],
                }
                subprocess.run(  # noqa: S603
                    [
                        str(BIN / "py-spy"), "record", "--rate", "250", "--format", fmt,
                        "--output", str(target), "--",
                        str(BIN / "python"), __file__, "--worker", scenario, url,
                        str(workdir / "instance"), str(seconds), data.slugs["two-hundred"], viewer,
                    ],
                    cwd=ROOT, env=env, check=True,
                )  # fmt: skip
            raw = workdir / f"{label}-{scenario}.raw.txt"
            summary = summarise(raw)
            (OUT / f"{label}-{scenario}.txt").write_text(f"{label} {scenario} ({kind})\n" + summary)
            print(summary)
    finally:
        if kind == "postgresql":
            import psycopg

            with psycopg.connect(postgres_admin_conninfo(), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{PROFILE_DB}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
