"""Issue 14: every member page is under 100 KB of HTML + CSS + JS (images aside), for a realistic
member: 20 vouchers and 40 history rows. The weight is the page's HTML plus every stylesheet and
script it links, read from the static files as they would be served. The served-under-load half
of the target is bench/bench_member_pages.py's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from members.models import LedgerEntry
from members.services import points_earn
from notifications.unsubscribe import unsubscribe_url
from tests.portal.helpers import sign_in
from tests.portal.test_claim import link
from tests.portal.test_signin import proved_stranger
from tests.vouchers.factories import RewardFactory
from vouchers.models import Voucher
from vouchers.services import voucher_issue

pytestmark = pytest.mark.django_db
LIMIT = 100 * 1024
_ASSET = re.compile(r"""<(?:link[^>]+rel=["']?stylesheet["']?[^>]*href|script[^>]+src)=["']([^"']+)["']""", re.I)
PAGES = ["sign-in", "enrol", "home", "card", "history", "rewards", "reward confirm", "vouchers", "claim", "consent"]
PAGES += ["unsubscribe"]


def weight(html: bytes) -> int:
    """The HTML plus every stylesheet and script it links under /static/."""
    total = len(html)
    for src in set(_ASSET.findall(html.decode())):
        assert src.startswith("/static/"), f"{src}: no CDN, the project serves its own files"
        found = finders.find(src.removeprefix("/static/").split("?")[0])
        assert found, src
        total += Path(found).stat().st_size
    return total


@pytest.fixture
def realistic(member, catalogue, campaign):
    """`member` with 20 vouchers (long terms) and 40 history rows, and the catalogue."""
    reward = RewardFactory(code="LONGTERMS", name="Giảm 25.000 đ", terms="Áp dụng cho hoá đơn từ 100.000 đ. " * 6)
    for _i in range(20):
        voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN)
    for n in range(40):
        points_earn(member=member, points=10 + n, kind=LedgerEntry.Kind.BONUS, reference=f"w:{n}", cause_kind="test")
    member.refresh_from_db()
    return member


def page_of(name: str, client: Client, member, campaign) -> bytes:
    if name == "sign-in":
        response = Client().get("/m/")
    elif name == "enrol":
        proved_stranger(client)
        response = client.get("/m/enrol/")
    elif name == "unsubscribe":
        response = Client().get(unsubscribe_url(member_id=member.pk, channel="email"))
    else:
        sign_in(client, member)
        path = {
            "home": "/m/",
            "card": "/m/card/",
            "history": "/m/history/",
            "rewards": "/m/rewards/",
            "reward confirm": "/m/rewards/PHO100/",
            "vouchers": "/m/vouchers/",
            "claim": link(campaign, member),
            "consent": "/m/consent/",
        }[name]
        response = client.get(path)
    assert response.status_code == 200, name
    return response.content


@pytest.mark.parametrize("name", PAGES)
def test_every_page_is_under_100_kb_for_a_realistic_member(client, realistic, campaign, sign_in_templates, name):
    html = page_of(name, client, realistic, campaign)
    if name == "vouchers":
        assert html.count(b"data-voucher=") >= 20 or b"page=2" in html
    if name == "claim":
        assert b"data-voucher=" in html
    assert weight(html) < LIMIT, f"{name}: {weight(html) / 1024:.1f} KB"
