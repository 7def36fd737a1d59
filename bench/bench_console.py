"""The staff console at a chain's size (issue 18): every admin changelist, the searches staff
type, a member page, and the POS lookup and sale, on PostgreSQL.

Data (bench/dataset.py `load_chain`, set-based): 1,000,000 members, 2,000,000 sales over two
years at 40 stores, about 2,450,000 ledger entries and 2,400,000 point lots (an opening bonus per
member, an earn per member sale), 700,000 tier statuses, 250,000 vouchers, then `VACUUM ANALYZE`
(`BENCH_CONSOLE_MEMBERS` / `BENCH_CONSOLE_SALES` / `BENCH_CONSOLE_VOUCHERS` to change;
`BENCH_CONSOLE_LEDGER_EXTRA=N` adds N staff adjustments to the ledger, e.g. 5,000,000 sales and
4,400,000 extra entries for the issue's 10,000,000-entry size).
Loading takes 10-20 minutes on a busy machine, so `BENCH_CONSOLE_DB=NAME` keeps the database
NAME between runs: created, migrated and loaded the first time, only migrated (the branch's new
migrations, e.g. the search columns, backfill the loaded rows) afterwards; drop it by hand.
Without it a throwaway database is used and dropped.

Measured in one `manage.py shell` process (production settings, `STAFF_OTP_REQUIRED=false`),
signed in as a superuser with Django's test client, median of 5 after one warm-up request:
every changelist of `admin.site._registry`, the members list at page 500, the member searches
(a phone in each form, its last 6 digits, a name with and without accents, a member code), a
member's change page; then the POS lookup by phone and `BENCH_CONSOLE_SALES_N` sales (p50 /
p95) through the test client with a terminal key, and the same lookup and sales on an empty
programme (a second throwaway database: migrated, the demo stores / tiers / rewards only) in the
same run. Targets: worst page ≤ 300 ms, phone search ≤ 50 ms, name search ≤ 300 ms, sale p95
within 1.2x of the empty programme's.

Reproduce alone: `.venv/bin/python bench/run.py console`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid

from bench.dataset import SETUP, load_chain
from bench.harness import ADMIN_URL, bench_env, flush_broker, manage, pg_database

MEMBERS = int(os.environ.get("BENCH_CONSOLE_MEMBERS", "1000000"))
SALES = int(os.environ.get("BENCH_CONSOLE_SALES", "2000000"))
VOUCHERS = int(os.environ.get("BENCH_CONSOLE_VOUCHERS", "250000"))
SALES_N = int(os.environ.get("BENCH_CONSOLE_SALES_N", "200"))
# Ledger entries beyond what the sales make (staff adjustments), for the 10,000,000-entry size.
LEDGER_EXTRA = int(os.environ.get("BENCH_CONSOLE_LEDGER_EXTRA", "0"))
KEEP_DB = os.environ.get("BENCH_CONSOLE_DB", "")

PAGES = """
import gc, json, statistics, time
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from members.models import Member

User = get_user_model()
user = User.objects.filter(username="bench-admin").first()
if user is None:
    user = User.objects.create_superuser("bench-admin", "bench@example.com", "bench-only-pw")
client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="vi")
client.force_login(user)

def timed(path, params=None):
    client.get(path, params or {})  # warm-up: templates, caches
    gc.collect()  # the pages before leave garbage: not this page's cost
    times = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path, params or {})
            times.append((time.perf_counter() - started) * 1000)
        # A one-row model's list (programme settings...) redirects to its page: timed as such.
        assert response.status_code in (200, 302), (path, params, response.status_code, response.content[:300])
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]), default={"sql": "", "time": "0"})
    return {"ms": statistics.median(times), "queries": len(queries.captured_queries),
            "sql_ms": sum(float(q["time"]) for q in queries.captured_queries) * 1000,
            "body": response.content.decode("utf-8", "replace"),
            "slowest": [float(slowest["time"]) * 1000, slowest["sql"][:160]]}

results = {"pages": [], "searches": []}
for model, model_admin in sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label):
    opts = model._meta
    path = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    r = timed(path)
    r.pop("body")
    results["pages"].append([f"{opts.verbose_name_plural} list ({opts.label})", r])

members_path = reverse("admin:members_member_changelist")
r = timed(members_path, {"p": "500"}); r.pop("body")
results["pages"].append(["members list, page 500", r])
member = Member.objects.get(code="B000500000")
r = timed(reverse("admin:members_member_change", args=[member.pk])); r.pop("body")
results["pages"].append(["member change page", r])

national = member.phone.replace("+84", "0")

