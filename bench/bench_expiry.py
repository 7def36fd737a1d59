"""The scheduled expiry jobs at size on PostgreSQL (issue 18's sizing: "each scheduled job"):
`expire_points`, the vouchers' expiry (`vouchers.services.vouchers_expire`, the beat task
`expire_vouchers`) and `send_expiry_reminders`.

A throwaway database is migrated and loaded by `bench.dataset.load_chain` with earn lots
(`BENCH_EXPIRY_MEMBERS` members, default 40,000; `BENCH_EXPIRY_SALES` sales, default 160,000,
over two years: the earn lots of the first year are due, as on a day when a year's backlog is
caught up, so every figure is a throughput, not a typical day), then each job runs once in its
own `manage.py` process (Django start included) and is timed; the points job's own count of
lots and members gives the rate. The demo's message templates are loaded and every member has
SMS consent, so the reminders are real messages, enqueued to a real Redis broker (no worker).

Reproduce alone: `.venv/bin/python bench/run.py expiry`."""

from __future__ import annotations

import os
import time
import uuid

from bench.dataset import load_chain
from bench.harness import bench_env, flush_broker, manage, pg_database

MEMBERS = int(os.environ.get("BENCH_EXPIRY_MEMBERS", "40000"))
SALES = int(os.environ.get("BENCH_EXPIRY_SALES", "160000"))

MESSAGING = """
from django.db import connection
from notifications.demo import demo_notifications_load
demo_notifications_load()
with connection.cursor() as cursor:
    cursor.execute("UPDATE members_member SET consent_sms_at = enrolled_at")
"""

VOUCHERS = """
import time
from vouchers.models import Voucher
from vouchers.services import vouchers_expire
due = Voucher.objects.filter(status="issued").count()
started = time.perf_counter()
expired = vouchers_expire()
print("RESULT", expired, due, time.perf_counter() - started)
"""


def _timed(env, *args) -> tuple[float, str]:
    started = time.perf_counter()
    out = manage(env, *args, capture=True)
    return time.perf_counter() - started, out.strip().splitlines()[-1] if out.strip() else ""


def run() -> str:
    with pg_database(f"loyalty_bench_expiry_{uuid.uuid4().hex[:8]}") as url:
        env = bench_env(url)
        manage(env, "migrate", "--noinput", "-v0")
        loaded = load_chain(url, env, members=MEMBERS, sales=SALES, vouchers=MEMBERS // 4, earn_lots=True)
        manage(env, "shell", "-c", MESSAGING)
        reminders_seconds, reminders_out = _timed(env, "send_expiry_reminders")
        points_seconds, points_out = _timed(env, "expire_points")
        again_seconds, again_out = _timed(env, "expire_points")
        out = manage(env, "shell", "-c", VOUCHERS, capture=True)
        line = next(line for line in out.splitlines() if line.startswith("RESULT "))
        _, vouchers_expired, vouchers_issued, vouchers_seconds = line.split()
        flush_broker(env)
    lots = members = 0
    digits = [int(word.replace(",", "").replace(".", "")) for word in points_out.split() if word[:1].isdigit()]
    if len(digits) >= 3:
        _points, lots, members = digits[:3]
    load = os.getloadavg()
    return "\n".join(
        [
            "## Expiry jobs: points, vouchers, reminders (PostgreSQL)",
            "",
            f"Command: `.venv/bin/python bench/run.py expiry` ({MEMBERS:,} members, {SALES:,} sales over two years "
            "with an earn lot each, the first year's lots due). Load: "
            + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in loaded.items())
            + f". Load average at the end: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}.",
            "",
            "| job (one `manage.py` process each, Django start included) | s | output |",
            "| --- | ---: | --- |",
            f"| `send_expiry_reminders` (the day's reminders, enqueued) | {reminders_seconds:.1f} | {reminders_out} |",
            f"| `expire_points` (a year's backlog) | {points_seconds:.1f} | {points_out} |",
            f"| `expire_points` again the same day (nothing left) | {again_seconds:.1f} | {again_out} |",
            f"| `vouchers_expire` ({int(vouchers_issued):,} issued vouchers) | {float(vouchers_seconds):.1f} | "
            f"{int(vouchers_expired):,} expired |",
            "",
            (
                f"Points expiry rate: {members / points_seconds:,.0f} members/s, {lots / points_seconds:,.0f} lots/s "
                "(one transaction per member)."
                if members and points_seconds
                else "Points expiry: no count read from the command's output."
            ),
        ]
    )
