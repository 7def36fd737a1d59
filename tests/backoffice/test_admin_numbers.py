"""Money and points in the admin are written the reader's way (issue 16 item 8): list columns and
read-only fields of sales, members, the ledger and rewards, in Vietnamese and English; editable
fields stay plain inputs."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.factories import MemberFactory
from tests.pos.conftest import post, till
from tests.pos.test_sales_api import SALES, pho_lines, sale_body

pytestmark = pytest.mark.django_db
NBSP = "\u00a0"


@pytest.fixture
def boss(client):
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw-for-tests-only"))
    return client


def in_english(client):
    client.cookies["django_language"] = "en"
    return client


def test_sales_show_amounts_in_dong_and_points_in_the_list_and_on_the_page(demo_programme, boss):
    member = MemberFactory(points=12500)
    sale = post(till("PHO-HN01"), SALES, sale_body("NUM-1", pho_lines(1_250_000), member, at=timezone.now()),
                key="num").json()  # fmt: skip
    listing = boss.get("/admin/pos/sale/").content.decode()
    assert f"1.250.000{NBSP}đ" in listing
    assert "1250000" not in listing and "1.250.000,00" not in listing
    page = boss.get(f"/admin/pos/sale/{sale['id']}/change/").content.decode()
    assert f"1.250.000{NBSP}đ" in page  # subtotal, total, earn base; and the line's amount
    assert f"{sale['points_earned']} điểm" in page

    member.refresh_from_db()
    balance = f"{member.points_balance:,} điểm".replace(",", ".")  # 12.500 + what the sale earned
    assert member.points_balance > 12500
    assert balance in boss.get("/admin/members/member/").content.decode()
    ledger = boss.get("/admin/members/ledgerentry/", {"member__id__exact": member.pk}).content.decode()
    assert "12.500 điểm" in ledger and balance in ledger  # the credit, and the balance after the sale


def test_in_english_the_admin_writes_vnd_and_points(demo_programme, boss):
    MemberFactory(points=12500)
    post(till("PHO-HN01"), SALES, sale_body("NUM-2", pho_lines(1_250_000), at=timezone.now()), key="n2")
    client = in_english(boss)
    assert f"1,250,000{NBSP}VND" in client.get("/admin/pos/sale/").content.decode()
    assert "12,500 points" in client.get("/admin/members/member/").content.decode()


def test_the_reward_list_shows_points_and_its_form_keeps_plain_inputs(demo_programme, boss):
    from vouchers.models import Reward

    reward = Reward.objects.get(code="PCT10")
    assert "80 điểm" in boss.get("/admin/vouchers/reward/").content.decode()
    form = boss.get(f"/admin/vouchers/reward/{reward.pk}/change/").content.decode()
    assert 'name="points_cost"' in form  # still typed as a number


def test_sorting_by_a_formatted_column_still_works(demo_programme, boss):
    MemberFactory(points=5)
    MemberFactory(points=700)
    response = boss.get("/admin/members/member/", {"o": "6"})  # points_balance, the 6th column
    assert response.status_code == 200
    text = response.content.decode()
    assert text.index("5 điểm") < text.index("700 điểm")
