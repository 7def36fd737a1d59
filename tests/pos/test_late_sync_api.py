"""The late-synced sales of risk.md "Tills" end to end through the POS API: an offline till
sends yesterday's sales today (`occurred_at` in the body); they count as if recorded then."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from members.selectors import ledger_drift
from tests.factories import MemberFactory
from tests.pos.conftest import local, post
from tests.pos.test_sales_api import SALES, pho_lines, sale_body
from tiers.models import TierStatus

pytestmark = pytest.mark.django_db


def sync(client, receipt, member, amount, at):
    response = post(client, SALES, sale_body(receipt, pho_lines(amount), member, at=at), key=receipt)
    assert response.status_code == 201, response.content
    return response.json()


def evaluate_a_year_on():
    with time_machine.travel(timezone.now() + datetime.timedelta(days=368), tick=False):
        call_command("evaluate_tiers", stdout=StringIO())
    return TierStatus.objects.select_related("tier").get().tier.code


def test_5_million_at_11_02_and_10_million_at_11_03_yesterday_synced_today_keep_vip_a_year_on(pho):
    member = MemberFactory()  # enrolled today, as an offline till's enrolment arrives with its sales
    first = sync(pho, "OFF-1102", member, 5_000_000, local(1, 11, 2))
    second = sync(pho, "OFF-1103", member, 10_000_000, local(1, 11, 3))
    assert first["tier_changed"] and first["tier"]["code"] == "VIP" and first["points_earned"] == 250
    assert not second["tier_changed"] and second["points_earned"] == 1000  # earned at VIP, 10 %
    status = TierStatus.objects.get(member=member)
    assert status.since == local(1, 11, 2)
    assert status.cycle_spend == 10_000_000  # the 10,000,000 needed to keep VIP: already met
    assert evaluate_a_year_on() == "VIP"
    assert ledger_drift() == []


def test_the_same_sales_synced_in_the_other_order_count_the_same(pho):
    member = MemberFactory()
    sync(pho, "OFF-1103", member, 10_000_000, local(1, 11, 3))
    sync(pho, "OFF-1102", member, 5_000_000, local(1, 11, 2))
    status = TierStatus.objects.select_related("tier").get(member=member)
    assert (status.tier.code, status.since, status.cycle_spend) == ("VIP", local(1, 11, 2), 10_000_000)
    assert evaluate_a_year_on() == "VIP"


def test_refunding_the_late_synced_sale_that_kept_vip_lets_vip_lapse_a_year_on(pho):
    member = MemberFactory()
    sync(pho, "OFF-1102", member, 5_000_000, local(1, 11, 2))
    kept = sync(pho, "OFF-1103", member, 10_000_000, local(1, 11, 3))
    response = post(pho, f"{SALES}/{kept['id']}/refunds", {}, key="refund-1103")
    assert response.status_code == 201, response.content
    assert response.json()["points_reversed"] == 1000
    status = TierStatus.objects.get(member=member)
    assert (status.cycle_spend, status.qualifying_spend) == (0, 5_000_000)
    assert evaluate_a_year_on() == "MEMBER"
    assert ledger_drift() == []
