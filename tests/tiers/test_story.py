"""The seed's story (seed 000, demo-programme.md): 5 % until 5,000,000 VND, then VIP at 10 %;
a VIP who does not spend 10,000,000 VND within 12 months of reaching VIP drops back and must
spend 5,000,000 VND again; DIAMOND drops one tier (a soft landing), optionally after a grace
period; a refund of the sale that caused an upgrade reverts it."""

from __future__ import annotations

import datetime
from decimal import Decimal

from loyalty_site.core.money import points_for_amount
from tests.tiers.conftest import enrol, local_at, spend, tier_messages, written_state
from tiers.models import TierChange, TierSpend, TierStatus
from tiers.selectors import (
    cycle_deadline,
    local_date,
    local_today,
    member_tier,
    member_tier_explain,
    start_of_day,
    tier_earn_rate,
)
from tiers.services import tier_save, tier_spend_reverse, tiers_evaluate

POINT_VALUE = Decimal(1000)


def status_of(member) -> TierStatus:
    return TierStatus.objects.select_related("tier").get(member=member)


# --- Upgrade on spend -------------------------------------------------------------------------


def test_a_member_earns_5_percent_until_5_million_then_is_vip_and_earns_10(tiers, tier_changed_template):
    # Given a new member: no status row, the entry tier, 5 %
    lan = enrol(email="lan@example.vn")
    assert member_tier(member=lan) == tiers["MEMBER"]
    assert tier_earn_rate(member=lan) == Decimal(5)
    assert not TierStatus.objects.filter(member=lan).exists()

    # When they spend 3,000,000 VND: still MEMBER (the row is created on this first event)
    first = spend(lan, 3_000_000, "sale:1", days_ago=10)
    assert (first.tier_before.code, first.tier_after.code, first.tier_changed) == ("MEMBER", "MEMBER", False)
    assert status_of(lan).qualifying_spend == Decimal(3_000_000)
    assert tier_earn_rate(member=lan) == Decimal(5)

    # When a sale takes them to 5,000,000 VND: VIP at once
    crossing = spend(lan, 2_000_000, "sale:2", days_ago=5)
    assert crossing.tier_changed
    assert (crossing.tier_before.code, crossing.tier_after.code) == ("MEMBER", "VIP")
    # The crossing sale earns at the tier held before it (5 %: 100 points on 2,000,000 VND) ...
    assert (
        points_for_amount(
            Decimal(2_000_000), rate_percent=crossing.tier_before.earn_rate_percent, point_value=POINT_VALUE
        )
        == 100
    )
    # ... and every sale after it at 10 %.
    assert tier_earn_rate(member=lan) == Decimal(10)
    assert (
        points_for_amount(Decimal(1_000_000), rate_percent=tier_earn_rate(member=lan), point_value=POINT_VALUE) == 100
    )

    status = status_of(lan)
    assert status.tier == tiers["VIP"]
    assert status.qualifying_spend == Decimal(5_000_000)
    assert status.since == local_at(5)
    assert status.retention_deadline == cycle_deadline(local_date(local_at(5)), 12)
    assert status.cycle_spend == 0  # keeping VIP counts what is spent after reaching it

    change = TierChange.objects.get(member=lan)
    assert (change.kind, change.reference, change.from_tier.code, change.to_tier.code) == (
        TierChange.Kind.UPGRADE,
        "sale:2",
        "MEMBER",
        "VIP",
    )
    [message] = tier_messages(lan)
    assert "VIP" in message.body

    why = member_tier_explain(member=lan)
    assert (why.tier.code, why.next_tier.code, why.needed_for_next) == ("VIP", "DIAMOND", Decimal(15_000_000))
    assert (why.retention_required, why.still_needed_to_keep) == (Decimal(10_000_000), Decimal(10_000_000))
    assert why.retention_deadline == status.retention_deadline


def test_one_big_sale_jumps_straight_to_the_highest_tier_reached(member, tiers):
    outcome = spend(member, 25_000_000, "sale:big", days_ago=1)
    assert (outcome.tier_before.code, outcome.tier_after.code) == ("MEMBER", "DIAMOND")
    assert TierChange.objects.filter(member=member).count() == 1
    assert tier_earn_rate(member=member) == Decimal(12)


