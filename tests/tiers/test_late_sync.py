"""Late-synced sales count for tier cycles at their `occurred_at` (risk.md "Tills"): the cycle a
sale opens starts at that sale, and every later sale (by `occurred_at`) counts towards keeping
the tier, in whatever order the tills sent them."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from tests.tiers.conftest import enrol
from tiers.models import TierChange, TierStatus
from tiers.selectors import local_today, start_of_day
from tiers.services import tier_spend_record, tier_spend_reverse

pytestmark = pytest.mark.django_db


def yesterday_at(hour: int, minute: int) -> datetime.datetime:
    return start_of_day(local_today() - datetime.timedelta(days=1)) + datetime.timedelta(hours=hour, minutes=minute)


def sync(member, reference, amount, when):
    return tier_spend_record(member=member, amount=Decimal(amount), reference=reference, occurred_at=when)


def evaluate_a_year_on(days: int = 368) -> None:
    with time_machine.travel(timezone.now() + datetime.timedelta(days=days), tick=False):
        call_command("evaluate_tiers", stdout=StringIO())


def status_of(member) -> TierStatus:
    return TierStatus.objects.select_related("tier").get(member=member)


@pytest.mark.parametrize("enrolled_days_ago", [0, 800])
@pytest.mark.parametrize("order", ["as made", "reversed"])
def test_two_sales_of_yesterday_synced_today_make_a_vip_from_11_02_who_already_kept_vip(
    tiers, enrolled_days_ago, order
):
    member = enrol(days_ago=enrolled_days_ago)  # 0: enrolled today, the enrolment synced with the sales
    sales = [("sale:1102", 5_000_000, yesterday_at(11, 2)), ("sale:1103", 10_000_000, yesterday_at(11, 3))]
    for reference, amount, when in sales if order == "as made" else reversed(sales):
        sync(member, reference, amount, when)

    status = status_of(member)
    assert status.tier.code == "VIP"
    assert status.since == yesterday_at(11, 2)
    assert status.cycle_started_at > yesterday_at(11, 2) and status.cycle_started_at < yesterday_at(11, 3)
    assert status.cycle_spend == Decimal(10_000_000)
    assert status.qualifying_spend == Decimal(15_000_000)
    assert TierChange.objects.filter(member=member, kind=TierChange.Kind.UPGRADE).count() == 1

    evaluate_a_year_on()
    status = status_of(member)
    assert status.tier.code == "VIP" and status.cycle_spend == 0  # renewed: a new cycle
    assert status.cycle_started_at > timezone.now()


def test_without_the_second_sale_the_same_vip_drops_a_year_on(tiers):
    member = enrol(days_ago=0)
    sync(member, "sale:1102", 5_000_000, yesterday_at(11, 2))
    assert status_of(member).cycle_spend == 0
    evaluate_a_year_on()
    assert status_of(member).tier.code == "MEMBER"


def test_a_sale_recorded_earlier_but_made_later_counts_towards_the_cycle_a_late_sale_opens(tiers):
    member = enrol()
    sync(member, "sale:today", 300_000, timezone.now() - datetime.timedelta(minutes=5))  # recorded first
    sync(member, "sale:late", 5_000_000, yesterday_at(11, 2))  # synced after it
    status = status_of(member)
    assert (status.tier.code, status.since, status.cycle_spend) == ("VIP", yesterday_at(11, 2), Decimal(300_000))


def test_refunding_the_late_synced_sale_that_kept_vip_takes_it_off_the_cycle(tiers):
    member = enrol(days_ago=0)
    sync(member, "sale:1102", 5_000_000, yesterday_at(11, 2))
    sync(member, "sale:1103", 10_000_000, yesterday_at(11, 3))
    tier_spend_reverse(
        member=member, amount=Decimal(10_000_000), reference="refund:1", original_reference="sale:1103", full=True
    )
    status = status_of(member)
    assert (status.tier.code, status.cycle_spend, status.qualifying_spend) == ("VIP", 0, Decimal(5_000_000))
    evaluate_a_year_on()
    assert status_of(member).tier.code == "MEMBER"


def test_refunding_the_late_sale_that_made_the_member_vip_reverts_the_upgrade(tiers):
    member = enrol(days_ago=0)
    sync(member, "sale:1102", 5_000_000, yesterday_at(11, 2))
    tier_spend_reverse(
        member=member, amount=Decimal(5_000_000), reference="refund:1", original_reference="sale:1102", full=True
    )
    status = status_of(member)
    assert (status.tier.code, status.qualifying_spend, status.cycle_started_at) == ("MEMBER", 0, None)


def test_a_late_sale_never_takes_a_tier_away(tiers):
    member = enrol()
    sync(member, "sale:vip", 5_000_000, timezone.now() - datetime.timedelta(minutes=5))
    # A partial refund after the upgrade leaves VIP in place with less than its threshold.
    tier_spend_reverse(
        member=member, amount=Decimal(1_000_000), reference="refund:1", original_reference="sale:vip", full=False
    )
    sync(member, "sale:late", 100_000, yesterday_at(11, 2))  # a replay alone would not reach VIP
    status = status_of(member)
    assert status.tier.code == "VIP" and status.qualifying_spend == Decimal(4_100_000)
