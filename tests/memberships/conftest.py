import datetime
import zoneinfo
from decimal import Decimal

import pytest

from memberships.demo import demo_memberships_load
from memberships.models import PaidPlan
from tests.factories import MemberFactory
from tests.pos.conftest import cafe, demo_programme, pho  # noqa: F401 -- the demo fixtures

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
MEMBERSHIPS = "/api/pos/v1/members/{id}/memberships"


@pytest.fixture
def club(demo_programme) -> PaidPlan:  # noqa: F811
    """The demo's CLUB plan (199,000 VND a year, x1.5, a PCT10 voucher a month, 14 days' refund)."""
    demo_memberships_load()
    plan = PaidPlan.objects.get(code="CLUB")
    assert plan.fee == Decimal(199_000) and plan.earn_multiplier == Decimal("1.5")
    return plan


@pytest.fixture
def member(demo_programme):  # noqa: F811
    return MemberFactory()


def at(year, month, day, hour=12) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=HCM)


@pytest.fixture
def frozen_now():
    """`frozen_now(moment)` stops this process's clock at `moment` (time-machine) until the test ends."""
    import time_machine

    travellers = []

    def freeze(moment: datetime.datetime) -> None:
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)

    yield freeze
    for traveller in travellers:
        traveller.stop()
