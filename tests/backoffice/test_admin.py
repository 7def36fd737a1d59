"""The sales admin: read-only records with their lines, discounts, ledger effects and refunds;
terminals with their last use and sales."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from pos.models import Sale
from tests.factories import MemberFactory
from tests.pos.conftest import post, till
from tests.pos.test_sales_api import SALES, pho_lines, sale_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client):
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw-for-tests-only"))
    return client


def test_sales_are_listed_filtered_and_shown_read_only_with_their_effects(demo_programme, boss):
    member = MemberFactory(points=50)
    pho = till("PHO-HN01")
    sale = post(pho, SALES, sale_body("ADM-1", pho_lines(120_000), member, at=timezone.now(), points_to_redeem=20),
                key="adm").json()  # fmt: skip
    post(pho, f"{SALES}/{sale['id']}/refunds", {"reason": "Khách trả"}, key="adm-r")
    from stores.models import Store

    listing = boss.get("/admin/pos/sale/", {"store__id__exact": Store.objects.get(code="PHO-HN01").pk})
    assert listing.status_code == 200 and "ADM-1" in listing.content.decode()
    assert "ADM-1" in boss.get("/admin/pos/sale/", {"q": member.code}).content.decode()
    page = boss.get(f"/admin/pos/sale/{sale['id']}/change/").content.decode()
    for text in ("PHO-DAC-BIET", "Khách trả", "20 điểm"):
        assert text in page, text
    assert page.count("/admin/members/ledgerentry/") >= 4  # spend, earn and their two reversals
    assert boss.get("/admin/pos/sale/add/").status_code == 403
    response = boss.post(f"/admin/pos/sale/{sale['id']}/delete/", {"post": "yes"})
    assert response.status_code == 403 and Sale.objects.filter(pk=sale["id"]).exists()


def test_terminals_show_their_last_use_and_link_to_their_sales(demo_programme, boss):
    pho = till("PHO-HN01", name="Quầy 7")
    post(pho, SALES, sale_body("ADM-2", pho_lines(50_000), at=timezone.now()), key="t")
    page = boss.get("/admin/stores/terminal/").content.decode()
    assert "Quầy 7" in page and "?terminal__id__exact=" in page
    terminal_id = Sale.objects.get(receipt_number="ADM-2").terminal_id
    sales = boss.get("/admin/pos/sale/", {"terminal__id__exact": terminal_id}).content.decode()
    assert "ADM-2" in sales


def test_the_member_page_explains_the_tier_and_links_vouchers_and_sales(demo_programme, boss):
    member = MemberFactory()
    post(till("PHO-HN01"), SALES, sale_body("ADM-3", pho_lines(5_000_000), member, at=timezone.now()), key="t3")
    page = boss.get(f"/admin/members/member/{member.pk}/change/").content.decode()
    assert "VIP" in page and "/admin/vouchers/voucher/issue/?member=" in page
    listing = boss.get("/admin/members/member/").content.decode()
    assert 'value="add_to_group_action"' in listing and 'value="export_members_action"' in listing
