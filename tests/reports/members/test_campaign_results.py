"""A campaign's result computed by hand: members reached and held out, vouchers issued and used,
the net sales of each group in the 30 days after delivery, the uplift per member and the
estimated extra sales."""

from __future__ import annotations

from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.audiences.services import group_add_members, group_create
from campaigns.runs.models import Campaign, CampaignDelivery
from campaigns.runs.services import campaign_activate, campaign_run, campaign_save
from campaigns.runs.services import campaign_runs as runs_module
from campaigns.runs.services.campaign_runs import HOLDOUT_BUCKETS
from reports.campaign_results import campaign_result
from tests.factories import MemberFactory
from tests.reports.members.conftest import at, days_ago
from vouchers.models import Reward, Voucher
from vouchers.services import reward_save

pytestmark = pytest.mark.django_db


def pin_the_draw(monkeypatch, held: list, reached: list) -> None:
    """With coefficients (1, 0, 1, b) a member's bucket is (id + b) mod 10,000: b puts the held
    members just under the 50 % line and the reached ones above it."""
    assert max(m.pk for m in held) < min(m.pk for m in reached)
    b = (HOLDOUT_BUCKETS // 2 - 1 - max(m.pk for m in held)) % runs_module._HOLDOUT_PRIME
    monkeypatch.setattr(runs_module, "holdout_coefficients", lambda run_id: (1, 0, 1, b))


@pytest.fixture
def cash10k(db):
    return reward_save(
        reward=Reward(code="CASH10K", name="Giảm 10.000 đ", kind=Reward.Kind.CASH, value=Decimal(10_000),
                      points_cost=0, is_visible=False, validity=Reward.Validity.DAYS, validity_days=60)
    )  # fmt: skip


@pytest.fixture
def campaign_history(monkeypatch, shops, sell, refund, cash10k):
    """D = 45 days ago; the campaign runs at D 10:00 with a 50 % holdout, window 30 days, so a
    window is [D 10:00, D+30 10:00).
    Held out: H1 buys 50,000 on D+5; H2 buys 20,000 on D+30 at 10:00 (just outside).
    Reached: R1 buys 2 x 50,000 on D+2 with the campaign voucher (10,000 off: 90,000 paid), then
    returns one (45,000 refunded): 45,000; R2 buys 60,000 on D-1 (before), 80,000 on D+10 and
    70,000 on D+31 (after): 80,000; R3 buys nothing; R4 buys 35,000 on D+29 at 20:00: 35,000.
    Reached: 160,000 over 4 = 40,000 each; held out: 50,000 over 2 = 25,000 each; uplift 15,000
    per member, 60,000 in all. Vouchers: 4 issued, 1 used."""
    day = days_ago(45)
    h1, h2 = MemberFactory(), MemberFactory()
    r1, r2, r3, r4 = MemberFactory(), MemberFactory(), MemberFactory(), MemberFactory()
    pin_the_draw(monkeypatch, [h1, h2], [r1, r2, r3, r4])
    group = group_create(name="Khách thân thiết")
    group_add_members(group=group, member_ids=[m.pk for m in (h1, h2, r1, r2, r3, r4)], source="other")
    campaign = campaign_save(
        campaign=Campaign(code="QUAY-LAI", name="Mời quay lại", group=group, reward=cash10k, holdout_percent=50)
    )
    campaign_activate(campaign=campaign)
    sell(r2, "PHO-HN01", at(day, -1, 12), ("PH1", "pho", 1, 60_000))
    with time_machine.travel(at(day, 0, 10), tick=False):
        run = campaign_run(campaign=campaign, as_of=day)
    assert (run.members_reached, run.members_held_out) == (4, 2)
    assert set(CampaignDelivery.objects.filter(holdout=True).values_list("member_id", flat=True)) == {h1.pk, h2.pk}

    sell(h1, "CAFE-HN01", at(day, 5, 12), ("CF1", "coffee", 1, 50_000))
    sell(h2, "CAFE-HN01", at(day, 30, 10), ("CF1", "coffee", 1, 20_000))
    voucher = Voucher.objects.get(member=r1)
    s = sell(r1, "CAFE-HN01", at(day, 2, 9), ("CF1", "coffee", 2, 50_000), vouchers=[voucher.code])
    assert s.total == Decimal(90_000)
    refund(s, ("CF1", 1))
    sell(r2, "PHO-HN01", at(day, 10, 12), ("PH1", "pho", 1, 80_000))
    sell(r2, "PHO-HN01", at(day, 31, 12), ("PH1", "pho", 1, 70_000))
    sell(r4, "CAFE-HCM1", at(day, 29, 20), ("CK1", "cake", 1, 35_000))
    return campaign


def test_the_result_by_hand(campaign_history):
    result = campaign_result(campaign=campaign_history)
    assert (result.reached.members, result.holdout.members) == (4, 2)
    assert (result.reached.net_sales, result.holdout.net_sales) == (Decimal(160_000), Decimal(50_000))
    assert (result.reached.per_member, result.holdout.per_member) == (Decimal(40_000), Decimal(25_000))
    assert result.uplift_per_member == Decimal(15_000)
    assert result.estimated_extra_sales == Decimal(60_000)
    assert (result.vouchers_issued, result.vouchers_used, result.voucher_use_rate) == (4, 1, Decimal("0.25"))
    assert result.open_windows == 0
    assert (result.result_days, result.holdout_percent) == (30, 50)


def test_a_shorter_window_counts_less(campaign_history):
    campaign_history.result_days = 5  # [D 10:00, D+5 10:00): R1's 45,000; H1's sale is at D+5 12:00
    result = campaign_result(campaign=campaign_history)
    assert (result.reached.net_sales, result.holdout.net_sales) == (Decimal(45_000), Decimal(0))
    assert result.uplift_per_member == Decimal(11_250)


def test_two_statements_whatever_the_audience(campaign_history):
    with CaptureQueriesContext(connection) as queries:
        campaign_result(campaign=campaign_history)
    assert len(queries) == 2


def test_without_a_holdout_there_is_no_uplift(shops, sell, cash10k):
    member = MemberFactory()
    group = group_create(name="Một người")
    group_add_members(group=group, member_ids=[member.pk], source="other")
    campaign = campaign_save(campaign=Campaign(code="KHONG-SO", name="Không so", group=group, reward=cash10k))
    campaign_activate(campaign=campaign)
    before = campaign_result(campaign=campaign)
    assert (before.reached.members, before.reached.per_member, before.uplift_per_member) == (0, None, None)
    assert before.voucher_use_rate is None
    campaign_run(campaign=campaign)
    result = campaign_result(campaign=campaign)
    assert (result.reached.members, result.holdout.members, result.vouchers_issued) == (1, 0, 1)
    assert (result.uplift_per_member, result.estimated_extra_sales) == (None, None)
    assert result.open_windows == 1  # delivered just now: its 30 days are still running


def test_the_campaign_page_shows_the_result(client, campaign_history, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(username="boss", password="x", email="b@x.vn"))
    page = client.get(reverse("admin:campaigns_campaign_change", args=[campaign_history.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "campaign-result" in html
    for figure in ("160,000", "50,000", "40,000", "25,000", "+15,000", "60,000", "25.0 %"):
        assert figure in html, figure
