"""The kept member activity structure (`MemberDay`, `ActivityGap`) counts active members exactly:
for every range between interesting days (month and year boundaries, days with orders and the
days around them) and every kind of scope, the count equals the definition read from the sales
(distinct members with an order, a sale not refunded in full, in the range at the scope's
stores), after a build, after late-synced sales and a full refund (read raw until the refresh),
after the refresh (from the structure again), and after a rebuild from scratch.

History (days of the last year boundary Y that is at least 30 days ago; stores PHO-HN01 and
PHO-HCM01 of brand PHO, CAFE-HN01 of brand CAFE):
  m1  PHO-HN01 Jun 15 (Y-1), PHO-HN01 Nov 30, PHO-HN01 Dec 31, CAFE-HN01 Jan 1
  m2  CAFE-HN01 Dec 1, CAFE-HN01 Jan 2
  m3  PHO-HN01 Dec 31 (refunded in full later), PHO-HCM01 Jan 11
  m4  CAFE-HN01 and PHO-HN01 Nov 29
  m1  PHO-HN01 6 and 4 days ago (D-6, D-4); m3 PHO-HN01 D-4
Later, after the rollups: sales synced late (a till takes at most 7 days) for m1 at PHO-HN01 on
D-5 (between two of their order days: the gap before their D-4 changes) and m5 at CAFE-HN01 on
D-4, the full refund of m3's Dec 31 sale, a partial refund of m2's Jan 2 sale (no order day
changes)."""

from __future__ import annotations

import datetime
import itertools

import pytest
import time_machine
from django.utils import timezone

from pos.models import Sale
from reports import services
from reports.definitions import IS_ORDER
from reports.figures import Scope, active_members_in, day_start, period_figures, raw_days
from reports.models import ActivityGap, MemberDay, RollupDay
from reports.services import rollups_rebuild, rollups_refresh
from stores.models import Brand, Store
from tests.pos.conftest import demo_programme, post, till  # noqa: F401 -- the demo fixture
from tests.pos.test_sales_api import SALES
from tests.reports.conftest import at, enrol, sale, today

pytestmark = pytest.mark.django_db


def _year_start() -> datetime.date:
    now = today()
    year = now.year if (now - datetime.date(now.year, 1, 1)).days >= 30 else now.year - 1
    return datetime.date(year, 1, 1)


class Activity:
    def __init__(self):
        self.jan1 = jan1 = _year_start()
        y0 = jan1.year - 1
        self.days = {
            "jun14": datetime.date(y0, 6, 14),
            "jun15": datetime.date(y0, 6, 15),
            "nov29": datetime.date(y0, 11, 29),
            "nov30": datetime.date(y0, 11, 30),
            "dec1": datetime.date(y0, 12, 1),
            "dec2": datetime.date(y0, 12, 2),
            "dec15": datetime.date(y0, 12, 15),
            "dec30": datetime.date(y0, 12, 30),
            "dec31": datetime.date(y0, 12, 31),
            "jan1": jan1,
            "jan2": jan1 + datetime.timedelta(days=1),
            "jan11": jan1 + datetime.timedelta(days=10),
            "jan12": jan1 + datetime.timedelta(days=11),
            **{f"d{n}": today() - datetime.timedelta(days=n) for n in (7, 6, 5, 4, 3)},
        }
        self.stores = {code: Store.objects.get(code=code) for code in ("PHO-HN01", "PHO-HCM01", "CAFE-HN01")}
        self.tills = {code: till(code) for code in self.stores}
        self.receipts = itertools.count(1)

    def day(self, name: str) -> datetime.date:
        return self.days[name]

    def sale(self, member, store: str, day: str, **kwargs) -> dict:
        return sale(self.tills[store], f"A{next(self.receipts)}", 100_000, member, at(self.day(day), 11), **kwargs)

    def build(self):
        members = [enrol(at(self.day("jun14"), 9), self.stores["PHO-HN01"]) for _ in range(5)]
        self.m1, self.m2, self.m3, self.m4, self.m5 = members
        self.sale(self.m1, "PHO-HN01", "jun15")
        self.sale(self.m1, "PHO-HN01", "nov30")
        self.sale(self.m1, "PHO-HN01", "dec31")
        self.sale(self.m1, "CAFE-HN01", "jan1")
        self.sale(self.m2, "CAFE-HN01", "dec1")
        self.m2_jan2 = self.sale(self.m2, "CAFE-HN01", "jan2", quantity=2)
        self.m3_dec31 = self.sale(self.m3, "PHO-HN01", "dec31")
        self.sale(self.m3, "PHO-HCM01", "jan11")
        self.sale(self.m4, "CAFE-HN01", "nov29")
        self.sale(self.m4, "PHO-HN01", "nov29")
        self.sale(self.m1, "PHO-HN01", "d6")
        self.sale(self.m1, "PHO-HN01", "d4")
        self.sale(self.m3, "PHO-HN01", "d4")

    def late(self):
        self.sale(self.m1, "PHO-HN01", "d5", synced_now=True)
        self.sale(self.m5, "CAFE-HN01", "d4", synced_now=True)
        response = post(self.tills["PHO-HN01"], f"{SALES}/{self.m3_dec31['id']}/refunds", {}, key="RA1")
        assert response.status_code == 201, response.content
        body = {"lines": [{"sku": "PHO-DAC-BIET", "quantity": 1}]}
        response = post(self.tills["CAFE-HN01"], f"{SALES}/{self.m2_jan2['id']}/refunds", body, key="RA2")
        assert response.status_code == 201, response.content

    def ranges(self) -> list[tuple[datetime.date, datetime.date]]:
        ends = sorted(self.days.values())
        return [(a, b) for a in ends for b in ends if a <= b]

    def scopes(self) -> list[Scope]:
        pho, hcm, cafe = (self.stores[c].pk for c in ("PHO-HN01", "PHO-HCM01", "CAFE-HN01"))
        return [
            Scope(),  # all stores
            Scope(store_id=pho),  # one store
            Scope(brand_id=Brand.objects.get(code="PHO").pk),  # a brand of two stores
            Scope(brand_id=Brand.objects.get(code="CAFE").pk),
            Scope(store_ids=frozenset({pho, cafe})),  # a staff user's stores: the order days
            Scope(brand_id=Brand.objects.get(code="PHO").pk, store_ids=frozenset({hcm, cafe})),
        ]


