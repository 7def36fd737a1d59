"""The demo catalogue (`demo-programme.md`): created once, never overwriting an operator's edits."""

from decimal import Decimal

import pytest

from stores.demo import demo_stores_load
from vouchers.demo import demo_vouchers_load
from vouchers.models import Reward


@pytest.fixture
def demo_brands(db):
    demo_stores_load()


@pytest.mark.django_db
def test_the_demo_catalogue(demo_brands):
    assert demo_vouchers_load() == 5
    rewards = {r.code: r for r in Reward.objects.prefetch_related("brands")}
    # The last two: CAFE-STAMP's and CHAOBAN's (issue 16).
    assert set(rewards) == {"CASH50K", "PCT10", "CAFE-B2G1", "BDAY20", "CAFE-FREE", "CHAOBAN-20K"}

    cash = rewards["CASH50K"]
    assert (cash.kind, cash.value, cash.points_cost) == ("cash", Decimal(50_000), 50)
    assert cash.min_invoice == Decimal(100_000)
    assert (cash.validity, cash.validity_days, list(cash.brands.all())) == ("days", 30, [])

    pct = rewards["PCT10"]
    assert (pct.kind, pct.percent, pct.cap, pct.points_cost, pct.validity_days) == (
        "percent",
        Decimal(10),
        Decimal(100_000),
        80,
        30,
    )

    b2g1 = rewards["CAFE-B2G1"]
    assert (b2g1.kind, b2g1.category, b2g1.buy_quantity, b2g1.free_quantity, b2g1.points_cost) == (
        "buy_x_get_y",
        "coffee",
        2,
        1,
        100,
    )
    assert [b.code for b in b2g1.brands.all()] == ["CAFE"]
    assert b2g1.validity_days == 14

    bday = rewards["BDAY20"]
    assert (bday.kind, bday.percent, bday.cap, bday.points_cost, bday.is_visible, bday.validity) == (
        "percent",
        Decimal(20),
        Decimal(200_000),
        0,
        False,
        "end_of_month",
    )
    for reward in rewards.values():
        reward.full_clean()


@pytest.mark.django_db
def test_running_it_again_changes_nothing_and_keeps_operator_edits(demo_brands):
    demo_vouchers_load()
    Reward.objects.filter(code="PCT10").update(points_cost=70, name="Giảm 10 % (khuyến mãi)")
    Reward.objects.get(code="CAFE-B2G1").brands.clear()
    before = list(Reward.objects.order_by("code").values())
    assert demo_vouchers_load() == 0
    assert list(Reward.objects.order_by("code").values()) == before
    assert not Reward.objects.get(code="CAFE-B2G1").brands.exists()
