"""Shared pieces for benchmarks: a throwaway PostgreSQL database, manage.py, gunicorn, and a
multi-process HTTP load generator with keep-alive connections and latency percentiles."""

from __future__ import annotations

import contextlib
import http.client
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _psql(sql: str) -> None:
    subprocess.run(["psql", ADMIN_URL, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)


@contextlib.contextmanager
def pg_database(name: str) -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped afterwards; yields its URL."""
    _psql(f'DROP DATABASE IF EXISTS "{name}"')
    _psql(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "CACHE_URL"}}
    # The production shape: tasks (e.g. the after-sale message) go to a real Redis broker rather
    # than running eagerly inside the request. No worker consumes them during the run.
    env["CELERY_BROKER_URL"] = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    # Production shape again: the cache (throttling, cached settings and promotion rules) is
    # Redis, shared by every gunicorn worker, as README's deployment section says.
    env["CACHE_URL"] = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/12")
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url,
        SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=False, capture_output=capture, text=True
    )
    if result.returncode != 0:
        # A captured failure would otherwise lose the command's own traceback.
        sys.stderr.write(result.stderr or "")
        result.check_returncode()
    return result.stdout if capture else ""


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, port: int = 8931, workers: int = 4) -> Iterator[str]:
    gunicorn_bin = str(Path(PYTHON).with_name("gunicorn"))
    process = subprocess.Popen(
        [
            gunicorn_bin,
            "loyalty_site.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@dataclass
class LoadResult:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]

    @classmethod
    def combine(cls, parts: list[LoadResult]) -> LoadResult:
        """Several loads of one scenario as one: requests and seconds add up."""
        statuses: dict[int, int] = {}
        for part in parts:
            for code, n in part.statuses.items():
                statuses[code] = statuses.get(code, 0) + n
        return cls(
            parts[0].name,
            sum(p.requests for p in parts),
            sum(p.errors for p in parts),
            sum(p.seconds for p in parts),
            [ms for p in parts for ms in p.latencies_ms],
            statuses,
        )

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def row(self) -> str:
        return (
            f"| {self.name} | {self.requests} | {self.errors} | {self.throughput:.0f} | "
            f"{self.percentile(50):.1f} | {self.percentile(95):.1f} | {self.percentile(99):.1f} |"
        )


TABLE_HEADER = (
    "| scenario | requests | errors | req/s | p50 ms | p95 ms | p99 ms |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
)

# A request factory: (client index, sequence number) -> (method, path, body dict or None, headers)
RequestFactory = Callable[[int, int], tuple[str, str, dict | None, dict[str, str]]]


def _client(args) -> tuple[list[float], dict[int, int], int]:
    host, port, key, factory, index, count, deadline = args
    connection = http.client.HTTPConnection(host, port, timeout=30)
    latencies, statuses, errors = [], {}, 0
    for sequence in range(count):
        if time.monotonic() > deadline:
            break
        method, path, body, headers = factory(index, sequence)
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json", **headers}
        started = time.perf_counter()
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
            status = 599
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        errors += status >= 400
    connection.close()
    return latencies, statuses, errors


def load(
    name: str, base: str, keys: list[str], factory: RequestFactory, *, per_client: int, max_seconds: float = 120
) -> LoadResult:
    """Each key is one terminal driven by its own process, `per_client` requests in sequence."""
    host, port = base.removeprefix("http://").split(":")
    deadline = time.monotonic() + max_seconds
    jobs = [(host, int(port), key, factory, i, per_client, deadline) for i, key in enumerate(keys)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(len(keys)) as pool:
        outcomes = pool.map(_client, jobs)
    seconds = time.perf_counter() - started
    latencies = [ms for outcome in outcomes for ms in outcome[0]]
    statuses: dict[int, int] = {}
    for _, st, _ in outcomes:
        for code, n in st.items():
            statuses[code] = statuses.get(code, 0) + n
    return LoadResult(name, len(latencies), sum(o[2] for o in outcomes), seconds, latencies, statuses)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def flush_broker(env: dict[str, str]) -> None:
    """Drop the tasks and cache entries a benchmark left in its Redis databases."""
    for name in ("CELERY_BROKER_URL", "CACHE_URL"):
        url = env.get(name, "")
        if url.startswith("redis://"):
            subprocess.run(["redis-cli", "-u", url, "FLUSHDB"], check=False, capture_output=True)
