"""Rewards kept for tiers (issue 16): a tier-only reward is hidden from the others at the till
(GET rewards, the exchange refused, nothing written) and on the member pages."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.factories import MemberFactory
from tests.portal.helpers import sign_in
from tests.pos.test_vouchers_api import REWARDS, client_at, problem, redeem
from tests.vouchers.factories import RewardFactory
from tests.vouchers.helpers import written_state
from tiers.models import Tier, TierStatus
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def ladder():
    return {
        "MEMBER": Tier.objects.create(code="MEMBER", name="Thành viên", rank=0),
        "VIP": Tier.objects.create(code="VIP", name="VIP", rank=1, threshold=Decimal(5_000_000)),
        "DIAMOND": Tier.objects.create(code="DIAMOND", name="Kim Cương", rank=2, threshold=Decimal(20_000_000)),
    }


@pytest.fixture
def rewards(ladder):
    everyone = RewardFactory(code="ALL10", name="Cho mọi người", points_cost=10)
    vip_only = RewardFactory(code="VIP-LOUNGE", name="Phòng chờ VIP", points_cost=10)
    vip_only.tiers.set([ladder["VIP"], ladder["DIAMOND"]])
    return {"ALL10": everyone, "VIP-LOUNGE": vip_only}


def member_in(ladder, code: str | None, points: int = 100):
    member = MemberFactory(points=points)
    if code:
        TierStatus.objects.create(member=member, tier=ladder[code])
    return member


@pytest.fixture
def till(store):
    return client_at(store)


def test_the_till_lists_a_tier_reward_for_its_tiers_only(till, ladder, rewards):
    vip, diamond, regular = member_in(ladder, "VIP"), member_in(ladder, "DIAMOND"), member_in(ladder, None)
    listed = lambda member: [r["code"] for r in till.get(REWARDS, {"member": member.pk}).json()]  # noqa: E731
    assert sorted(listed(vip)) == ["ALL10", "VIP-LOUNGE"]
    assert sorted(listed(diamond)) == ["ALL10", "VIP-LOUNGE"]
    assert listed(regular) == ["ALL10"]  # no tier row: the entry tier
    assert [r["code"] for r in till.get(REWARDS).json()] == ["ALL10"]  # no member: nobody's tier


def test_the_till_refuses_the_exchange_to_other_tiers_and_writes_nothing(till, ladder, rewards):
    regular = member_in(ladder, "MEMBER")
    before = written_state()
    body = problem(redeem(till, regular.pk, {"reward": "VIP-LOUNGE"}), "reward-unavailable")
    assert body["reason"] == "other-tier"
    assert written_state() == before

    vip = member_in(ladder, "VIP")
    assert redeem(till, vip.pk, {"reward": "VIP-LOUNGE"}, key="redeem-vip").status_code == 201
    assert Voucher.objects.get().member_id == vip.pk


def test_the_member_pages_hide_a_tier_reward_from_the_others(client, ladder, rewards, store):
    regular = member_in(ladder, None)
    regular.home_store = store
    regular.save(update_fields=["home_store"])
    sign_in(client, regular)
    page = client.get("/m/rewards/").content.decode()
    assert re.findall(r'data-reward="([A-Z0-9-]+)"', page) == ["ALL10"]
    before = written_state()
    assert client.get("/m/rewards/VIP-LOUNGE/").status_code == 404
    assert written_state() == before

    client.logout()
    vip = member_in(ladder, "VIP")
    sign_in(client, vip)
    page = client.get("/m/rewards/").content.decode()
    assert sorted(re.findall(r'data-reward="([A-Z0-9-]+)"', page)) == ["ALL10", "VIP-LOUNGE"]
