"""`summary.json` at a chain's size on PostgreSQL, and `rebuild_rollups` for a year.

A throwaway database is migrated and loaded by `bench.dataset.load_chain` (1,000,000 members,
5,000,000 sales over two years, 40 stores; `BENCH_REPORT_MEMBERS` / `BENCH_REPORT_SALES` to
change). Then, in a fresh `manage.py shell` process, a Marketing user signed in with Django's
test client asks for `/admin/reports/summary.json` for the last 30 and 365 days, for all stores
and for one store, three times each (median reported): first with no rollups (every day read
from the raw tables), then after `manage.py rebuild_rollups` for the last 365 days (timed).

Reproduce alone: `.venv/bin/python bench/run.py reports`."""

from __future__ import annotations

import datetime
import json
import os
import time
import uuid

from bench.dataset import load_chain
from bench.harness import bench_env, manage, pg_database

MEMBERS = int(os.environ.get("BENCH_REPORT_MEMBERS", "1000000"))
SALES = int(os.environ.get("BENCH_REPORT_SALES", "5000000"))

MEASURE = """
import datetime, json, statistics, time
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from reports.figures import local_today

User = get_user_model()
user = User.objects.filter(username="bench-marketing").first()
if user is None:
    user = User.objects.create_user("bench-marketing", password="bench-only-pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Marketing"))
client = Client(HTTP_HOST="localhost")
client.force_login(user)
today = local_today()
results = {}
for days in (30, 365):
    for label, extra in (("all stores", {}), ("one store", {"store": "PHO-HN01"})):
        params = {"from": (today - datetime.timedelta(days=days - 1)).isoformat(), "to": today.isoformat(), **extra}
        times = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get("/admin/reports/summary.json", params)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:500]
        results[f"{days} days, {label}"] = {"median": statistics.median(times), "runs": times,
                                            "net_sales": response.json()["net_sales"]}
print("RESULT " + json.dumps(results))
"""


def _measure(env: dict[str, str]) -> dict:
    out = manage(env, "shell", "-c", MEASURE, capture=True)
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def run() -> str:
    name = f"loyalty_bench_reports_{uuid.uuid4().hex[:8]}"
    with pg_database(name) as url:
        env = bench_env(url)
        manage(env, "migrate", "--noinput", "-v0")
        loaded = load_chain(url, env, members=MEMBERS, sales=SALES)
        raw = _measure(env)
        out = manage(env, "shell", "-c", "from reports.figures import local_today; print(local_today())", capture=True)
        today = out.strip().splitlines()[-1]
        end = datetime.date.fromisoformat(today)
        started = time.perf_counter()
        manage(
            env,
            "rebuild_rollups",
            "--from",
            (end - datetime.timedelta(days=365)).isoformat(),
            "--to",
            (end - datetime.timedelta(days=1)).isoformat(),
        )
        rebuild_seconds = time.perf_counter() - started
        rolled = _measure(env)
    lines = [
        "## Reports: summary.json and rebuild_rollups at 1,000,000 members / 5,000,000 sales",
        "",
        "Command: `.venv/bin/python bench/run.py reports` "
        f"({MEMBERS:,} members, {SALES:,} sales over two years, 40 stores, PostgreSQL).",
        "",
        "Load (bench/dataset.py `load_chain`): "
        + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in loaded.items())
        + ".",
        "",
        f"`rebuild_rollups` for the last 365 days: **{rebuild_seconds:.1f} s** (one process, including Django start).",
        "",
        "| summary.json (Django test client, signed in) | raw tables only: median of 3 | with rollups: median of 3 |",
        "| --- | --- | --- |",
    ]
    for case, result in rolled.items():
        ok = "≤ 1 s" if result["median"] <= 1 else "**over 1 s**"
        assert raw[case]["net_sales"] == result["net_sales"], case  # the rollups change no figure
        lines.append(f"| {case} | {raw[case]['median'] * 1000:.0f} ms | {result['median'] * 1000:.0f} ms ({ok}) |")
    return "\n".join(lines)
