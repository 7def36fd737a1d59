"""The member's vouchers page: their own vouchers only, each with its QR and code, usable ones
first and the used, expired and void ones after them, greyed; paged."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from tests.portal.helpers import sign_in
from tests.vouchers.factories import RewardFactory
from vouchers.models import Voucher
from vouchers.services import voucher_issue, voucher_use, voucher_void

pytestmark = pytest.mark.django_db


def give(member, reward, n=1):
    return [voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN) for _i in range(n)]


def shown_codes(page: str) -> list[str]:
    return re.findall(r'<li class="card[^"]*" data-voucher="([A-Z0-9-]+)"', page)


def test_usable_vouchers_first_with_their_qr_then_used_and_void_greyed(client, member, pho_store, staff_user):
    short = RewardFactory(code="SHORT", name="Giảm 20.000 đ", validity_days=3)
    long = RewardFactory(code="LONG", name="Giảm 50.000 đ", validity_days=60, terms="Không áp dụng ngày lễ.")
    (used,) = give(member, short)
    voucher_use(voucher=used, store=pho_store, sale_reference="HD-1", at=timezone.now())
    (void,) = give(member, long)
    voucher_void(voucher=void, by=staff_user, reason="Phát nhầm")
    (late,) = give(member, long)
    (soon,) = give(member, short)
    sign_in(client, member)
    response = client.get("/m/vouchers/")
    page = response.content.decode()
    assert response.status_code == 200
    codes = shown_codes(page)
    assert codes[:2] == [soon.code, late.code]  # usable, soonest-expiring first
    assert set(codes[2:]) == {used.code, void.code}
    assert page.count("<svg") == 2  # a QR for each usable voucher only
    for code in (used.code, void.code):
        card = re.search(rf'<li class="card([^"]*)" data-voucher="{code}"', page)
        assert "done" in card.group(1)
    assert "Đã sử dụng" in page and "Đã hủy" in page
    assert "Không áp dụng ngày lễ." in page and "Giảm 50.000 đ trên hóa đơn" in page
    last_day = (timezone.localtime(soon.expires_at, pho_store.zone).date() - datetime.timedelta(days=1)).strftime(
        "%d/%m/%Y"
    )
    assert f"Dùng đến hết ngày {last_day}." in page


def test_an_expired_voucher_is_greyed_even_before_the_nightly_job(client, member):
    (voucher,) = give(member, RewardFactory(validity_days=1))
    Voucher.objects.filter(pk=voucher.pk).update(
        issued_at=timezone.now() - datetime.timedelta(days=5), expires_at=timezone.now() - datetime.timedelta(days=3)
    )
    sign_in(client, member)
    page = client.get("/m/vouchers/").content.decode()
    assert re.search(rf'<li class="card done" data-voucher="{voucher.code}"', page)
    assert "Hết hạn" in page and "<svg" not in page


def test_another_members_vouchers_are_never_shown(client, member, other_member):
    reward = RewardFactory()
    mine = give(member, reward)[0]
    theirs = give(other_member, reward)[0]
    sign_in(client, member)
    page = client.get("/m/vouchers/").content.decode()
    assert shown_codes(page) == [mine.code]
    assert theirs.code not in page
    # The page takes no member, voucher or code from the request: what it is asked changes nothing.
    # (The language switch carries the asked URL back as its `next`: only the voucher list counts.)
    for query in (f"?member={other_member.pk}", f"?code={theirs.code}", f"?id={theirs.pk}"):
        asked = client.get("/m/vouchers/" + query).content.decode()
        assert shown_codes(asked) == [mine.code]
        assert f'data-voucher="{theirs.code}"' not in asked


def test_a_long_list_is_paged(client, member):
    give(member, RewardFactory(), n=23)
    sign_in(client, member)
    first = client.get("/m/vouchers/").content.decode()
    second = client.get("/m/vouchers/?page=2").content.decode()
    assert len(shown_codes(first)) == 20 and len(shown_codes(second)) == 3
    assert not set(shown_codes(first)) & set(shown_codes(second))
    assert "Trang 1 / 2" in first
    for junk in ("?page=99", "?page=abc", "?page=-1"):
        assert client.get("/m/vouchers/" + junk).status_code == 200


def test_no_vouchers_and_no_sign_in(client, member):
    assert client.get("/m/vouchers/").status_code == 302
    sign_in(client, member)
    assert "Bạn chưa có voucher nào." in client.get("/m/vouchers/").content.decode()


def test_the_page_stays_small(client, member):
    give(member, RewardFactory(terms="Điều kiện " * 20), n=20)
    sign_in(client, member)
    assert len(client.get("/m/vouchers/").content) < 60_000
