"""The ladder's rules, the demo tiers, the benefit arithmetic, and the daily job (command,
Celery task, schedule)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.schedules import declared_schedules
from members.services import member_merge
from tests.tiers.conftest import enrol, spend, tier_messages, written_state
from tiers.demo import demo_tiers_load
from tiers.errors import TierConfigInvalid, TiersNotConfigured
from tiers.models import Tier, TierChange, TierSettings, TierStatus
from tiers.selectors import (
    entry_tier,
    local_today,
    member_tier,
    tier_earn_rate,
    tier_invoice_discount,
    tier_voucher_points_cost,
)
from tiers.services import cycles, tier_delete, tier_save, tiers_evaluate
from tiers.tasks import evaluate_tiers

# --- The demo ladder --------------------------------------------------------------------------


def test_the_demo_tiers_are_those_of_the_demo_programme(db):
    assert demo_tiers_load() == 3
    member, vip, diamond = Tier.objects.order_by("rank")
    assert (member.code, member.name, member.threshold, member.earn_rate_percent) == (
        "MEMBER",
        "Thành viên",
        0,
        Decimal(5),
    )
    assert (vip.threshold, vip.earn_rate_percent, vip.retention_spend, vip.retention_months) == (
        Decimal(5_000_000),
        Decimal(10),
        Decimal(10_000_000),
        12,
    )
    assert (vip.on_failure, vip.reset_spend_on_downgrade) == (Tier.OnFailure.SUPPORTED, True)
    assert (diamond.name, diamond.threshold, diamond.earn_rate_percent) == ("Kim Cương", Decimal(20_000_000), 12)
    assert (diamond.invoice_discount_percent, diamond.voucher_points_discount_percent) == (Decimal(5), Decimal(5))
    assert (diamond.retention_spend, diamond.on_failure) == (Decimal(30_000_000), Tier.OnFailure.ONE_DOWN)
    programme = TierSettings.objects.get()
    assert (programme.basis, programme.window) == ("spend", "since_enrolment")


def test_loading_the_demo_again_changes_nothing_and_keeps_operator_edits(db):
    demo_tiers_load()
    vip = Tier.objects.get(code="VIP")
    vip.earn_rate_percent = Decimal(9)
    tier_save(tier=vip)
    Tier.objects.filter(code="DIAMOND").delete()
    TierSettings.objects.update(window="rolling", window_months=6)
    before = written_state()

    assert demo_tiers_load() == 1  # only the deleted DIAMOND comes back
    assert Tier.objects.get(code="VIP").earn_rate_percent == Decimal(9)
    assert TierSettings.objects.get().window == "rolling"
    assert demo_tiers_load() == 0
    after = written_state()
    assert after["tiers"][:2] == before["tiers"][:2]


# --- Ladder rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "changes"),
    [
        ("MEMBER", {"threshold": Decimal(1)}),
        ("MEMBER", {"retention_spend": Decimal(1), "retention_months": 3}),
        ("VIP", {"threshold": Decimal(20_000_000)}),  # not above DIAMOND's
        ("VIP", {"threshold": Decimal(0)}),  # not above MEMBER's
        ("VIP", {"rank": 1}),  # below MEMBER: a new entry tier with a threshold
        ("VIP", {"retention_months": None}),
        ("VIP", {"invoice_discount_percent": Decimal(101)}),
    ],
)
def test_the_service_refuses_a_ladder_that_does_not_hold_and_writes_nothing(tiers, code, changes):
    tier = Tier.objects.get(code=code)
    for name, value in changes.items():
        setattr(tier, name, value)
    before = written_state()
    with pytest.raises(ValidationFailed):  # TierConfigInvalid is one
        tier_save(tier=tier)
    assert written_state() == before


def test_the_last_tier_and_the_entry_tier_cannot_be_deleted(tiers):
    with pytest.raises(TierConfigInvalid):
        tier_delete(tier=tiers["MEMBER"])  # VIP would become the entry tier, with a threshold
    tier_delete(tier=tiers["DIAMOND"])
    tier_delete(tier=tiers["VIP"])
    with pytest.raises(TierConfigInvalid):
        tier_delete(tier=tiers["MEMBER"])
    assert list(Tier.objects.values_list("code", flat=True)) == ["MEMBER"]


def test_without_any_tier_the_selectors_say_so(member):
    Tier.objects.all().delete()
    with pytest.raises(TiersNotConfigured):
        entry_tier()
    with pytest.raises(TiersNotConfigured):
        member_tier(member=member)


# --- Benefits ---------------------------------------------------------------------------------


def test_member_tier_and_earn_rate_come_from_the_status_row_or_the_entry_tier(member, tiers):
    assert (entry_tier(), member_tier(member=member), tier_earn_rate(member=member)) == (
        tiers["MEMBER"],
        tiers["MEMBER"],
        Decimal(5),
    )
    spend(member, 20_000_000, "sale:1", days_ago=1)
    assert (member_tier(member=member), tier_earn_rate(member=member)) == (tiers["DIAMOND"], Decimal(12))


@pytest.mark.parametrize(
    ("points_cost", "expected"),
    [(50, 48), (80, 76), (100, 95), (0, 0), (1, 1), (21, 20)],  # 47.5 -> 48, 19.95 -> 20: always up
)
def test_diamond_vouchers_cost_5_percent_fewer_points_rounded_up(tiers, points_cost, expected):
    assert tier_voucher_points_cost(tier=tiers["DIAMOND"], points_cost=points_cost) == expected
    assert tier_voucher_points_cost(tier=tiers["VIP"], points_cost=points_cost) == points_cost


def test_diamond_gets_5_percent_off_every_invoice(tiers):
    assert tier_invoice_discount(tier=tiers["DIAMOND"], amount=Decimal(125_010)) == Decimal(6251)  # 6250.5 half-up
    assert tier_invoice_discount(tier=tiers["VIP"], amount=Decimal(125_010)) == 0


# --- The daily job ----------------------------------------------------------------------------


def test_the_command_evaluates_a_day_and_says_what_it_did(member, tiers):
    spend(member, 5_000_000, "sale:1", days_ago=400)
    out = StringIO()
    call_command("evaluate_tiers", "--as-of", local_today().isoformat(), stdout=out)
    assert "VIP → MEMBER: 1" in out.getvalue()
    assert member_tier(member=member).code == "MEMBER"
    again = StringIO()
    call_command("evaluate_tiers", stdout=again)
    assert "→" not in again.getvalue()


@pytest.mark.parametrize("value", ["31/12/2025", "tomorrow"])
def test_the_command_refuses_a_bad_or_future_day(tiers, value):
    if value == "tomorrow":
        value = (local_today() + datetime.timedelta(days=1)).isoformat()
    before = written_state()
    with pytest.raises(CommandError):
        call_command("evaluate_tiers", "--as-of", value, stdout=StringIO())
    assert written_state() == before


def test_the_evaluation_of_a_future_day_is_refused(tiers):
    with pytest.raises(ValidationFailed):
        tiers_evaluate(as_of=local_today() + datetime.timedelta(days=1))


def test_the_task_calls_the_evaluation_and_is_scheduled_daily(member, tiers):
    spend(member, 5_000_000, "sale:1", days_ago=400)
    result = evaluate_tiers(as_of=local_today().isoformat())
    assert (result["downgraded"], result["as_of"]) == (1, local_today().isoformat())
    assert evaluate_tiers()["downgraded"] == 0
    [schedule] = [s for s in declared_schedules() if s.task == "tiers.evaluate"]
    assert (schedule.minute, schedule.hour, schedule.day_of_week, schedule.day_of_month) == ("30", "1", "*", "*")


def test_the_evaluation_does_not_touch_members_whose_cycle_is_running(tiers):
    running = enrol()
    spend(running, 6_000_000, "sale:1", days_ago=30)
    before = TierStatus.objects.get(member=running)
    tiers_evaluate()
    after = TierStatus.objects.get(member=running)
    assert (after.tier_id, after.retention_deadline, after.updated_at) == (
        before.tier_id,
        before.retention_deadline,
        before.updated_at,
    )


def test_moves_are_made_a_chunk_at_a_time_and_each_member_once(tiers, monkeypatch, tier_changed_template):
    monkeypatch.setattr(cycles, "CHUNK", 2)
    failing = [enrol(email=f"f{i}@example.vn") for i in range(5)]
    for i, member in enumerate(failing):
        spend(member, 6_000_000, f"sale:{i}", days_ago=400)

    summary = tiers_evaluate()

    assert (summary.downgraded, summary.messages) == (5, 5)
    assert all(member_tier(member=member).code == "MEMBER" for member in failing)
    assert TierChange.objects.filter(kind=TierChange.Kind.RETENTION_NOT_MET).count() == 5


def test_a_merged_record_changes_tier_but_its_survivor_is_not_told_about_it(tiers, tier_changed_template):
    survivor, merged = enrol(email="a@example.vn"), enrol(email="b@example.vn")
    spend(merged, 6_000_000, "sale:1", days_ago=400)
    member_merge(survivor=survivor, merged=merged, reason="Trùng số điện thoại")
    messages_before = tier_messages(survivor)

    assert tiers_evaluate().moves == {("VIP", "MEMBER"): 1}
    assert tier_messages(survivor) == messages_before