# --- Retention --------------------------------------------------------------------------------


def test_a_vip_who_does_not_spend_10_million_within_12_months_drops_back_and_starts_again(tiers, tier_changed_template):
    # Given a member who reached VIP 400 days ago (the 12-month cycle ended about a month ago)
    # and spent only 4,000,000 VND since
    minh = enrol(email="minh@example.vn")
    spend(minh, 5_000_000, "sale:1", days_ago=400)
    spend(minh, 4_000_000, "sale:2", days_ago=200)
    status = status_of(minh)
    assert (status.tier.code, status.cycle_spend, status.qualifying_spend) == (
        "VIP",
        Decimal(4_000_000),
        Decimal(9_000_000),
    )
    assert status.retention_deadline < local_today()

    # When the cycles are evaluated
    summary = tiers_evaluate()

    # Then the member is back in MEMBER with the qualifying spend restarted at 0
    assert summary.moves == {("VIP", "MEMBER"): 1}
    status = status_of(minh)
    assert status.tier == tiers["MEMBER"]
    assert (status.qualifying_spend, status.carried_spend, status.cycle_spend) == (0, 0, 0)
    assert status.retention_deadline is None
    assert status.counted_from == start_of_day(local_today())
    change = TierChange.objects.filter(member=minh).first()
    assert (change.kind, change.from_tier.code, change.to_tier.code, change.reference) == (
        TierChange.Kind.RETENTION_NOT_MET,
        "VIP",
        "MEMBER",
        f"evaluate:{local_today().isoformat()}",
    )
    assert tier_earn_rate(member=minh) == Decimal(5)
    assert [m.body for m in tier_messages(minh)][-1].endswith("Thành viên.")

    # And they must spend 5,000,000 VND again to be VIP
    assert not spend(minh, 4_999_999, "sale:3").tier_changed
    assert spend(minh, 1, "sale:4").tier_after == tiers["VIP"]


def test_a_vip_who_spends_10_million_in_the_cycle_keeps_vip_for_the_next_cycle(member, tiers):
    spend(member, 5_000_000, "sale:1", days_ago=400)
    spend(member, 10_000_000, "sale:2", days_ago=100)
    old_deadline = status_of(member).retention_deadline

    summary = tiers_evaluate()

    assert (summary.renewed, summary.downgraded) == (1, 0)
    status = status_of(member)
    assert status.tier == tiers["VIP"]
    new_start = old_deadline + datetime.timedelta(days=1)
    assert status.cycle_started_at == start_of_day(new_start)
    assert status.retention_deadline == cycle_deadline(new_start, 12)
    assert status.cycle_spend == 0
    assert not TierChange.objects.filter(member=member, kind=TierChange.Kind.RETENTION_NOT_MET).exists()


def test_spend_after_the_cycle_ended_does_not_count_towards_it(member, tiers):
    spend(member, 5_000_000, "sale:1", days_ago=400)
    deadline = status_of(member).retention_deadline
    days_after_deadline = (local_today() - deadline).days - 1
    spend(member, 10_000_000, "sale:late", days_ago=days_after_deadline)
    assert status_of(member).cycle_spend == 0
    assert tiers_evaluate().moves == {("VIP", "MEMBER"): 1}


def test_diamond_drops_one_tier_only_a_soft_landing_on_vip(member, tiers):
    # Given a member who reached DIAMOND 400 days ago and spent nothing since (that spend
    # would not even keep VIP)
    spend(member, 20_000_000, "sale:1", days_ago=400)

    summary = tiers_evaluate()

    # Then they land on VIP, keep credit up to VIP's threshold and start a VIP cycle today
    assert summary.moves == {("DIAMOND", "VIP"): 1}
    status = status_of(member)
    assert status.tier == tiers["VIP"]
    assert status.qualifying_spend == Decimal(5_000_000)
    assert status.cycle_started_at == start_of_day(local_today())
    assert status.retention_deadline == cycle_deadline(local_today(), 12)
    assert tier_earn_rate(member=member) == Decimal(10)
    # and climb back to DIAMOND by spending the difference
    assert spend(member, 15_000_000, "sale:2").tier_after == tiers["DIAMOND"]


