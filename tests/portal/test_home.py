"""The member's home page and the number format of the member pages."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone, translation

from members.models import LedgerEntry, Member, PointLot
from members.services import member_block, points_earn
from portal.templatetags.portal_format import points, vnd
from tests.factories import BrandFactory, MemberFactory, StoreFactory
from tests.portal.helpers import sign_in
from tests.vouchers.factories import RewardFactory
from tiers.demo import demo_tiers_load
from vouchers.models import Voucher
from vouchers.services import voucher_issue


def test_numbers_in_vietnamese_and_english():
    with translation.override("vi"):
        assert vnd(Decimal("1250000")) == "1.250.000\u00a0đ"
        assert points(12500) == "12.500 điểm"
    with translation.override("en"):
        assert vnd(1250000) == "1,250,000\u00a0VND"
        assert points(12500) == "12,500 points"
        assert points(1) == "1 point"
    assert vnd("không phải số") == "" and points(None) == ""


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/m/card/", "/m/card/token/", "/m/history/", "/m/consent/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/m/?next={path.replace('/', '%2F')}"


@pytest.mark.django_db
def test_home_shows_balance_value_tier_progress_expiring_points_and_vouchers(client):
    demo_tiers_load()
    member = MemberFactory(points=12_500)
    soon = timezone.now() + datetime.timedelta(days=10)
    PointLot.objects.filter(member=member).update(expires_at=soon)  # test set-up of the lot's date only
    reward = RewardFactory(name="Giảm 50.000 đ")
    voucher = voucher_issue(reward=reward, member=member, channel=Voucher.Channel.STAFF, reason="quà")
    other = MemberFactory(points=7)
    other_voucher = voucher_issue(reward=reward, member=other, channel=Voucher.Channel.STAFF, reason="quà")
    sign_in(client, member)

    page = client.get("/m/").content.decode()
    assert 'data-points-balance="12500"' in page
    assert "12.500 điểm" in page
    assert "12.500.000\u00a0đ" in page  # 1 point = 1,000 VND
    assert "12.500 điểm sẽ hết hạn trong 30 ngày tới" in page
    assert "còn 5.000.000\u00a0đ để lên" in page
    assert f'data-voucher="{voucher.code}"' in page
    assert other_voucher.code not in page and 'data-points-balance="7"' not in page

    client.post("/i18n/setlang/", {"language": "en", "next": "/m/"})
    english = client.get("/m/").content.decode()
    assert '<html lang="en">' in english
    assert "12,500 points" in english and "12,500,000\u00a0VND" in english


def test_a_blocked_member_is_signed_out(client, db):
    member = MemberFactory()
    sign_in(client, member)
    member_block(member=member, reason="kiểm tra")
    response = client.get("/m/")
    assert b'name="phone"' in response.content  # the sign-in form, not the home page
    assert client.get("/m/card/").status_code == 302


def test_an_expired_session_does_not_work(client, db):
    member = MemberFactory()
    sign_in(client, member)
    from portal.models import MemberSession

    MemberSession.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get("/m/history/").status_code == 302


def test_the_page_wears_the_home_store_brand(client, db):
    brand = BrandFactory(code="PHO", name="Phở Ngon", colour="#AA3300")
    BrandFactory(code="AAA", name="Đầu tiên", colour="#112233")
    member = MemberFactory(home_store=StoreFactory(brand=brand))
    sign_in(client, member)
    page = client.get("/m/").content.decode()
    assert "--brand:#AA3300" in page and "Phở Ngon" in page
    # Signed out (and members without a home store): the first brand by code.
    assert "--brand:#112233" in Client().get("/m/").content.decode()


def test_pages_are_small(client, db):
    from django.contrib.staticfiles import finders

    member = MemberFactory(points=100)
    sign_in(client, member)
    from pathlib import Path

    css = Path(finders.find("portal/portal.css")).stat().st_size
    js = Path(finders.find("portal/card.js")).stat().st_size
    for path in ("/m/", "/m/card/", "/m/history/", "/m/consent/"):
        assert len(client.get(path).content) + css + js < 100_000, path
    assert Member.objects.count() == 1 and LedgerEntry.objects.count() == 1
    assert points_earn  # the balance above came through the ledger service (the factory)