def bare(name):  # lower case without accents, the way staff type in a hurry
    import unicodedata
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
searches = [
    ("phone", "0xxx xxx xxx", national[:4] + " " + national[4:7] + " " + national[7:]),
    ("phone", "0xxxxxxxxx", national),
    ("phone", "xxxxxxxxx (no 0)", national[1:]),
    ("phone", "+84xxxxxxxxx", member.phone),
    ("phone", "last 6 digits", national[-6:]),
    ("code", "member code", member.code),
    ("name", "its name with accents", member.name),
    ("name", "its name without accents", bare(member.name)),
    ("name", "a common name (about 0.2 % of members)", "nguyen van an"),
]
def finds(q, body):
    if member.code in body:
        return True
    try:  # a shared name: the member may be beyond the first page
        from members.selectors import member_search
    except ImportError:
        return False
    return member_search(term=q).filter(pk=member.pk).exists()

for kind, label, q in searches:
    r = timed(members_path, {"q": q})
    found = finds(q, r.pop("body"))
    results["searches"].append([kind, f"members, search {label}: {q!r}", r, found])
print("RESULT " + json.dumps(results))
"""

POS = """
import json, statistics, sys, time, uuid
from django.test import Client
from members.models import Member
from stores.services import terminal_create
from stores.models import Store

