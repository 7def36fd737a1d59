"""The member profile, computed by hand on a small history with a partial and a full refund,
points paid and a line without a category."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.profiles import Favourite, member_profile
from tests.factories import MemberFactory
from tests.reports.members.conftest import at, days_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(sell, refund):
    """Member A (D = 40 days ago; one point per 10,000 đ paid):
    S1 D 09:00 café: CF1 coffee 2 x 30,000 + CK1 cake 1 x 40,000 = 100,000, earns 10; later one
       CF1 back: 30,000 refunded, 3 points reversed -> net 70,000.
    S2 D+5 12:00 phở: PH1 pho 1 x 60,000 + CF1 coffee 1 x 30,000 = 90,000, 10 points paid
       (10,000 đ) -> 80,000 paid, earns 8.
    S3 D+10 19:00 café HCM: CF2 coffee 3 x 20,000 = 60,000, earns 6; refunded in full -> net 0,
       not an order, 6 points reversed.
    S4 D+20 08:00 café: CK2 cake 1 x 50,000 + TEA (no category) 4 x 10,000 = 90,000, earns 9.
    Another member's sale and an anonymous sale must not count."""
    day = days_ago(40)
    a = MemberFactory()
    s1 = sell(a, "CAFE-HN01", at(day, 0, 9), ("CF1", "coffee", 2, 30_000), ("CK1", "cake", 1, 40_000))
    sell(a, "PHO-HN01", at(day, 5, 12), ("PH1", "pho", 1, 60_000), ("CF1", "coffee", 1, 30_000), points=10)
    s3 = sell(a, "CAFE-HCM1", at(day, 10, 19), ("CF2", "coffee", 3, 20_000))
    sell(a, "CAFE-HN01", at(day, 20, 8), ("CK2", "cake", 1, 50_000), ("TEA", "", 4, 10_000))
    refund(s1, ("CF1", 1))
    refund(s3)
    other = MemberFactory()
    sell(other, "CAFE-HN01", at(day, 3, 10), ("TEA", "", 9, 10_000))
    sell(None, "CAFE-HN01", at(day, 3, 11), ("CF1", "coffee", 7, 30_000))
    return {"a": a, "day": day}


def test_the_profile_by_hand(history):
    day = history["day"]
    profile = member_profile(member=history["a"])
    assert profile.lifetime_net_sales == Decimal(70_000 + 80_000 + 0 + 90_000)
    assert profile.orders == 3  # S3 was refunded in full
    assert profile.average_order == Decimal(80_000)
    # A visit is any sale: the fully refunded S3 is one, but S4 is later.
    assert profile.first_visit == at(day, 0, 9)
    assert profile.last_visit == at(day, 20, 8)
    # Kept quantities: coffee 2 - 1 + 1 + (3 - 3) = 2, cake 1 + 1 = 2, pho 1 (ties by name).
    assert profile.favourite_categories == [
        Favourite("cake", "cake", 2),
        Favourite("coffee", "coffee", 2),
        Favourite("pho", "pho", 1),
    ]
    # TEA 4, CF1 2 - 1 + 1 = 2, then CK1 / CK2 / PH1 at 1 (by SKU); CF2 all returned.
    assert profile.favourite_products == [
        Favourite("TEA", "Món TEA", 4),
        Favourite("CF1", "Món CF1", 2),
        Favourite("CK1", "Món CK1", 1),
    ]
    # Earned 10 + 8 + 6 + 9 = 33, less 3 + 6 reversed by the refunds; spent 10 (S2 kept).
    assert (profile.points_earned, profile.points_spent) == (24, 10)
    history["a"].refresh_from_db()
    assert history["a"].points_balance == 24 - 10


def test_a_refund_of_a_points_paid_sale_gives_the_points_back_and_the_profile_follows(sell, refund):
    member = MemberFactory(points=50)  # an opening bonus: earned
    sale = sell(member, "PHO-HN01", at(days_ago(10), 0, 12), ("PH1", "pho", 2, 50_000), points=20)
    # 100,000 less 20 points (20,000 đ): 80,000 paid, 8 earned.
    refund(sale)  # everything back: 20 points returned, 8 reversed, 80,000 refunded
    profile = member_profile(member=member)
    assert (profile.lifetime_net_sales, profile.orders, profile.average_order) == (Decimal(0), 0, None)
    assert (profile.points_earned, profile.points_spent) == (50, 0)
    assert profile.favourite_products == [] and profile.favourite_categories == []
    assert profile.first_visit == profile.last_visit == at(days_ago(10), 0, 12)


def test_a_member_without_sales_has_an_empty_profile_and_it_costs_two_statements(shops):
    member = MemberFactory(points=7)
    with CaptureQueriesContext(connection) as queries:
        profile = member_profile(member=member)
    assert len(queries) == 2  # the sales aggregate and the ledger: no lines to read
    assert (profile.lifetime_net_sales, profile.orders, profile.first_visit, profile.average_order) == (
        Decimal(0),
        0,
        None,
        None,
    )
    assert (profile.points_earned, profile.points_spent) == (7, 0)


def test_the_profile_is_four_statements_whatever_the_history(history):
    with CaptureQueriesContext(connection) as queries:
        member_profile(member=history["a"].pk)
    assert len(queries) == 4


def test_the_member_page_shows_the_profile(client, history, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(username="boss", password="x", email="b@x.vn"))
    page = client.get(reverse("admin:members_member_change", args=[history["a"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "member-profile" in html
    for figure in ("240,000", "80,000", "Món TEA [TEA] (4)", "cake (2)"):
        assert figure in html, figure