def test_under_the_supported_rule_diamond_would_drop_to_where_the_spend_leads(member, tiers):
    diamond = tiers["DIAMOND"]
    diamond.on_failure = diamond.OnFailure.SUPPORTED
    tier_save(tier=diamond)
    spend(member, 20_000_000, "sale:1", days_ago=400)
    other = enrol()
    spend(other, 20_000_000, "sale:2", days_ago=400)
    spend(other, 12_000_000, "sale:3", days_ago=300)  # keeps VIP's 10,000,000, not DIAMOND's 30,000,000

    assert tiers_evaluate().moves == {("DIAMOND", "MEMBER"): 1, ("DIAMOND", "VIP"): 1}
    assert member_tier(member=member).code == "MEMBER"
    assert member_tier(member=other).code == "VIP"


def test_a_grace_period_keeps_the_tier_and_spend_in_it_still_counts(member, tiers):
    diamond = tiers["DIAMOND"]
    diamond.grace_days = 60
    tier_save(tier=diamond)
    spend(member, 20_000_000, "sale:1", days_ago=400)
    deadline = status_of(member).retention_deadline
    assert (local_today() - deadline).days < 60

    first = tiers_evaluate()
    assert (first.in_grace, first.downgraded) == (1, 0)
    assert member_tier(member=member).code == "DIAMOND"
    why = member_tier_explain(member=member)
    assert why.in_grace and why.grace_until == deadline + datetime.timedelta(days=60)
    assert why.drops_to.code == "VIP"

    spend(member, 30_000_000, "sale:2")
    second = tiers_evaluate()
    assert (second.renewed, second.downgraded) == (1, 0)
    status = status_of(member)
    assert status.tier.code == "DIAMOND"
    assert status.cycle_started_at == start_of_day(deadline + datetime.timedelta(days=1))


def test_when_the_grace_period_is_over_the_member_drops(member, tiers):
    diamond = tiers["DIAMOND"]
    diamond.grace_days = 10
    tier_save(tier=diamond)
    spend(member, 20_000_000, "sale:1", days_ago=400)
    assert (local_today() - status_of(member).retention_deadline).days > 10
    assert tiers_evaluate().moves == {("DIAMOND", "VIP"): 1}


# --- Idempotency of the evaluation ------------------------------------------------------------


def test_evaluating_twice_for_the_same_day_changes_nothing_the_second_time(tiers, tier_changed_template):
    vip_failing, vip_keeping, diamond_failing, newcomer = (enrol(email=f"m{i}@example.vn") for i in range(4))
    spend(vip_failing, 6_000_000, "a:1", days_ago=400)
    spend(vip_keeping, 6_000_000, "b:1", days_ago=400)
    spend(vip_keeping, 11_000_000, "b:2", days_ago=100)  # 17,000,000 in all: still VIP
    spend(diamond_failing, 21_000_000, "c:1", days_ago=390)
    spend(newcomer, 1_000_000, "d:1", days_ago=3)

    first = tiers_evaluate()
    assert first.moves == {("DIAMOND", "VIP"): 1, ("VIP", "MEMBER"): 1}
    assert first.renewed == 1
    after_first = written_state()

    second = tiers_evaluate()

    assert (second.renewed, second.downgraded, second.kept_by_guarantee, second.messages, second.moves) == (
        0,
        0,
        0,
        0,
        {},
    )
    assert written_state() == after_first


# --- A refund reverting an upgrade ------------------------------------------------------------


def test_a_full_refund_of_the_sale_that_caused_the_upgrade_reverts_it(member, tiers, tier_changed_template):
    spend(member, 3_000_000, "sale:1", days_ago=20)
    assert spend(member, 2_500_000, "sale:2", days_ago=10).tier_after.code == "VIP"

    outcome = tier_spend_reverse(
        member=member, amount=Decimal(2_500_000), reference="refund:1", original_reference="sale:2", full=True
    )

    assert (outcome.tier_before.code, outcome.tier_after.code, outcome.tier_changed) == ("VIP", "MEMBER", True)
    status = status_of(member)
    assert (status.tier.code, status.qualifying_spend, status.retention_deadline) == (
        "MEMBER",
        Decimal(3_000_000),
        None,
    )
    assert status.since == member.enrolled_at  # the tier and its date as they were before the sale
    change = TierChange.objects.filter(member=member).first()
    assert (change.kind, change.reference, change.to_tier.code) == (
        TierChange.Kind.REFUND_REVERTED,
        "refund:1",
        "MEMBER",
    )
    assert "sale:2" in change.note


