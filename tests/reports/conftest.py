"""A small made-up history on the demo programme, recorded through the POS API and the services
at the moments it happened (time-machine), and the figures it must give, computed by hand.

D is today (local). The period is P = [D-7, D-2], its previous period [D-13, D-8].
Stores: PHO-HN01 (brand PHO) and CAFE-HN01 (brand CAFE). Earning: 5 % of the money paid, one
point per 1,000 VND, half up (MEMBER tier); 5,000,000 VND reaches VIP (the sale still earns at
MEMBER's 5 %). Points expire 12 months after the day they were earned.

Members (enrolled at, home store, opening bonus):
  A  D-12  PHO-HN01   100 points
  B  K a year ago  CAFE-HN01  30 points, gone at the start of K+1 (K = D-7, or D-8 when D-7 is
     29 February), so the expiry falls in P
  C  D-5   PHO-HN01
  E  D-3   no home store
  F  a year before D+19, PHO-HN01, 40 points gone at D+20 (within 30 days after P)
  G  a year before D+49, CAFE-HN01, 70 points gone at D+50 (within 60 days after P)

Before the rollups were built (days up to D-1 closed):
  s1 D-10 A  PHO   200,000            earns 10           (previous period)
  s2 D-9  B  CAFE  100,000            earns 5            (previous period)
  s3 D-6  A  PHO   300,000            earns 15
  s4 D-5  C  PHO   5,000,000          earns 250, C -> VIP (an upgrade)
  s5 D-4  -  PHO   150,000
  s6 D-4  -  CAFE  80,000, refunded in full on D-3 (not an order, net 0)
  D-4 A exchanges 50 points for a CASH50K voucher at PHO (redeemed 50, issued at PHO)
  s7 D-3  A  CAFE  2 x 200,000 = 400,000 with the voucher: pays 350,000, earns 18 (17.5 half up)
  D-3 staff add 20 points to C (adjusted 20)
After the rollups ran (today):
  s8 late-synced: B CAFE 60,000 that happened D-2 11:00, earns 3
  refund of one of s7's two items: 175,000 back (350,000 x 1/2), 9 points taken back (net sales
  count refunds on their sale's day; points move on the day they move: the 9 points today)
  s9  A PHO 100,000 today (after P): earns 5
  s10 G CAFE 5,000,000 today: G -> VIP today (was MEMBER at the end of P), earns 250
  the expiry job expires B's 30 points (the entry happened at K+1 00:00, posted today)"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from members.models import LedgerEntry
from members.services import points_adjust
from members.services.ledger import points_expire_due
from stores.models import Brand, Store
from tests.factories import MemberFactory
from tests.pos.conftest import HCM, demo_programme, post, till  # noqa: F401 -- the demo fixture
from tests.pos.test_sales_api import SALES, pho_lines, sale_body
from vouchers.models import Reward, Voucher
from vouchers.services import reward_redeem


def today() -> datetime.date:
    return timezone.localtime(timezone.now(), HCM).date()


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=HCM)


def a_year_before(day: datetime.date) -> datetime.date:
    """The day whose points are gone at the start of `day + 1` (12 months after earning)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February: 28 February a year before + 12 months is 28 February too
        return day.replace(year=day.year - 1, day=28)


def sale(client, receipt, amount, member=None, when=None, quantity=1, synced_now=False, **extra) -> dict:
    """A sale recorded at `when` (default now); `synced_now`: sent now by a till that was offline."""
    lines = pho_lines(amount)
    lines[0]["quantity"] = quantity
    body = sale_body(receipt, lines, member, at=when or timezone.now(), **extra)
    if when is not None and not synced_now:
        with time_machine.travel(when, tick=False):
            response = post(client, SALES, body, key=receipt)
    else:
        response = post(client, SALES, body, key=receipt)
    assert response.status_code == 201, response.content
    return response.json()


def enrol(when: datetime.datetime, home: Store | None, points: int = 0):
    with time_machine.travel(when, tick=False):
        return MemberFactory(home_store=home, points=points)


