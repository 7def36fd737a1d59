"""Setting a tier by hand (with a reason, optionally as a guarantee), and recomputing every
member after the rules change (with a preview)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from loyalty_site.core.errors import ValidationFailed
from tests.tiers.conftest import enrol, spend, tier_messages, written_state
from tiers.models import TierChange, TierStatus
from tiers.selectors import local_today, member_tier, member_tier_explain
from tiers.services import (
    tier_save,
    tier_set,
    tier_spend_reverse,
    tiers_evaluate,
    tiers_recompute,
    tiers_recompute_preview,
)


def in_days(days: int) -> datetime.date:
    return local_today() + datetime.timedelta(days=days)


# --- Set by staff -----------------------------------------------------------------------------


def test_staff_set_a_tier_with_a_reason_and_the_member_is_told(member, tiers, staff, tier_changed_template):
    change = tier_set(member=member, tier=tiers["VIP"], reason="Khách hàng doanh nghiệp", staff_user=staff)

    assert member_tier(member=member).code == "VIP"
    assert (change.kind, change.from_tier.code, change.to_tier.code, change.note, change.staff_user) == (
        TierChange.Kind.STAFF,
        "MEMBER",
        "VIP",
        "Khách hàng doanh nghiệp",
        staff,
    )
    status = TierStatus.objects.get(member=member)
    assert status.retention_deadline is not None  # the VIP cycle starts now
    assert (status.floor_tier, status.floor_until) == (None, None)
    assert len(tier_messages(member)) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reason": "   "}, "reason"),
        ({"reason": ""}, "reason"),
        ({"staff_user": None}, "staff_user"),
        ({"floor_until": "yesterday"}, "floor_until"),
    ],
)
def test_setting_a_tier_without_a_reason_or_with_a_past_guarantee_is_refused_and_writes_nothing(
    member, tiers, staff, kwargs, field
):
    arguments = {"member": member, "tier": tiers["VIP"], "reason": "Lý do", "staff_user": staff, **kwargs}
    if arguments.get("floor_until") == "yesterday":
        arguments["floor_until"] = in_days(-1)
    before = written_state()
    with pytest.raises(ValidationFailed) as refused:
        tier_set(**arguments)
    assert field in refused.value.errors
    assert written_state() == before
    assert not TierStatus.objects.filter(member=member).exists()


def test_setting_the_tier_the_member_already_has_is_refused(member, tiers, staff):
    before = written_state()
    with pytest.raises(ValidationFailed):
        tier_set(member=member, tier=tiers["MEMBER"], reason="Không đổi", staff_user=staff)
    assert written_state() == before


def test_a_guarantee_keeps_the_member_in_the_tier_through_the_evaluation(member, tiers, staff):
    # Given a VIP whose cycle ended unmet, guaranteed VIP by staff for 30 more days
    spend(member, 5_000_000, "sale:1", days_ago=400)
    tier_set(member=member, tier=tiers["VIP"], reason="Khiếu nại đã xử lý", staff_user=staff, floor_until=in_days(30))
    # (same tier: only the guarantee changed, and the history says so)
    assert TierChange.objects.filter(member=member, kind=TierChange.Kind.STAFF).count() == 1

    summary = tiers_evaluate()

    assert summary.downgraded == 0
    assert member_tier(member=member).code == "VIP"
    why = member_tier_explain(member=member)
    assert (why.floor_tier.code, why.floor_until) == ("VIP", in_days(30))


def test_a_guarantee_below_the_tier_stops_the_fall_at_the_guaranteed_tier(member, tiers, staff):
    diamond = tiers["DIAMOND"]
    diamond.on_failure = diamond.OnFailure.SUPPORTED  # with no spend: all the way down to MEMBER
    tier_save(tier=diamond)
    tier_set(member=member, tier=tiers["VIP"], reason="Ưu đãi đối tác", staff_user=staff, floor_until=in_days(60))
    spend(member, 20_000_000, "sale:1", days_ago=1)  # spend still takes them higher
    assert member_tier(member=member).code == "DIAMOND"
    TierStatus.objects.filter(member=member).update(retention_deadline=in_days(-2))

    assert tiers_evaluate().moves == {("DIAMOND", "VIP"): 1}


def test_a_refund_reverting_an_upgrade_returns_to_the_guaranteed_tier(member, tiers, staff):
    tier_set(member=member, tier=tiers["VIP"], reason="Đối tác", staff_user=staff, floor_until=in_days(5))
    spend(member, 20_000_000, "sale:1", days_ago=1)
    assert member_tier(member=member).code == "DIAMOND"
    tier_spend_reverse(
        member=member, amount=Decimal(20_000_000), reference="refund:1", original_reference="sale:1", full=True
    )
    assert member_tier(member=member).code == "VIP"


def test_an_ended_guarantee_is_cleared_by_the_evaluation(member, tiers, staff):
    tier_set(member=member, tier=tiers["VIP"], reason="Thử", staff_user=staff, floor_until=local_today())
    TierStatus.objects.filter(member=member).update(floor_until=in_days(-1))
    assert tiers_evaluate().guarantees_ended == 1
    status = TierStatus.objects.get(member=member)
    assert (status.floor_tier, status.floor_until) == (None, None)


# --- Recompute after the rules change ---------------------------------------------------------


@pytest.fixture
def spread(tiers):
    """Members with 3,000,000 / 6,000,000 / 8,000,000 / 25,000,000 VND of qualifying spend, and
    one who never bought anything."""
    members = {}
    for name, amount in [("three", 3_000_000), ("six", 6_000_000), ("eight", 8_000_000), ("rich", 25_000_000)]:
        members[name] = enrol()
        spend(members[name], amount, f"sale:{name}", days_ago=20)
    members["idle"] = enrol()
    return members


def test_the_recompute_preview_counts_who_would_move_up_and_down_and_writes_nothing(spread, tiers):
    vip = tiers["VIP"]
    vip.threshold = Decimal(7_000_000)  # 6,000,000 is no longer VIP
    tier_save(tier=vip)
    diamond = tiers["DIAMOND"]
    diamond.threshold = Decimal(8_000_000)  # 8,000,000 is DIAMOND now
    tier_save(tier=diamond)
    before = written_state()

    preview = tiers_recompute_preview()

    assert preview.moves == {("VIP", "MEMBER"): 1, ("VIP", "DIAMOND"): 1}
    assert (preview.up, preview.down, preview.total) == (1, 1, 2)
    assert written_state() == before


def test_the_recompute_moves_exactly_what_the_preview_said(spread, tiers, staff, tier_changed_template):
    vip = tiers["VIP"]
    vip.threshold = Decimal(2_000_000)
    tier_save(tier=vip)
    preview = tiers_recompute_preview()
    assert preview.moves == {("MEMBER", "VIP"): 1}

    done = tiers_recompute(staff_user=staff)

    assert done.moves == preview.moves
    assert member_tier(member=spread["three"]).code == "VIP"
    assert member_tier(member=spread["idle"]).code == "MEMBER"
    change = TierChange.objects.get(member=spread["three"], kind=TierChange.Kind.RECOMPUTE)
    assert (change.from_tier.code, change.to_tier.code, change.staff_user) == ("MEMBER", "VIP", staff)
    assert TierStatus.objects.get(member=spread["three"]).retention_deadline is not None
    assert len(tier_messages(spread["three"])) == 1
    # and a second recompute finds nothing to do
    assert tiers_recompute_preview().total == 0
    before = written_state()
    assert tiers_recompute(staff_user=staff).total == 0
    assert written_state() == before


def test_the_recompute_never_takes_a_member_below_a_guarantee(spread, tiers, staff):
    tier_set(member=spread["six"], tier=tiers["VIP"], reason="Đối tác", staff_user=staff, floor_until=in_days(10))
    vip = tiers["VIP"]
    vip.threshold = Decimal(7_000_000)
    tier_save(tier=vip)
    assert tiers_recompute_preview().moves == {}
    tier_set(member=spread["three"], tier=tiers["DIAMOND"], reason="VIP", staff_user=staff, floor_until=in_days(10))
    assert tiers_recompute_preview().moves == {}
