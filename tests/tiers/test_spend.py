"""Recording qualifying spend: idempotency per reference, refusals, what counts where, the
points basis and the rolling window."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from loyalty_site.core.clock import clock_skew
from loyalty_site.core.errors import ValidationFailed
from members.models import Member
from tests.tiers.conftest import enrol, local_at, spend, written_state
from tiers.errors import TierReferenceReused
from tiers.models import TierSettings, TierSpend, TierStatus
from tiers.selectors import member_tier
from tiers.services import (
    cycles,
    tier_save,
    tier_settings_update,
    tier_spend_record,
    tier_spend_reverse,
    tiers_evaluate,
)


def test_recording_the_same_reference_again_returns_the_first_outcome_and_adds_nothing(member, tiers):
    first = spend(member, 6_000_000, "sale:1", days_ago=2)
    again = spend(member, 6_000_000, "sale:1", days_ago=2)

    assert (again.tier_before.code, again.tier_after.code, again.replayed) == ("MEMBER", "VIP", True)
    assert again.tier_changed == first.tier_changed
    status = TierStatus.objects.get(member=member)
    assert status.qualifying_spend == Decimal(6_000_000)
    assert TierSpend.objects.filter(member=member).count() == 1


def test_a_reference_reused_for_another_amount_or_member_is_refused_and_writes_nothing(member, tiers):
    spend(member, 1_000_000, "sale:1", days_ago=2)
    other = enrol()
    before = written_state()

    with pytest.raises(TierReferenceReused):
        spend(member, 2_000_000, "sale:1", days_ago=2)
    with pytest.raises(TierReferenceReused):
        spend(other, 1_000_000, "sale:1", days_ago=2)

    assert written_state() == before


@pytest.mark.parametrize(
    ("amount", "reference", "occurred_at", "field"),
    [
        (Decimal(-1), "sale:x", None, "amount"),
        ("abc", "sale:x", None, "amount"),
        (Decimal("1.001"), "sale:x", None, "amount"),
        (Decimal(1), "   ", None, "reference"),
        (Decimal(1), "sale:x", datetime.datetime(2025, 1, 1, 12), "occurred_at"),  # naive
        (Decimal(1), "sale:x", "future", "occurred_at"),
    ],
)
def test_invalid_input_is_refused_and_writes_nothing(member, tiers, amount, reference, occurred_at, field):
    if occurred_at == "future":
        # Beyond the tolerated clock skew from *now*, whatever the hour (not from today's noon,
        # which is in the past every afternoon).
        occurred_at = timezone.now() + clock_skew() + datetime.timedelta(minutes=1)
    before = written_state()
    with pytest.raises(ValidationFailed) as refused:
        tier_spend_record(member=member, amount=amount, reference=reference, occurred_at=occurred_at)
    assert field in refused.value.errors
    assert written_state() == before


def test_the_services_nest_in_the_callers_transaction_and_roll_back_with_it(member, tiers):
    class CheckoutFailed(Exception):
        pass

    with pytest.raises(CheckoutFailed), transaction.atomic():
        assert spend(member, 6_000_000, "sale:1").tier_changed
        raise CheckoutFailed

    assert not TierStatus.objects.filter(member=member).exists()
    assert not TierSpend.objects.exists()
    assert member_tier(member=member).code == "MEMBER"


def test_a_sale_from_before_the_last_downgrade_no_longer_counts(member, tiers):
    spend(member, 5_000_000, "sale:1", days_ago=400)
    tiers_evaluate()  # VIP -> MEMBER, qualifying spend restarted today
    late = spend(member, 4_000_000, "sale:late", days_ago=2)  # sent late by an offline till
    assert late.qualifying_spend == 0

    # and refunding a sale that was wiped by the downgrade takes nothing off the new count
    spend(member, 1_000_000, "sale:2")
    outcome = tier_spend_reverse(
        member=member, amount=Decimal(5_000_000), reference="refund:1", original_reference="sale:1", full=True
    )
    assert outcome.qualifying_spend == Decimal(1_000_000)


def test_a_refund_of_an_unknown_sale_still_lowers_the_counters(member, tiers):
    spend(member, 3_000_000, "sale:1", days_ago=2)
    outcome = tier_spend_reverse(
        member=member, amount=Decimal(500_000), reference="refund:x", original_reference="sale:elsewhere", full=False
    )
    assert outcome.qualifying_spend == Decimal(2_500_000)


def test_the_points_basis_counts_points_earned(member, tiers):
    tier_settings_update(data={"basis": TierSettings.Basis.POINTS})
    vip, diamond = tiers["VIP"], tiers["DIAMOND"]
    vip.threshold = Decimal(500)  # points now
    tier_save(tier=vip)
    diamond.threshold = Decimal(2000)
    tier_save(tier=diamond)

    # 4,000,000 VND at 5 % = 200 points, given by the POS
    assert not tier_spend_record(
        member=member, amount=Decimal(4_000_000), reference="sale:1", occurred_at=local_at(3), points=200
    ).tier_changed
    # without points, they are computed at the member's earn rate: 6,000,000 VND at 5 % = 300
    outcome = tier_spend_record(member=member, amount=Decimal(6_000_000), reference="sale:2", occurred_at=local_at(2))
    assert (outcome.tier_after.code, outcome.qualifying_spend) == ("VIP", Decimal(500))
    refund = tier_spend_reverse(
        member=member, amount=Decimal(3_000_000), reference="refund:2", original_reference="sale:2", full=False
    )
    assert refund.qualifying_spend == Decimal(350)  # half the sale: half its 300 points


def test_a_rolling_window_counts_only_the_last_n_months(member, tiers):
    tier_settings_update(data={"window": TierSettings.Window.ROLLING, "window_months": 12})
    spend(member, 4_000_000, "sale:old", days_ago=500)
    outcome = spend(member, 2_000_000, "sale:new", days_ago=10)
    assert (outcome.tier_after.code, outcome.qualifying_spend) == ("MEMBER", Decimal(2_000_000))
    assert spend(member, 3_000_000, "sale:3", days_ago=5).tier_after.code == "VIP"


def test_changing_the_basis_rebuilds_every_counter_from_the_recorded_events(member, tiers):
    spend(member, 4_000_000, "sale:1", days_ago=500, points=200)
    spend(member, 2_000_000, "sale:2", days_ago=10, points=100)
    tier_settings_update(data={"window": TierSettings.Window.ROLLING, "window_months": 12})
    assert TierStatus.objects.get(member=member).qualifying_spend == Decimal(2_000_000)
    tier_settings_update(data={"basis": TierSettings.Basis.POINTS})
    assert TierStatus.objects.get(member=member).qualifying_spend == Decimal(100)
    tier_settings_update(data={"basis": TierSettings.Basis.SPEND, "window": TierSettings.Window.SINCE_ENROLMENT})
    assert TierStatus.objects.get(member=member).qualifying_spend == Decimal(6_000_000)


def test_the_evaluation_drops_spend_that_left_the_rolling_window(member, tiers):
    tier_settings_update(data={"window": TierSettings.Window.ROLLING, "window_months": 12})
    spend(member, 2_000_000, "sale:1", days_ago=360)
    spend(member, 1_000_000, "sale:2", days_ago=10)
    assert TierStatus.objects.get(member=member).qualifying_spend == Decimal(3_000_000)
    # the evaluation of a day 10 days later sees the first sale leave the window
    TierSettings.objects.update(last_evaluated_on=None)
    later = cycles.local_today() + datetime.timedelta(days=10)
    with mock.patch.object(cycles, "local_today", return_value=later):
        summary = tiers_evaluate(as_of=later)
    assert summary.qualifying_refreshed == 1
    assert TierStatus.objects.get(member=member).qualifying_spend == Decimal(1_000_000)


def test_a_member_without_a_row_gets_one_lazily_with_the_entry_tier(tiers):
    newcomer = enrol(days_ago=30)
    assert not TierStatus.objects.filter(member=newcomer).exists()
    spend(newcomer, 10, "sale:1")
    status = TierStatus.objects.get(member=newcomer)
    enrolled_at = Member.objects.get(pk=newcomer.pk).enrolled_at
    # Spend counts from enrolment, reaching back as far as a late-synced sale may be dated.
    assert (status.tier.code, status.since, status.counted_from) == (
        "MEMBER",
        enrolled_at,
        enrolled_at - datetime.timedelta(days=7),
    )


def test_an_amount_with_trailing_zeros_is_accepted_as_the_same_amount(member, tiers):
    outcome = tier_spend_record(
        member=member, amount=Decimal("5000000.000"), reference="sale:1", occurred_at=local_at(1)
    )
    assert outcome.tier_after.code == "VIP"
