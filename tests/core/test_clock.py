"""One clock-skew setting (`CLOCK_SKEW_SECONDS`), read by the ledger and the tiers alike."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty_site.core.clock import clock_skew
from loyalty_site.core.errors import ValidationFailed
from members.models import LedgerEntry
from members.services import points_earn
from tests.factories import MemberFactory
from tiers.demo import demo_tiers_load
from tiers.models import TierSpend
from tiers.services import tier_spend_record

pytestmark = pytest.mark.django_db


def test_the_default_tolerance_is_five_minutes():
    assert clock_skew() == datetime.timedelta(minutes=5)


def test_the_ledger_and_the_tiers_both_follow_the_setting(settings):
    demo_tiers_load()
    member = MemberFactory()
    two_minutes_ahead = timezone.now() + datetime.timedelta(minutes=2)
    settings.CLOCK_SKEW_SECONDS = 60
    with pytest.raises(ValidationFailed):
        points_earn(member=member, points=5, reference="t:earn", occurred_at=two_minutes_ahead)
    with pytest.raises(ValidationFailed):
        tier_spend_record(member=member, amount=Decimal(1000), reference="t:spend", occurred_at=two_minutes_ahead)
    assert not LedgerEntry.objects.exists() and not TierSpend.objects.exists()

    settings.CLOCK_SKEW_SECONDS = 300
    points_earn(member=member, points=5, reference="t:earn", occurred_at=two_minutes_ahead)
    tier_spend_record(member=member, amount=Decimal(1000), reference="t:spend", occurred_at=two_minutes_ahead)
    assert LedgerEntry.objects.count() == 1 and TierSpend.objects.count() == 1
