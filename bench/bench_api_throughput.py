"""POS API throughput on PostgreSQL behind gunicorn, driven by concurrent terminals.

Baseline: a bare endpoint that authenticates the terminal and inserts one row. Scenarios are
added as the API grows; the sale scenario (issue 8) is compared with the baseline in the same
run. Reproduce alone: `.venv/bin/python bench/run.py api_throughput`."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

from bench.harness import (
    PYTHON,
    ROOT,
    TABLE_HEADER,
    LoadResult,
    bench_env,
    flush_broker,
    gunicorn,
    load,
    manage,
    pg_database,
)

TERMINALS = int(os.environ.get("BENCH_TERMINALS", "8"))
PER_TERMINAL = int(os.environ.get("BENCH_REQUESTS_PER_TERMINAL", "300"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
# The scenarios take turns, a slice of the requests each round, so that a machine whose speed
# drifts during the run (a shared VM does) slows every scenario alike.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def _terminal_keys(env, count: int) -> list[str]:
    keys = []
    for i in range(count):
        out = manage(env, "create_terminal", "PHO-HN01", f"Bench {i}", capture=True)
        keys.append(out.strip().splitlines()[-1])
    return keys


class _offset:
    """A request factory whose sequence numbers start at `start` (receipts stay unique across
    rounds); picklable for the load generator's processes."""

    def __init__(self, factory, start: int) -> None:
        self.factory, self.start = factory, start

    def __call__(self, index: int, sequence: int):
        return self.factory(index, self.start + sequence)


def bare(index: int, sequence: int):
    return "POST", "/bench/bare", {"n": sequence}, {}


SCENARIOS = [("bare: authenticate + insert one row", bare)]


def scenarios():
    """The baseline plus whatever the API offers by now (extended by later issues)."""
    found = list(SCENARIOS)
    try:
        from bench import scenarios_pos
    except ImportError:
        return found
    return found + scenarios_pos.SCENARIOS


_COUNT = """
import json, sys
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
key, requests = json.loads(sys.stdin.read())
client = Client(HTTP_AUTHORIZATION="Api-Key " + key, SERVER_NAME="127.0.0.1")
counts = []
for method, path, body, headers in requests:
    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    with CaptureQueriesContext(connection) as queries:
        response = client.generic(method, path, json.dumps(body), content_type="application/json", **extra)
    assert response.status_code < 400, response.content
    counts.append(len(queries))
print(json.dumps(counts))
"""


def _statements_per_request(env, key: str, factories) -> list[int]:
    """How many SQL statements one more request of each scenario costs."""
    requests = [factory(0, 2 * 10**6) for _label, factory in factories]
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", _COUNT],
        cwd=ROOT,
        env=env,
        input=json.dumps([key, requests]),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def run() -> str:
    name = f"loyalty_bench_{uuid.uuid4().hex[:8]}"
    with pg_database(name) as url:
        env = bench_env(url)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "load_demo", capture=True)
        keys = _terminal_keys(env, TERMINALS)
        rounds: list[list[LoadResult]] = []
        with gunicorn(env, workers=WORKERS) as base:
            factories = []
            for label, scenario in scenarios():
                factory = scenario.bind(scenario.setup(env, base, keys)) if hasattr(scenario, "bind") else scenario
                # A short warm-up so every worker has its connection and imports (its own
                # receipts and keys: the measured requests must not replay them).
                load("warm-up", base, keys, _offset(factory, 10**6), per_client=10)
                factories.append((label, factory))
            per_round = max(1, PER_TERMINAL // ROUNDS)
            for number in range(ROUNDS):
                rounds.append(
                    [
                        load(label, base, keys, _offset(factory, number * per_round), per_client=per_round)
                        for label, factory in factories
                    ]
                )
            statements = _statements_per_request(env, keys[0], factories)
        flush_broker(env)
        results = [LoadResult.combine([r[i] for r in rounds]) for i in range(len(factories))]
    lines = [
        "## POS API throughput (PostgreSQL, gunicorn)",
        "",
        f"`.venv/bin/python bench/run.py api_throughput` — {TERMINALS} terminals, each a process "
        f"sending {per_round * ROUNDS} requests per scenario in sequence over keep-alive, the scenarios "
        f"taking turns in {ROUNDS} rounds; gunicorn with {WORKERS} sync workers; Celery tasks go to a "
        "Redis broker and the cache is Redis (production shape); client and server share the machine.",
        "",
        TABLE_HEADER,
        *[r.row() for r in results],
    ]
    baseline = results[0].throughput
    lines.append("")
    for i, r in enumerate(results[1:], start=1):
        each = ", ".join(f"{rnd[i].throughput / rnd[0].throughput:.0%}" for rnd in rounds)
        lines.append(f"- {r.name}: {r.throughput / baseline:.0%} of the baseline throughput (round by round: {each}).")
    lines.append(
        "- SQL statements per request (one more request of each scenario, through Django's test client "
        "against the same database, counted with `CaptureQueriesContext`, BEGIN/COMMIT/SAVEPOINT included): "
        + ", ".join(f"{label}: {count}" for (label, _f), count in zip(factories, statements, strict=True))
        + "."
    )
    statuses = {r.name: r.statuses for r in results}
    lines += ["", f"Status codes: `{statuses}`"]
    return "\n".join(lines)