def test_partial_refunds_revert_only_once_the_whole_sale_is_refunded(member, tiers):
    spend(member, 3_000_000, "sale:1", days_ago=20)
    spend(member, 2_500_000, "sale:2", days_ago=10)

    partial = tier_spend_reverse(
        member=member, amount=Decimal(1_000_000), reference="refund:1", original_reference="sale:2", full=False
    )
    assert not partial.tier_changed and partial.qualifying_spend == Decimal(4_500_000)

    rest = tier_spend_reverse(
        member=member, amount=Decimal(1_500_000), reference="refund:2", original_reference="sale:2", full=False
    )
    assert (rest.tier_after.code, rest.qualifying_spend) == ("MEMBER", Decimal(3_000_000))


def test_a_refund_keeps_the_upgrade_when_the_threshold_is_still_met_or_another_sale_caused_it(member, tiers):
    spend(member, 3_000_000, "sale:1", days_ago=20)
    spend(member, 2_500_000, "sale:2", days_ago=10)
    spend(member, 4_000_000, "sale:3", days_ago=5)
    still_met = tier_spend_reverse(
        member=member, amount=Decimal(2_500_000), reference="refund:1", original_reference="sale:2", full=True
    )
    assert (still_met.tier_after.code, still_met.qualifying_spend) == ("VIP", Decimal(7_000_000))

    other = enrol()
    spend(other, 6_000_000, "other:1", days_ago=20)
    spend(other, 1_000_000, "other:2", days_ago=10)
    not_the_cause = tier_spend_reverse(
        member=other, amount=Decimal(1_000_000), reference="other:refund", original_reference="other:2", full=True
    )
    assert not not_the_cause.tier_changed


def test_a_reverted_vip_to_diamond_upgrade_restores_the_vip_cycle(member, tiers):
    spend(member, 6_000_000, "sale:1", days_ago=100)
    vip = status_of(member)
    spend(member, 2_000_000, "sale:2", days_ago=50)
    spend(member, 13_000_000, "sale:3", days_ago=10)
    assert member_tier(member=member).code == "DIAMOND"
    spend(member, 1_000_000, "sale:4", days_ago=5)

    tier_spend_reverse(
        member=member, amount=Decimal(13_000_000), reference="refund:3", original_reference="sale:3", full=True
    )

    status = status_of(member)
    assert status.tier.code == "VIP"
    assert (status.since, status.cycle_started_at, status.retention_deadline) == (
        vip.since,
        vip.cycle_started_at,
        vip.retention_deadline,
    )
    assert status.cycle_spend == Decimal(3_000_000)  # 2,000,000 before the upgrade + 1,000,000 after
    assert status.qualifying_spend == Decimal(9_000_000)


def test_refunds_never_take_off_more_than_the_sale_added(member, tiers):
    # A caller rounding each partial refund up (50,001 + 50,001 of a 100,001 sale) must not
    # take off more than the sale, nor be refused.
    spend(member, 3_000_000, "sale:0", days_ago=5)
    spend(member, 100_001, "sale:1", days_ago=3)
    first = tier_spend_reverse(
        member=member, amount=Decimal(50_001), reference="refund:1", original_reference="sale:1", full=False
    )
    assert first.qualifying_spend == Decimal(3_050_000)
    second = tier_spend_reverse(
        member=member, amount=Decimal(50_001), reference="refund:2", original_reference="sale:1", full=False
    )
    assert second.qualifying_spend == Decimal(3_000_000)
    again = tier_spend_reverse(
        member=member, amount=Decimal(50_001), reference="refund:2", original_reference="sale:1", full=False
    )
    assert again.replayed and again.qualifying_spend == Decimal(3_000_000)
    assert TierSpend.objects.get(reference="refund:2").amount == Decimal(-50_000)