class History:
    def __init__(self):
        self.d = today()
        self.period = (self.d - datetime.timedelta(days=7), self.d - datetime.timedelta(days=2))
        k = self.d - datetime.timedelta(days=7)
        if (k.month, k.day) == (2, 29):
            k -= datetime.timedelta(days=1)
        self.expiry_day = k + datetime.timedelta(days=1)
        self.pho, self.cafe = Store.objects.get(code="PHO-HN01"), Store.objects.get(code="CAFE-HN01")

    def day(self, back: int) -> datetime.date:
        return self.d - datetime.timedelta(days=back)

    def before_rollups(self):
        d = self.day
        self.pho_till, self.cafe_till = till("PHO-HN01"), till("CAFE-HN01")
        self.a = enrol(at(d(12), 10), self.pho, 100)
        self.b = enrol(at(a_year_before(self.expiry_day - datetime.timedelta(days=1)), 10), self.cafe, 30)
        self.f = enrol(at(a_year_before(self.d + datetime.timedelta(days=19)), 10), self.pho, 40)
        self.g = enrol(at(a_year_before(self.d + datetime.timedelta(days=49)), 10), self.cafe, 70)
        self.c = enrol(at(d(5), 10), self.pho)
        self.e = enrol(at(d(3), 10), None)
        sale(self.pho_till, "S1", 200_000, self.a, at(d(10), 11))
        sale(self.cafe_till, "S2", 100_000, self.b, at(d(9), 11))
        sale(self.pho_till, "S3", 300_000, self.a, at(d(6), 11))
        sale(self.pho_till, "S4", 5_000_000, self.c, at(d(5), 11))
        sale(self.pho_till, "S5", 150_000, None, at(d(4), 11))
        s6 = sale(self.cafe_till, "S6", 80_000, None, at(d(4), 12))
        with time_machine.travel(at(d(3), 12), tick=False):
            assert post(self.cafe_till, f"{SALES}/{s6['id']}/refunds", {}, key="R6").status_code == 201
        with time_machine.travel(at(d(4), 13), tick=False):
            voucher = reward_redeem(
                member=self.a, reward=Reward.objects.get(code="CASH50K"), store=self.pho, reference="redeem-a"
            )
        self.s7 = sale(self.cafe_till, "S7", 200_000, self.a, at(d(3), 11), quantity=2, vouchers=[voucher.code])
        assert self.s7["points_earned"] == 18
        staff = get_user_model().objects.create_user("r1-staff", password="pw-for-tests-only", is_staff=True)
        with time_machine.travel(at(d(3), 14), tick=False):
            points_adjust(member=self.c, points=20, reason="Bù điểm", created_by=staff)

    def after_rollups(self):
        d = self.day
        sale(self.cafe_till, "S8", 60_000, self.b, at(d(2), 11), synced_now=True)
        body = {"lines": [{"sku": "PHO-DAC-BIET", "quantity": 1}]}
        response = post(self.cafe_till, f"{SALES}/{self.s7['id']}/refunds", body, key="R7")
        assert response.status_code == 201, response.content
        assert response.json()["points_reversed"] == 9
        sale(self.pho_till, "S9", 100_000, self.a)
        sale(self.cafe_till, "S10", 5_000_000, self.g)
        points_expire_due(as_of=self.d)
        assert LedgerEntry.objects.filter(kind="expire").get().points == -30
        assert Voucher.objects.get().status == Voucher.Status.USED

    @property
    def brand_cafe(self) -> Brand:
        return Brand.objects.get(code="CAFE")


@pytest.fixture
def history(demo_programme) -> History:  # noqa: F811
    return History()