def by_definition(a: datetime.date, b: datetime.date, stores: frozenset[int] | None) -> int:
    sales = Sale.objects.filter(
        IS_ORDER,
        member__isnull=False,
        occurred_at__gte=day_start(a),
        occurred_at__lt=day_start(b + datetime.timedelta(1)),
    )
    if stores is not None:
        sales = sales.filter(store_id__in=stores)
    return sales.values("member_id").distinct().count()


def assert_exact(activity: Activity) -> None:
    ranges = activity.ranges()
    for scope in activity.scopes():
        stores = scope.stores("default")
        expected = [by_definition(a, b, stores) for a, b in ranges]
        assert active_members_in(ranges, scope, stores, "default") == expected, scope


def gap_rows() -> list[tuple]:
    return list(
        ActivityGap.objects.order_by("kind", "scope_id", "day", "previous_day").values_list(
            "kind", "scope_id", "day", "previous_day", "members"
        )
    )


@pytest.fixture
def activity(demo_programme) -> Activity:  # noqa: F811
    return Activity()


@pytest.mark.parametrize("looked_up", [True, False], ids=["earlier-days-by-lookup", "earlier-days-grouped"])
def test_active_members_stay_exact_through_late_sales_refunds_refresh_and_rebuild(activity, looked_up, monkeypatch):
    # The gaps' rebuild reads a member's order day before the rebuilt days by index for a short
    # rebuild, grouped for a long one: both ways give the same structure.
    monkeypatch.setattr(services, "LOOKED_UP_DAYS", 10**9 if looked_up else 0)
    activity.build()
    first, last = activity.day("jun14"), activity.day("d3")
    # The local day is read before travelling back 3 hours: at 00:05 local, 3 hours ago is yesterday.
    end = today() - datetime.timedelta(days=3)
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=3), tick=False):
        rollups_rebuild(start=first - datetime.timedelta(days=3), end=end)
    assert raw_days(first, last, "default") == []  # every count below comes from the structure
    assert_exact(activity)
    # By hand: in [Dec 31, Jan 1], m1 and m3 at any store; m1 alone at CAFE (brand), m1 and m3 at PHO-HN01.
    dec31, jan1 = activity.day("dec31"), activity.day("jan1")
    assert active_members_in([(dec31, jan1)], Scope(), None, "default") == [2]

    with time_machine.travel(timezone.now() - datetime.timedelta(hours=2), tick=False):
        activity.late()
    assert raw_days(first, last, "default") != []  # the touched days are read raw until the refresh
    assert_exact(activity)

    rollups_refresh()
    assert raw_days(first, last, "default") == []
    assert_exact(activity)
    assert active_members_in([(dec31, jan1), (activity.day("d5"), activity.day("d4"))], Scope(), None, "default") == [
        1,
        3,
    ]
    # m1's D-4 now follows their late D-5, not D-6.
    assert ActivityGap.objects.filter(
        kind=ActivityGap.Kind.STORE,
        scope_id=activity.stores["PHO-HN01"].pk,
        day=activity.day("d4"),
        previous_day=activity.day("d5"),
        members=1,
    ).exists()

    kept = gap_rows()
    MemberDay.objects.all().delete()
    ActivityGap.objects.all().delete()
    RollupDay.objects.all().delete()
    rollups_rebuild(start=first - datetime.timedelta(days=3), end=today() - datetime.timedelta(days=3))
    assert gap_rows() == kept
    assert raw_days(first, last, "default") == []
    assert_exact(activity)


def test_returning_rate_over_a_year_boundary_from_the_structure(activity):
    activity.build()
    end = today() - datetime.timedelta(days=3)  # before travelling back (see above)
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=3), tick=False):
        rollups_rebuild(start=activity.day("jun14"), end=end)
    # Period [Jan 1, Jan 11], previous [Dec 21, Dec 31]: active before m1, m3; again m1 (Jan 1),
    # m3 (Jan 11); m2 is new in the period (Dec 1 is before the previous period).
    got = period_figures(start=activity.day("jan1"), end=activity.day("jan11"), scope=Scope())
    assert (got["active_members"], str(got["returning_rate"])) == (3, "1.0000")
    # At PHO-HN01 only: previous m1, m3; again none of them at that store.
    store = activity.stores["PHO-HN01"].pk
    got = period_figures(start=activity.day("jan1"), end=activity.day("jan11"), scope=Scope(store_id=store))
    assert (got["active_members"], str(got["returning_rate"])) == (0, "0.0000")
    # Over the month boundary [Nov 30, Dec 1] (previous [Nov 28, Nov 29]: m4, not again).
    got = period_figures(start=activity.day("nov30"), end=activity.day("dec1"), scope=Scope())
    assert (got["active_members"], str(got["returning_rate"])) == (2, "0.0000")
