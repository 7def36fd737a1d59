"""The dashboard's page weight (issue 15, helper brief R3): the HTML of the admin's home page as a
Marketing user gets it on the demo programme (`load_demo`: 200 members and their sales), plus the
files it loads (dashboard.js and .css, and the vendored Chart.js), raw and gzipped, and the
queries and time of one page. Production settings (bench/settings.py), so the static files go
through `collectstatic` with `ManifestStaticFilesStorage`: this also proves the vendored Chart.js
collects (its source-map line removed). The speed at a chain's scale is the reports benchmark's.

Reproduce alone: `.venv/bin/python bench/run.py dashboard_weight`."""

from __future__ import annotations

import gzip
import json

from bench.harness import ROOT, bench_env, manage, pg_database

STATIC = ROOT / "reports" / "static" / "reports"
FILES = [
    ("reports/dashboard.js", STATIC / "dashboard.js"),
    ("reports/dashboard.css", STATIC / "dashboard.css"),
    ("reports/vendor/chart.umd.min.js", STATIC / "vendor" / "chart.umd.min.js"),
]
PAGES = [
    ("last 30 days, all stores (the default)", {}),
    ("last 365 days, all stores", {"days": "365"}),
    ("last 30 days, one store", {"store": "PHO-HN01"}),
]

_MEASURE = """
import gzip, json, time
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
user = get_user_model().objects.create_user("bench-marketing", password="bench-only", is_staff=True)
user.groups.add(Group.objects.get(name="Marketing"))
client = Client(SERVER_NAME="localhost")
client.force_login(user)
out = []
for label, params in {pages!r}:
    client.get("/admin/", params)  # warm: templates compiled, caches filled
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get("/admin/", params)
        seconds = time.perf_counter() - started
    body = response.content
    out.append({{"label": label, "status": response.status_code, "bytes": len(body),
                "gzip": len(gzip.compress(body, 6)), "queries": len(queries), "ms": seconds * 1000,
                "scripts": body.decode().count("<script"), "rows": body.decode().count("<tr")}})
print("BENCH " + json.dumps(out))
"""


def _kb(n: int) -> str:
    return f"{n / 1024:.1f}"


def run() -> str:
    with pg_database("loyalty_bench_dashboard") as url:
        env = bench_env(url)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "load_demo", capture=True)
        # Into STATIC_ROOT (`staticfiles/`, ignored by git), as a deployment does.
        collected = manage(env, "collectstatic", "--noinput", "-v", "1", capture=True).strip().splitlines()[-1]
        output = manage(env, "shell", "-c", _MEASURE.format(pages=PAGES), capture=True)
    collected = collected.replace(str(ROOT) + "/", "")
    pages = json.loads(output.split("BENCH ", 1)[1])
    lines = [
        "## Dashboard page weight (demo programme, PostgreSQL)",
        "",
        "`.venv/bin/python bench/run.py dashboard_weight` — the admin's home page as a Marketing user, "
        "production settings, after `load_demo` (200 members and their sales) and `collectstatic` "
        f"with `ManifestStaticFilesStorage` ({collected}). Timed in-process with Django's test client "
        "(second request; no network, no gunicorn).",
        "",
        "| page | status | HTML KB | gzipped KB | table rows | queries | ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for page in pages:
        lines.append(
            f"| {page['label']} | {page['status']} | {_kb(page['bytes'])} | {_kb(page['gzip'])} | "
            f"{page['rows']} | {page['queries']} | {page['ms']:.0f} |"
        )
    lines += ["", "| file the page loads | KB | gzipped KB |", "| --- | ---: | ---: |"]
    for name, path in FILES:
        data = path.read_bytes()
        lines.append(f"| `{name}` | {_kb(len(data))} | {_kb(len(gzip.compress(data, 6)))} |")
    own = sum(len(path.read_bytes()) for name, path in FILES if "vendor" not in name)
    own_gz = sum(len(gzip.compress(path.read_bytes(), 6)) for name, path in FILES if "vendor" not in name)
    default = pages[0]
    lines += [
        "",
        f"- Default page: {_kb(default['bytes'])} KB of HTML ({_kb(default['gzip'])} KB gzipped) + "
        f"{_kb(own)} KB of our own JS and CSS ({_kb(own_gz)} KB gzipped); Chart.js adds "
        f"{_kb(FILES[2][1].stat().st_size)} KB ({_kb(len(gzip.compress(FILES[2][1].read_bytes(), 6)))} KB "
        "gzipped), cached by the browser across pages and days (hashed file names in production).",
        "- The HTML includes Django's app list below the dashboard and one table row per day under "
        "each daily chart: 365 days is mostly those tables (kept: screen readers and copy).",
    ]
    return "\n".join(lines)