D0 = Decimal
# Every figure of P computed by hand from the history above (see the module docstring).
EXPECTED_ALL = {
    # net: s3 300,000 + s4 5,000,000 + s5 150,000 + s6 0 + s7 (350,000 - 175,000) + s8 60,000
    "net_sales": D0("5685000.00"),
    # gross: 300,000 + 5,000,000 + 150,000 + 80,000 + 400,000 + 60,000
    "gross_sales": D0("5990000.00"),
    "member_sales": D0("5535000.00"),  # s3 + s4 + s7 net + s8
    "member_share": D0("0.9736"),  # 5,535,000 / 5,685,000 = 0.97361...
    "orders": 5,  # s3, s4, s5, s7, s8 (s6 refunded in full)
    "member_orders": 4,
    "aov_members": D0("1383750.00"),  # 5,535,000 / 4
    "aov_non_members": D0("150000.00"),  # s5 alone
    "active_members": 3,  # A, C, B
    "new_members": 2,  # C (D-5), E (D-3)
    "purchase_frequency": D0("1.3333"),  # 4 orders / 3 members
    "returning_rate": D0("1.0000"),  # A and B active in [D-13, D-8], both again in P
    # 15 + 250 + 18 + 3; the 9 points the refund took back moved today, after P
    "points_issued": 286,
    "points_redeemed": 50,
    "points_expired": 30,
    "points_adjusted": 20,
    # occurred by the end of D-2 (posted later too: B's late s8 and expiry): A 100+10+15-50+18 = 93,
    # B 30+5+3-30 = 8, C 250+20 = 270, F 40, G 70; = the previous period's (A 110, B 35,
    # F 40, G 70) 255 + 286 - 50 - 30 + 20 (test_outstanding_points_reconcile_with_the_points_moved)
    "outstanding_points": 481,
    "liability_vnd": D0("481000.00"),
    "expiring_30": 40,  # F's lot gone at D+20
    "expiring_60": 110,  # and G's at D+50
    "expiring_90": 110,
    "vouchers_issued": 1,
    "vouchers_used": 1,
    "tiers": {"MEMBER": 5, "VIP": 1, "DIAMOND": 0},  # C reached VIP in P; G only today
    "upgrades": 1,
    "downgrades": 0,
}
EXPECTED_PHO_HN01 = {
    "net_sales": D0("5450000.00"),  # s3 + s4 + s5
    "gross_sales": D0("5450000.00"),
    "member_sales": D0("5300000.00"),
    "member_share": D0("0.9725"),  # 5,300,000 / 5,450,000 = 0.97247...
    "orders": 3,
    "member_orders": 2,
    "aov_members": D0("2650000.00"),
    "aov_non_members": D0("150000.00"),
    "active_members": 2,  # A, C
    "new_members": 1,  # C (E has no home store)
    "purchase_frequency": D0("1.0000"),
    "returning_rate": D0("1.0000"),  # A bought at PHO-HN01 in the previous period and again
    "points_issued": 265,  # s3 15 + s4 250
    "points_redeemed": 0,  # the redemption has no store
    "points_expired": 0,
    "points_adjusted": 0,
    "outstanding_points": 403,  # A 93 + C 270 + F 40 (home PHO-HN01)
    "liability_vnd": D0("403000.00"),
    "expiring_30": 40,
    "expiring_60": 40,
    "expiring_90": 40,
    "vouchers_issued": 1,  # issued at PHO-HN01
    "vouchers_used": 0,
    "tiers": {"MEMBER": 2, "VIP": 1, "DIAMOND": 0},
    "upgrades": 1,
    "downgrades": 0,
}
EXPECTED_CAFE_BRAND = {
    "net_sales": D0("235000.00"),  # s6 0 + s7 175,000 + s8 60,000
    "gross_sales": D0("540000.00"),  # 80,000 + 400,000 + 60,000
    "member_sales": D0("235000.00"),
    "member_share": D0("1.0000"),
    "orders": 2,
    "member_orders": 2,
    "aov_members": D0("117500.00"),
    "aov_non_members": D0("0.00"),  # no order from a non-member
    "active_members": 2,  # A, B
    "new_members": 0,
    "purchase_frequency": D0("1.0000"),
    "returning_rate": D0("1.0000"),  # B bought at CAFE in the previous period and again
    "points_issued": 21,  # 18 + 3 (the claw-back of 9 moved today)
    "points_redeemed": 0,
    "points_expired": 0,
    "points_adjusted": 0,
    "outstanding_points": 78,  # B 8 + G 70
    "liability_vnd": D0("78000.00"),
    "expiring_30": 0,
    "expiring_60": 70,
    "expiring_90": 70,
    "vouchers_issued": 0,
    "vouchers_used": 1,  # used at CAFE-HN01
    "tiers": {"MEMBER": 2, "VIP": 0, "DIAMOND": 0},
    "upgrades": 0,
    "downgrades": 0,
}


def expected_series(history: History) -> list[dict]:
    """The daily series of P, no filter, by hand."""
    rows = {
        history.day(n): {
            "day": history.day(n),
            "net_sales_members": D0("0.00"),
            "net_sales_others": D0("0.00"),
            "enrolments": 0,
            "points_issued": 0,
            "points_redeemed": 0,
            "points_expired": 0,
        }
        for n in range(7, 1, -1)
    }
    rows[history.day(6)].update(net_sales_members=D0("300000.00"), points_issued=15)
    rows[history.day(5)].update(net_sales_members=D0("5000000.00"), enrolments=1, points_issued=250)
    rows[history.day(4)].update(net_sales_others=D0("150000.00"), points_redeemed=50)
    rows[history.day(3)].update(net_sales_members=D0("175000.00"), enrolments=1, points_issued=18)
    rows[history.day(2)].update(net_sales_members=D0("60000.00"), points_issued=3)
    rows[history.expiry_day]["points_expired"] = 30
    return list(rows.values())
