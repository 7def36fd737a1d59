"""The member pages (member-web.md) under load: 8 members browsing at once, and each page's weight.

Setup (not timed): a throwaway PostgreSQL database, `migrate`, `load_demo` (about 200 members
with 90 days of sales), `collectstatic`; the 8 members with the most sales are signed in (a
session each, as the sign-in form would make). gunicorn with production settings serves the
pages (static files by the project itself).

Measured: every page of member-web.md, each member a process requesting the pages in turn over
keep-alive, `BENCH_PAGE_ROUNDS` rounds; p50 / p95 / p99 per page. Weight: the page's HTML plus
every stylesheet and script it links (images aside), as served. Targets (issue 14): ≤ 200 ms at
the 95th percentile, < 100 KB each. Reproduce alone: `.venv/bin/python bench/run.py member_pages`."""

from __future__ import annotations

import json
import os
import re
import urllib.request
import uuid

from bench.harness import TABLE_HEADER, LoadResult, bench_env, flush_broker, gunicorn, load, manage, pg_database

MEMBERS = int(os.environ.get("BENCH_MEMBERS", "8"))
ROUNDS = int(os.environ.get("BENCH_PAGE_ROUNDS", "40"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
PAGES = [
    ("home", "/m/"),
    ("card", "/m/card/"),
    ("history", "/m/history/"),
    ("rewards", "/m/rewards/"),
    ("vouchers", "/m/vouchers/"),
    ("consent", "/m/consent/"),
]
COOKIE = "m_session"
_ASSET = re.compile(r"""<(?:link[^>]+rel=["']?stylesheet["']?[^>]*href|script[^>]+src)=["']([^"']+)["']""", re.I)

_SIGN_IN = """
import json
from django.db.models import Count
from django.http import HttpResponse
from django.test import RequestFactory
from members.models import Member
from portal.sessions import COOKIE_NAME, session_start
members = Member.objects.filter(status="active").annotate(n=Count("sales")).order_by("-n", "pk")[:%d]
tokens = []
for member in members:
    response = HttpResponse()
    session_start(request=RequestFactory().get("/m/"), response=response, member=member)
    tokens.append(response.cookies[COOKIE_NAME].value)
print(json.dumps(tokens))
"""


class PageVisit:
    """Member `index` asks for one page; picklable for the load generator's processes."""

    def __init__(self, path: str, tokens: list[str]) -> None:
        self.path, self.tokens = path, tokens

    def __call__(self, index: int, sequence: int):
        return "GET", self.path, None, {"Cookie": f"{COOKIE}={self.tokens[index]}", "Accept-Language": "vi"}


def _get(url: str, token: str) -> bytes:
    request = urllib.request.Request(url, headers={"Cookie": f"{COOKIE}={token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def page_weight(base: str, path: str, token: str) -> tuple[int, int]:
    """(bytes of the HTML, bytes of the HTML plus its linked CSS and JS), as served."""
    html = _get(base + path, token)
    assets = {src for src in _ASSET.findall(html.decode("utf-8", "replace")) if src.startswith("/")}
    return len(html), len(html) + sum(len(_get(base + src, token)) for src in sorted(assets))


def run() -> str:
    name = f"loyalty_bench_{uuid.uuid4().hex[:8]}"
    with pg_database(name) as url:
        env = bench_env(url)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "load_demo", capture=True)
        manage(env, "collectstatic", "--noinput", "-v0")
        tokens = json.loads(manage(env, "shell", "-c", _SIGN_IN % MEMBERS, capture=True).strip().splitlines()[-1])
        keys = [f"member-{i}" for i in range(len(tokens))]
        with gunicorn(env, workers=WORKERS) as base:
            weights = {label: page_weight(base, path, tokens[0]) for label, path in PAGES}
            for _label, path in PAGES:  # warm-up: every worker has its connection and templates
                load("warm-up", base, keys, PageVisit(path, tokens), per_client=5)
            rounds: list[list[LoadResult]] = []
            per_round = max(1, ROUNDS // 4)
            for _number in range(4):  # pages take turns, so a drifting machine slows them alike
                rounds.append(
                    [load(label, base, keys, PageVisit(path, tokens), per_client=per_round) for label, path in PAGES]
                )
        flush_broker(env)
        results = [LoadResult.combine([r[i] for r in rounds]) for i in range(len(PAGES))]
    for result in results:  # a redirect to the sign-in page would be fast and prove nothing
        if set(result.statuses) != {200}:
            raise RuntimeError(f"{result.name}: answers {result.statuses}, not only 200")
    weight_rows = [
        f"| {label} | {weights[label][0] / 1024:.1f} | {weights[label][1] / 1024:.1f} |" for label, _path in PAGES
    ]
    worst_p95 = max(r.percentile(95) for r in results)
    heaviest = max(total for _html, total in weights.values())
    return "\n".join(
        [
            "## Member pages under 8 concurrent members (PostgreSQL, gunicorn)",
            "",
            f"`.venv/bin/python bench/run.py member_pages` — the demo programme; the {len(tokens)} members "
            f"with the most sales signed in, each a process requesting every page {per_round * 4} times "
            f"over keep-alive (the pages taking turns in 4 rounds); gunicorn with {WORKERS} sync workers, "
            "production settings, Redis cache and broker; client and server share the machine.",
            "",
            TABLE_HEADER,
            *[r.row() for r in results],
            "",
            "| page | HTML KB | HTML + CSS + JS KB |",
            "| --- | ---: | ---: |",
            *weight_rows,
            "",
            f"Worst p95: {worst_p95:.1f} ms (target ≤ 200 ms); heaviest page {heaviest / 1024:.1f} KB "
            "(target < 100 KB, images aside).",
        ]
    )