n = %(n)d
store = Store.objects.get(code="PHO-HN01")
terminal, key = terminal_create(store=store, name="Bench console " + uuid.uuid4().hex[:6])
client = Client(HTTP_AUTHORIZATION="Api-Key " + key, HTTP_HOST="localhost")
members = list(Member.objects.filter(status="active").order_by("?").values_list("pk", "phone")[:n])
run = uuid.uuid4().hex[:6]
lookups, sales = [], []
for i, (pk, phone) in enumerate(members * (n // len(members) + 1)):
    if i >= n:
        break
    started = time.perf_counter()
    response = client.get("/api/pos/v1/members/lookup", {"q": phone.replace("+84", "0")})
    lookups.append((time.perf_counter() - started) * 1000)
    assert response.status_code == 200, response.content[:300]
    body = {"receipt_number": f"C-{run}-{i}", "member": pk, "lines": [
        {"sku": "PHO-GA", "name": "Phở gà", "category": "pho", "quantity": 2, "unit_price": 50000},
        {"sku": "TRA-DA", "name": "Trà đá", "category": "drink", "quantity": 2, "unit_price": 5000}]}
    started = time.perf_counter()
    response = client.post("/api/pos/v1/sales", json.dumps(body), content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY=f"{run}-{i}")
    sales.append((time.perf_counter() - started) * 1000)
    assert response.status_code == 201, response.content[:300]

def pct(values, p):
    ordered = sorted(values[3:])  # the first requests warm the process up
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

print("RESULT " + json.dumps({"lookup": [pct(lookups, 50), pct(lookups, 95)], "sale": [pct(sales, 50), pct(sales, 95)],
                               "n": len(sales) - 3}))
"""


def _result(out: str) -> dict:
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _exists(name: str) -> bool:
    out = subprocess.run(
        ["psql", ADMIN_URL, "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.strip() == "1"


@contextlib.contextmanager
def _chain_database():
    """(url, whether it must be loaded): the kept BENCH_CONSOLE_DB, or a throwaway one."""
    if not KEEP_DB:
        with pg_database(f"loyalty_bench_console_{uuid.uuid4().hex[:8]}") as url:
            yield url, True
        return
    if not _exists(KEEP_DB):
        subprocess.run(["psql", ADMIN_URL, "-q", "-c", f'CREATE DATABASE "{KEEP_DB}"'], check=True)
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + KEEP_DB

    def ask(sql: str) -> str:
        return subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True, check=True).stdout.strip()

    loaded = (
        ask("SELECT to_regclass('members_member') IS NOT NULL") == "t"
        and ask("SELECT EXISTS (SELECT 1 FROM members_member)") == "t"
    )
    yield url, not loaded


def _sizes(url: str) -> dict[str, int]:
    tables = [
        "members_member",
        "pos_sale",
        "members_ledgerentry",
        "members_pointlot",
        "tiers_tierstatus",
        "vouchers_voucher",
    ]
    sql = " UNION ALL ".join(f"SELECT '{t}', reltuples::bigint FROM pg_class WHERE relname = '{t}'" for t in tables)
    out = subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True, check=True).stdout
    return {line.split("|")[0]: int(line.split("|")[1]) for line in out.strip().splitlines()}


def load_only() -> str:
    """Create, migrate and load BENCH_CONSOLE_DB (nothing measured)."""
    with _chain_database() as (url, must_load):
        env = bench_env(url)
        manage(env, "migrate", "--noinput", "-v0")
        if must_load:
            loaded = load_chain(
                url, env, members=MEMBERS, sales=SALES, vouchers=VOUCHERS, earn_lots=True, ledger_extra=LEDGER_EXTRA
            )
            return ", ".join(f"{step} {seconds:.1f} s" for step, seconds in loaded.items())
        return "already loaded"


def run() -> str:
    loaded_note = "reused (BENCH_CONSOLE_DB)"
    with _chain_database() as (url, must_load):
        env = bench_env(url, STAFF_OTP_REQUIRED="false")
        started = time.perf_counter()
        manage(env, "migrate", "--noinput", "-v0")
        migrate_seconds = time.perf_counter() - started
        manage(env, "collectstatic", "--noinput", "-v0")  # the production admin needs the manifest
        if must_load:
            loaded = load_chain(
                url, env, members=MEMBERS, sales=SALES, vouchers=VOUCHERS, earn_lots=True, ledger_extra=LEDGER_EXTRA
            )
            loaded_note = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in loaded.items())
        sizes = _sizes(url)
        pages = _result(manage(env, "shell", "-c", PAGES, capture=True))
        pos_full = _result(manage(env, "shell", "-c", POS % {"n": SALES_N}, capture=True))
        flush_broker(env)
    with pg_database(f"loyalty_bench_console_empty_{uuid.uuid4().hex[:8]}") as url:
        env = bench_env(url)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "shell", "-c", SETUP)
        manage(
            env,
            "shell",
            "-c",
            # As many members as sales, as in the loaded run: each sale is a different member's (50
            # members reused four times each kept their rows hot and made the empty run look faster).
            "from members.services import member_enrol\n"
            f"for i in range({SALES_N}): member_enrol(name=f'Khách {{i}}', phone=f'+8491{{i:07d}}', channel='import')",
        )
        pos_empty = _result(manage(env, "shell", "-c", POS % {"n": SALES_N}, capture=True))
        flush_broker(env)
    return report(sizes, loaded_note, migrate_seconds, pages, pos_full, pos_empty)


def _status(ms: float, target: float) -> str:
    return f"{ms:.0f}" if ms <= target else f"**{ms:.0f}**"


def report(sizes, loaded_note, migrate_seconds, pages, pos_full, pos_empty) -> str:
    load = os.getloadavg()
    size = f"{MEMBERS:,} members"
    command = "BENCH_CONSOLE_DB=bench_i18 .venv/bin/python bench/run.py console"
    if SALES != 2_000_000 or LEDGER_EXTRA:  # the larger size of the issue: a section of its own
        size += f", {SALES:,} sales, {sizes.get('members_ledgerentry', 0) / 1e6:.0f} M ledger entries"
        command = (
            f"BENCH_CONSOLE_DB=bench_i18_big BENCH_CONSOLE_SALES={SALES} BENCH_CONSOLE_LEDGER_EXTRA={LEDGER_EXTRA} "
            ".venv/bin/python bench/run.py console"
        )
    lines = [
        f"## The staff console at {size} (PostgreSQL, issue 18)",
        "",
        f"Command: `{command}` (the database kept "
        "between runs; without the variable a throwaway one is loaded and dropped). Rows (pg_class estimates): "
        + ", ".join(f"{table} {n:,}" for table, n in sizes.items())
        + f". Load: {loaded_note}; `migrate` on the loaded database {migrate_seconds:.1f} s. "
        f"Load average (1, 5, 15 min) at the end: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} on a 2-core "
        "machine that also runs PostgreSQL and the client.",
        "",
        "Signed in as a superuser, Django's test client, median of 5 after a warm-up (target ≤ 300 ms; "
        "over target in bold):",
        "",
        "| page | ms | queries | SQL ms (all queries) | slowest query ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, r in sorted(pages["pages"], key=lambda item: -item[1]["ms"]):
        lines.append(
            f"| {label} | {_status(r['ms'], 300)} | {r['queries']} | {r.get('sql_ms', 0):.0f} | {r['slowest'][0]:.0f} |"
        )
    lines += [
        "",
        "| search (members changelist) | ms | SQL ms | target | finds the member |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for kind, label, r, found in pages["searches"]:
        target = 50 if kind in {"phone", "code"} else 300
        finds = "—" if "common name" in label else ("yes" if found else "no")
        lines.append(f"| {label} | {_status(r['ms'], target)} | {r.get('sql_ms', 0):.0f} | {target} | {finds} |")
    worst = max(r["ms"] for _label, r in pages["pages"])
    ratio = pos_full["sale"][1] / pos_empty["sale"][1]
    lines += [
        "",
        f"POS through the test client, {pos_full['n']} lookups and sales each (p50 / p95 ms):",
        "",
        "| programme | lookup p50 | lookup p95 | sale p50 | sale p95 |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| loaded (above) | {pos_full['lookup'][0]:.1f} | {pos_full['lookup'][1]:.1f} | {pos_full['sale'][0]:.1f} | "
        f"{pos_full['sale'][1]:.1f} |",
        f"| empty (demo stores, tiers, rewards, one member per sale) | {pos_empty['lookup'][0]:.1f} | "
        f"{pos_empty['lookup'][1]:.1f} | {pos_empty['sale'][0]:.1f} | {pos_empty['sale'][1]:.1f} |",
        "",
        f"Worst page {worst:.0f} ms (target ≤ 300); sale p95 loaded / empty = {ratio:.2f} (target ≤ 1.2).",
    ]
    return "\n".join(lines)
