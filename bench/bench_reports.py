"""`summary.json` at a chain's size on PostgreSQL, and `rebuild_rollups` for a year.

A throwaway database is migrated and loaded by `bench.dataset.load_chain` (1,000,000 members,
5,000,000 sales over two years, 40 stores; `BENCH_REPORT_MEMBERS` / `BENCH_REPORT_SALES` to
change). Then, in a fresh `manage.py shell` process, a Marketing user signed in with Django's
test client asks for `/admin/reports/summary.json` for the last 30 and 365 days, for all stores
and for one store, three times each (median reported): first with no rollups (every day read
from the raw tables), then after `manage.py rebuild_rollups` for the last 365 days (timed).

Also the admin's member page with its profile panel (`/admin/members/member/<id>/change/`, as
the same Marketing user) for the member with the first member sale, three times (median).

`BENCH_REPORTS_DB=<name or URL>` reuses a database `load_chain` already loaded (migrated, kept);
`BENCH_REPORTS_SKIP_RAW=1` skips the raw-tables-only pass (minutes at this size; it also needs
the rolled-up days forgotten, which this bench does by deleting `RollupDay` rows first).

Reproduce alone: `.venv/bin/python bench/run.py reports`."""

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
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT member_id FROM pos_sale WHERE member_id IS NOT NULL ORDER BY id LIMIT 1")
    member_id = cursor.fetchone()[0]
times = []
for _ in range(3):
    started = time.perf_counter()
    response = client.get(f"/admin/members/member/{member_id}/change/")
    times.append(time.perf_counter() - started)
    assert response.status_code == 200 and b"profile" in response.content.lower(), response.status_code
results["member page"] = {"median": statistics.median(times), "runs": times, "net_sales": None}
print("RESULT " + json.dumps(results))
"""

FORGET = "from reports.models import RollupDay; RollupDay.objects.all().delete()"


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _measure(env: dict[str, str]) -> dict:
    out = manage(env, "shell", "-c", MEASURE, capture=True)
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def run() -> str:
    skip_raw = os.environ.get("BENCH_REPORTS_SKIP_RAW") == "1"
    with chain_database("loyalty_bench_reports", members=MEMBERS, sales=SALES) as (_url, env, loaded):
        manage(env, "collectstatic", "--noinput", "-v0")  # production settings: hashed static names
        raw = None
        if not skip_raw:
            manage(env, "shell", "-c", FORGET)
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
        load_before = load_average()
        rolled = _measure(env)
        load_after = load_average()
    member_page = rolled.pop("member page")
    lines = [
        "## Reports: summary.json and rebuild_rollups at 1,000,000 members / 5,000,000 sales",
        "",
        "Command: `.venv/bin/python bench/run.py reports` "
        f"({MEMBERS:,} members, {SALES:,} sales over two years, 40 stores, PostgreSQL).",
        "",
        (
            "Load (bench/dataset.py `load_chain`): "
            + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in loaded.items())
            + "."
            if loaded
            else "Database loaded beforehand by `load_chain` and reused (`BENCH_REPORTS_DB`)."
        ),
        "",
        f"`rebuild_rollups` for the last 365 days: **{rebuild_seconds:.1f} s** (one process, including Django start; "
        "the sales, points, enrolment and voucher rollups and the member activity structure).",
        "",
        f"Machine shared with other jobs: load average (1, 5, 15 min) {load_before} before the timed requests, "
        f"{load_after} after.",
        "",
        "| summary.json (Django test client, signed in) | raw tables only: median of 3 | with rollups: median of 3 |",
        "| --- | --- | --- |",
    ]
    for case, result in rolled.items():
        ok = "≤ 1 s" if result["median"] <= 1 else "**over 1 s**"
        if raw is not None:
            assert raw[case]["net_sales"] == result["net_sales"], case  # the rollups change no figure
        before = f"{raw[case]['median'] * 1000:.0f} ms" if raw is not None else "not run"
        runs = ", ".join(f"{t * 1000:.0f}" for t in result["runs"])
        lines.append(f"| {case} | {before} | {result['median'] * 1000:.0f} ms ({ok}; runs {runs}) |")
    ok = "≤ 300 ms" if member_page["median"] <= 0.3 else "**over 300 ms**"
    runs = ", ".join(f"{t * 1000:.0f}" for t in member_page["runs"])
    lines += [
        "",
        f"Member page with its profile (`/admin/members/member/<id>/change/`, Marketing): "
        f"**{member_page['median'] * 1000:.0f} ms** median of 3 ({ok}; runs {runs} ms).",
    ]
    return "\n".join(lines)
