"""The member pages (member-web.md) under load: 8 members browsing at once, and each page's weight.

Setup (not timed): a throwaway PostgreSQL database, `migrate`, `load_demo` (about 200 members
with 90 days of sales), `collectstatic`; the 8 members with the most sales are signed in (a
session each, as the sign-in form would make). gunicorn with production settings serves the
pages (static files by the project itself).

Measured: every page of member-web.md that a GET shows again and again (the sign-in page
signed out; each member's own reward confirmation and unsubscribe link; not the claim page, whose
first GET issues the voucher, nor enrolment, which needs a proved phone), each member a process requesting
the pages in turn over keep-alive, `BENCH_PAGE_ROUNDS` rounds; p50 / p95 / p99 per page. Weight: the page's HTML plus
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
    ("reward confirm", "/m/rewards/{reward}/"),
    ("unsubscribe", "/m/unsubscribe/{unsubscribe}"),
    ("sign-in", "/m/"),
]
SIGNED_OUT = {"sign-in"}
COOKIE = "m_session"
_ASSET = re.compile(r"""<(?:link[^>]+rel=["']?stylesheet["']?[^>]*href|script[^>]+src)=["']([^"']+)["']""", re.I)

_SIGN_IN = """
import json
from django.db.models import Count
from django.http import HttpResponse
from django.test import RequestFactory
from members.models import Member
from notifications.unsubscribe import unsubscribe_token_make
from portal.rewards import member_offers
from portal.sessions import COOKIE_NAME, session_start
members = Member.objects.filter(status="active").annotate(n=Count("sales")).order_by("-n", "pk")[:%d]
tokens = []
for member in members:
    response = HttpResponse()
    session_start(request=RequestFactory().get("/m/"), response=response, member=member)
    offers = member_offers(member=member)
    reward = next((o.reward.code for o in offers if o.affordable), offers[0].reward.code)
    tokens.append({
        "session": response.cookies[COOKIE_NAME].value,
        "reward": reward,
        "unsubscribe": unsubscribe_token_make(member_id=member.pk, channel="email"),
    })
print(json.dumps(tokens))
"""


class PageVisit:
    """Member `index` asks for one page (its path filled with the member's own reward code and
    unsubscribe token); signed out for the sign-in page. Picklable for the load generator."""

    def __init__(self, label: str, path: str, members: list[dict]) -> None:
        self.label, self.path, self.members = label, path, members

    def __call__(self, index: int, sequence: int):
        return "GET", page_path(self.path, self.members[index]), None, page_headers(self.label, self.members[index])


def page_path(path: str, member: dict) -> str:
    return path.format(reward=member["reward"], unsubscribe=member["unsubscribe"])


def page_headers(label: str, member: dict) -> dict[str, str]:
    headers = {"Accept-Language": "vi"}
    if label not in SIGNED_OUT:
        headers["Cookie"] = f"{COOKIE}={member['session']}"
    return headers


def _get(url: str, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def page_weight(base: str, label: str, path: str, member: dict) -> tuple[int, int]:
    """(bytes of the HTML, bytes of the HTML plus its linked CSS and JS), as served."""
    headers = page_headers(label, member)
    html = _get(base + page_path(path, member), headers)
    assets = {src for src in _ASSET.findall(html.decode("utf-8", "replace")) if src.startswith("/")}
    return len(html), len(html) + sum(len(_get(base + src, headers)) for src in sorted(assets))


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
            weights = {label: page_weight(base, label, path, tokens[0]) for label, path in PAGES}
            for label, path in PAGES:  # warm-up: every worker has its connection and templates
                load("warm-up", base, keys, PageVisit(label, path, tokens), per_client=5)
            rounds: list[list[LoadResult]] = []
            per_round = max(1, ROUNDS // 4)
            for _number in range(4):  # pages take turns, so a drifting machine slows them alike
                rounds.append(
                    [
                        load(label, base, keys, PageVisit(label, path, tokens), per_client=per_round)
                        for label, path in PAGES
                    ]
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
