"""Webhooks (issue 17): delivery throughput to a local receiver, and the sale path's throughput
with webhooks on vs off in the same run.

1. The sale: the API benchmark's sale scenario behind gunicorn (production shape: Redis broker,
   Redis cache, no Celery worker consuming during the run), in rounds that alternate "off" (no
   active endpoint: the sale writes its events, nothing is queued) and "on" (one active endpoint
   subscribed to every kind: after commit each sale also queues `webhooks.deliver`). The order
   flips every round so a drifting machine slows both alike.
2. Delivery: 10,000 events recorded in one transaction, then delivered by `deliveries_run`
   (fan-out, claim, signed POST, attempt logged) to a receiver in another process that checks
   nothing but counts; once by one process, once by two processes sharing the work
   (SKIP LOCKED claims).
Reproduce alone: `.venv/bin/python bench/run.py webhooks`."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.bench_api_throughput import _offset, _terminal_keys
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
from bench.scenarios_pos import SaleScenario

TERMINALS = int(os.environ.get("BENCH_TERMINALS", "4"))
PER_TERMINAL = int(os.environ.get("BENCH_REQUESTS_PER_TERMINAL", "240"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
EVENTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "10000"))
RECEIVER_PORT = 8941
CACHE_TTL_WAIT = 11  # webhooks.dispatch.ACTIVE_TTL + 1: every gunicorn worker sees the switch


def _receiver(port: int, counter) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy would

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with counter.get_lock():
                counter.value += 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _shell(env, code: str) -> dict:
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


_SWITCH = """
import json
from webhooks.models import WebhookEndpoint
from webhooks.services import endpoint_create, endpoint_update
endpoint = WebhookEndpoint.objects.filter(name="bench").first()
if endpoint is None:
    endpoint, _ = endpoint_create(name="bench", url="{url}", is_active={on})
else:
    endpoint_update(endpoint=endpoint, name="bench", url="{url}", event_kinds=[], is_active={on})
print(json.dumps({{"id": endpoint.pk}}))
"""

_RECORD = """
import json
from django.db import transaction
from django.utils import timezone
from loyalty_site.core.events import EventKind, EventSpec, record_events_bulk
from webhooks.services import deliveries_run
deliveries_run(seconds=600)  # whatever the sale rounds left: not timed
now = timezone.now()
with transaction.atomic():
    record_events_bulk(
        EventSpec(EventKind.POINTS_EARNED, "ledger_entry", n, n % 200 + 1,
                  {{"entry_id": n, "member_id": n % 200 + 1, "points": 6, "balance_after": 112,
                    "reference": f"bench:{{n}}", "cause_kind": "sale", "occurred_at": now}}, now)
        for n in range({count})
    )
print(json.dumps({{"recorded": {count}}}))
"""

_DELIVER = """
import json, time
from webhooks.services import deliveries_run
started = time.perf_counter()
result = deliveries_run(seconds=900)
print(json.dumps({"seconds": time.perf_counter() - started, "attempted": result.attempted,
                  "succeeded": result.succeeded}))
