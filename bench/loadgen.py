"""wrk, driven from Python: fixed requests or a pool of distinct ones, results as a dict.

A pool is a file of requests, one a line: `METHOD<TAB>PATH<TAB>BODY<TAB>Header: value<TAB>...`.
Each wrk thread takes every n-th line, so no two threads send the same request; a thread that
runs out starts over and the `wrapped` count says so (the caller sizes pools to avoid it).
Latency percentiles come from wrk's own histogram, through a Lua `done` hook.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

REPORT = r"""
threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local wrapped = 0
  for _, t in ipairs(threads) do
    wrapped = wrapped + (tonumber(t:get("wrapped")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors_connect": %d, ' ..
    '"errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, "wrapped": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, wrapped))
end
"""

POOL = r"""
function init(args)
  local path = os.getenv("BENCH_POOL")
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  requests = {}
  local index = 0
  for line in io.lines(path) do
    if index % nthreads == id then
      local fields = {}
      for part in (line .. "\t"):gmatch("([^\t]*)\t") do
        table.insert(fields, part)
      end
      local headers = {}
      for i = 4, #fields do
        local name, value = fields[i]:match("^([^:]+):%s*(.*)$")
        if name then headers[name] = value end
      end
      local body = fields[3]
      if body == "" then body = nil end
      table.insert(requests, wrk.format(fields[1], fields[2], headers, body))
    end
    index = index + 1
  end
  position = 0
  wrapped = 0
end

function request()
  position = position + 1
  if position > #requests then
    position = 1
    wrapped = wrapped + 1
  end
  return requests[position]
end
"""


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (make bench does it)")
    return found


def write_pool(path: Path, lines: Iterable[Sequence[str]]) -> int:
    """Write a request pool; each item is (method, path, body, *headers)."""
    count = 0
    with path.open("w") as handle:
        for method, target, body, *headers in lines:
            fields = [method, target, body, *headers]
            if any("\t" in f or "\n" in f for f in fields):
                raise ValueError("tabs and newlines are not allowed in pool fields")
            handle.write("\t".join(fields) + "\n")
            count += 1
    return count


def run(
    url: str,
    *,
    workdir: Path,
    duration: float,
    connections: int,
    threads: int,
    headers: Sequence[str] = (),
    pool: Path | None = None,
    timeout: float = 10.0,
) -> dict:
    """One wrk run; returns requests/s, latency percentiles (ms), errors and the raw numbers."""
    script = workdir / ("wrk_pool.lua" if pool else "wrk_plain.lua")
    script.write_text((POOL if pool else "") + REPORT)
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(round(duration), 1)}s",
        f"--timeout={int(timeout)}s",
        "-s",
        str(script),
    ]
    for header in headers:
        command += ["-H", header]
    command.append(url)
    env = {"BENCH_THREADS": str(threads), "PATH": "/usr/bin:/bin"}
    if pool:
        env["BENCH_POOL"] = str(pool)
    completed = subprocess.run(  # noqa: S603 - our own command line
        command, capture_output=True, text=True, env=env, timeout=duration + 120, check=False
    )
    line = next(
        (x for x in completed.stdout.splitlines() if x.startswith("BENCH_JSON ")),
        None,
    )
    if completed.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({completed.returncode}): {completed.stderr or completed.stdout}"
        )
    raw = json.loads(line[len("BENCH_JSON ") :])
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in raw if k.startswith("errors_"))
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 3),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "ok_rps": round((raw["requests"] - raw["errors_status"]) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "mean_ms": round(raw["mean_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "non_2xx_3xx": raw["errors_status"],
        "socket_errors": errors - raw["errors_status"],
        "wrapped": raw["wrapped"],
        "connections": connections,
        "threads": threads,
    }
