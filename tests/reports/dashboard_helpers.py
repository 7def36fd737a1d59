"""A small made-up history for the dashboard tests (ordinary and browser): two brands, a member
sale and a non-member sale at PHO-HN01, a member sale at CAFE-HN01, and one sale 35 days ago
(the previous period of the default 30 days), all recorded through the POS API at 11:00 local
time, outside every promotion window of the demo programme."""

from __future__ import annotations

import datetime
from decimal import Decimal

import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from backoffice.models import StaffProfile
from backoffice.roles import MARKETING, STORE_MANAGER
from stores.models import Brand, Store
from tests.factories import MemberFactory
from tests.pos.conftest import local, post, till
from tests.pos.test_sales_api import SALES, coffee, pho_lines, sale_body

PASSWORD = "pw-for-tests-only"

# Net sales by hand (no discount applies at 11:00 to a MEMBER-tier member; nothing redeemed).
PHO_MEMBER, PHO_OTHER, CAFE_MEMBER, EARLIER = 200_000, 80_000, 70_000, 100_000


def sell(client, receipt: str, lines, member, at: datetime.datetime) -> None:
    response = post(client, SALES, sale_body(receipt, lines, member, at=at), key=receipt)
    assert response.status_code == 201, response.content


def make_history() -> dict:
    pho_store, cafe_store = Store.objects.get(code="PHO-HN01"), Store.objects.get(code="CAFE-HN01")
    pho, cafe = till("PHO-HN01"), till("CAFE-HN01")
    lan = MemberFactory(name="Trần Thị Lan", home_store=pho_store)
    minh = MemberFactory(name="Lê Văn Minh", home_store=cafe_store)
    sell(pho, "P-1", pho_lines(PHO_MEMBER), lan, local(2, 11))
    sell(pho, "P-2", pho_lines(PHO_OTHER), None, local(3, 11))
    sell(cafe, "C-1", coffee(2), minh, local(4, 11))
    earlier = local(35, 11)
    # The POS accepts sales back-dated by 7 days at most: the older one is recorded "then".
    with time_machine.travel(earlier + datetime.timedelta(minutes=5), tick=False):
        sell(pho, "P-0", pho_lines(EARLIER), lan, earlier)
    return {"pho": pho_store, "cafe": cafe_store, "lan": lan, "minh": minh}


def staff_user(username: str, role: str | None = None, *, brands: tuple[str, ...] = ()):
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    if brands:
        StaffProfile.objects.create(user=user).brands.set(Brand.objects.filter(code__in=brands))
    return get_user_model().objects.get(pk=user.pk)


def marketing_user():
    return staff_user("marketing", MARKETING)


def pho_manager():
    return staff_user("manager", STORE_MANAGER, brands=("PHO",))


def last_30_days() -> tuple[datetime.date, datetime.date]:
    today = timezone.localdate()
    return today - datetime.timedelta(days=29), today


def vnd_vi(amount) -> str:
    """1250000 -> '1.250.000 đ' (a no-break space before the unit), written out here, not with
    the code under test."""
    return f"{int(Decimal(amount)):,}\u00a0đ".replace(",", ".")
