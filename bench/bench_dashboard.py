"""The dashboard (the admin's home page) at a chain's size on PostgreSQL (issue 15: ≤ 1 s for 30
and 365 days, one store and all stores). The page reads the period's figures, the previous
period's and the daily series: about three times what one `summary.json` reads.

A throwaway database is migrated and loaded by `bench.dataset.load_chain` (1,000,000 members,
5,000,000 sales; `BENCH_REPORT_MEMBERS` / `BENCH_REPORT_SALES` to change), the rollups are
rebuilt for the last 730 days (the previous period of 365 days reaches that far back), then in
a fresh `manage.py shell` process a Marketing user signed in with Django's test client opens
`/admin/` three times per case (median reported).
`BENCH_REPORTS_DB=<name or URL>` reuses a database `load_chain` already loaded (migrated, kept;
the rollups are rebuilt only if some of the 730 days are not rolled up).
Reproduce alone: `.venv/bin/python bench/run.py dashboard`."""

from __future__ import annotations

import datetime
import json
import os
import time

from bench.dataset import chain_database
from bench.harness import manage

MEMBERS = int(os.environ.get("BENCH_REPORT_MEMBERS", "1000000"))
SALES = int(os.environ.get("BENCH_REPORT_SALES", "5000000"))

MEASURE = """
import json, statistics, time
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
User = get_user_model()
user = User.objects.filter(username="bench-dashboard").first()
if user is None:
    user = User.objects.create_user("bench-dashboard", password="bench-only-pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Marketing"))
client = Client(HTTP_HOST="localhost")
client.force_login(user)
results = {}
for days in (30, 365):
    for label, extra in (("all stores", {}), ("one store", {"store": "PHO-HN01"})):
        times = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get("/admin/", {"days": days, **extra})
            times.append(time.perf_counter() - started)
            assert response.status_code == 200 and b"dashboard-data" in response.content, response.status_code
        results[f"{days} days, {label}"] = {"median": statistics.median(times), "runs": times,
                                            "bytes": len(response.content)}
print("RESULT " + json.dumps(results))
"""


ROLLED = """
import datetime
from reports.figures import local_today
from reports.models import RollupDay
today = local_today()  # the rebuild's range: the last 730 closed days
print("ROLLED", RollupDay.objects.filter(day__gte=today - datetime.timedelta(days=730), day__lt=today).count())
"""


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run() -> str:
    with chain_database("loyalty_bench_dashboard", members=MEMBERS, sales=SALES) as (_url, env, loaded):
        manage(env, "collectstatic", "--noinput", "-v0")  # production settings: hashed static names
        out = manage(env, "shell", "-c", "from reports.figures import local_today; print(local_today())", capture=True)
        end = datetime.date.fromisoformat(out.strip().splitlines()[-1])
        rolled = manage(env, "shell", "-c", ROLLED, capture=True)
        rebuild_seconds = None
        if int(next(line for line in rolled.splitlines() if line.startswith("ROLLED ")).split()[1]) < 730:
            started = time.perf_counter()
            first = (end - datetime.timedelta(days=730)).isoformat()
            manage(env, "rebuild_rollups", "--from", first, "--to", (end - datetime.timedelta(days=1)).isoformat())
            rebuild_seconds = time.perf_counter() - started
        load_before = load_average()
        out = manage(env, "shell", "-c", MEASURE, capture=True)
        load_after = load_average()
        results = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT ")).split(" ", 1)[1])
    setup = []
    if loaded:
        setup.append("Load: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in loaded.items()))
    else:
        setup.append("Database loaded beforehand by `load_chain` and reused (`BENCH_REPORTS_DB`)")
    if rebuild_seconds is not None:
        setup.append(f"`rebuild_rollups` for the last 730 days: {rebuild_seconds:.1f} s")
    else:
        setup.append("the last 730 days were already rolled up")
    lines = [
        "## Dashboard (admin home page) at 1,000,000 members / 5,000,000 sales (PostgreSQL)",
        "",
        "Command: `.venv/bin/python bench/run.py dashboard` "
        f"({MEMBERS:,} members, {SALES:,} sales over two years, PostgreSQL, production settings). "
        "Each page: the period's figures, the previous period's, the daily series (one read of the "
        "additive figures and one count of active members for both periods), the form's store and "
        "brand lists and Django's app list.",
        "",
        "; ".join(setup) + ".",
        "",
        f"Machine shared with other jobs: load average (1, 5, 15 min) {load_before} before the timed requests, "
        f"{load_after} after.",
        "",
        "| /admin/ as Marketing (Django test client) | median of 3 | runs | HTML KB |",
        "| --- | ---: | --- | ---: |",
    ]
    for case, result in results.items():
        ok = "≤ 1 s" if result["median"] <= 1 else "**over 1 s**"
        runs = ", ".join(f"{seconds * 1000:.0f}" for seconds in result["runs"])
        lines.append(f"| {case} | {result['median'] * 1000:.0f} ms ({ok}) | {runs} ms | {result['bytes'] / 1024:.0f} |")
    return "\n".join(lines)