"""

_STATUS = """
import json
from django.db.models import Count
from webhooks.models import WebhookDelivery
print(json.dumps(dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("pk")))))
"""


def _deliver(env, processes: int, counter) -> dict:
    before = counter.value
    started = time.perf_counter()
    runs = [
        subprocess.Popen(
            [PYTHON, "manage.py", "shell", "-c", _DELIVER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    outputs = [json.loads(run.communicate()[0].strip().splitlines()[-1]) for run in runs]
    wall = time.perf_counter() - started
    slowest = max(o["seconds"] for o in outputs)
    return {
        "processes": processes,
        "received": counter.value - before,
        "succeeded": sum(o["succeeded"] for o in outputs),
        "seconds": slowest,
        "wall": wall,
    }


def _loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run() -> str:
    load_start = _loadavg()
    counter = multiprocessing.Value("i", 0)
    receiver = multiprocessing.get_context("fork").Process(target=_receiver, args=(RECEIVER_PORT, counter), daemon=True)
    receiver.start()
    url = f"http://127.0.0.1:{RECEIVER_PORT}/hooks"
    name = f"loyalty_bench_{uuid.uuid4().hex[:8]}"
    try:
        with pg_database(name) as db:
            env = bench_env(db, WEBHOOKS_ALLOW_PRIVATE_ADDRESSES="true")
            manage(env, "migrate", "--noinput", "-v0")
            manage(env, "load_demo", capture=True)
            keys = _terminal_keys(env, TERMINALS)
            _shell(env, _SWITCH.format(url=url, on=False))
            scenario = SaleScenario()
            per_round = max(1, PER_TERMINAL // ROUNDS)
            results: dict[str, list[LoadResult]] = {"off": [], "on": []}
            with gunicorn(env, workers=WORKERS) as base:
                factory = scenario.bind(scenario.setup(env, base, keys))
                load("warm-up", base, keys, _offset(factory, 10**6), per_client=10)
                for number in range(ROUNDS):
                    order = ("off", "on") if number % 2 == 0 else ("on", "off")
                    for position, state in enumerate(order):
                        _shell(env, _SWITCH.format(url=url, on=state == "on"))
                        time.sleep(CACHE_TTL_WAIT)
                        start = (number * 2 + position) * per_round
                        results[state].append(
                            load(f"sale, webhooks {state}", base, keys, _offset(factory, start), per_client=per_round)
                        )
            sales_received = counter.value
            _shell(env, _SWITCH.format(url=url, on=True))
            deliveries = []
            for processes in (1, 2):
                _shell(env, _RECORD.format(count=EVENTS))
                deliveries.append(_deliver(env, processes, counter))
            statuses = _shell(env, _STATUS)
            flush_broker(env)
    finally:
        receiver.terminate()
        receiver.join(5)
    load_end = _loadavg()

    off = LoadResult.combine(results["off"])
    on = LoadResult.combine(results["on"])
    ratio = on.throughput / off.throughput if off.throughput else float("nan")
    each = ", ".join(f"{b.throughput / a.throughput:.0%}" for a, b in zip(results["off"], results["on"], strict=True))
    lines = [
        "## Webhooks: delivery throughput and the sale with webhooks on vs off (PostgreSQL)",
        "",
        f"`.venv/bin/python bench/run.py webhooks` — load average at start {load_start}, at end {load_end} "
        "(the machine is shared). The sale: the API benchmark's sale scenario, "
        f"{TERMINALS} terminals × {per_round} sales per round, {ROUNDS} rounds alternating off/on (order flipped "
        f"every round), gunicorn with {WORKERS} sync workers, Redis broker and cache, no Celery worker consuming "
        "during the load (the 'on' sale pays for its events and for queueing `webhooks.deliver` after commit).",
        "",
        TABLE_HEADER,
        off.row(),
        on.row(),
        "",
        f"- Sale throughput with webhooks on: **{ratio:.0%}** of off (round by round: {each}); the target is "
        "no more than 10 % slower.",
        f"- During the sale rounds the receiver got {sales_received} requests (nothing is delivered without a "
        "worker; the deliveries below include the backlog they left, drained untimed first).",
        "",
        f"Delivery of {EVENTS:,} events to a local receiver (another process, HTTP/1.1 keep-alive), by "
        "`webhooks.services.deliveries_run` (fan-out, claim, signed POST, attempt logged):",
        "",
        "| delivering processes | delivered | seconds | events/s |",
        "| ---: | ---: | ---: | ---: |",
        *[
            f"| {d['processes']} | {d['succeeded']:,} | {d['seconds']:.1f} | {d['succeeded'] / d['seconds']:.0f} |"
            for d in deliveries
        ],
        "",
        f"Delivery log at the end: `{statuses}`.",
    ]
    return "\n".join(lines)
