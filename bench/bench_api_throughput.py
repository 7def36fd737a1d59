"""POS API throughput on PostgreSQL behind gunicorn, driven by concurrent terminals.

Baseline: a bare endpoint that authenticates the terminal and inserts one row. Scenarios are
added as the API grows; the sale scenario (issue 8) is compared with the baseline in the same
run. Reproduce alone: `.venv/bin/python bench/run.py api_throughput`."""

from __future__ import annotations

import os
import uuid

from bench.harness import TABLE_HEADER, bench_env, flush_broker, gunicorn, load, manage, pg_database

TERMINALS = int(os.environ.get("BENCH_TERMINALS", "8"))
PER_TERMINAL = int(os.environ.get("BENCH_REQUESTS_PER_TERMINAL", "300"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))


def _terminal_keys(env, count: int) -> list[str]:
    keys = []
    for i in range(count):
        out = manage(env, "create_terminal", "PHO-HN01", f"Bench {i}", capture=True)
        keys.append(out.strip().splitlines()[-1])
    return keys


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


def run() -> str:
    name = f"loyalty_bench_{uuid.uuid4().hex[:8]}"
    with pg_database(name) as url:
        env = bench_env(url)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "load_demo", capture=True)
        keys = _terminal_keys(env, TERMINALS)
        results = []
        with gunicorn(env, workers=WORKERS) as base:
            for label, scenario in scenarios():
                factory = scenario.bind(scenario.setup(env, base, keys)) if hasattr(scenario, "bind") else scenario
                # A short warm-up so every worker has its connection and imports.
                load("warm-up", base, keys, factory, per_client=10)
                results.append(load(label, base, keys, factory, per_client=PER_TERMINAL))
        flush_broker(env)
    lines = [
        "## POS API throughput (PostgreSQL, gunicorn)",
        "",
        f"`.venv/bin/python bench/run.py api_throughput` — {TERMINALS} terminals, each a process "
        f"sending {PER_TERMINAL} requests in sequence over keep-alive; gunicorn with {WORKERS} sync "
        "workers; Celery tasks go to a Redis broker (production shape); client and server share the machine.",
        "",
        TABLE_HEADER,
        *[r.row() for r in results],
    ]
    baseline = results[0].throughput
    for r in results[1:]:
        lines.append("")
        lines.append(f"- {r.name}: {r.throughput / baseline:.0%} of the baseline throughput.")
    statuses = {r.name: r.statuses for r in results}
    lines += ["", f"Status codes: `{statuses}`"]
    return "\n".join(lines)
