"""Each of the wider segment rules on a hand-made population (AS_OF = 2 days ago), with the sales
rules computed by the report definitions; the campaign run serves exactly the segment's members;
invalid rules are refused with nothing written."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaigns.audiences.models import Segment
from campaigns.audiences.selectors import segment_members, years_before
from campaigns.runs.models import Campaign, CampaignDelivery
from campaigns.runs.services import campaign_activate, campaign_run, campaign_save
from members.models import Member
from tests.factories import MemberFactory
from tests.reports.members.conftest import at, days_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(shops, sell, refund):
    """On AS_OF (one point earned per 10,000 đ paid):
    F30 female, 30, balance 100 + 6 = 106; bought CF1 coffee 2 x 30,000 at the café 3 days before.
    M44 male, 45 tomorrow (44 on AS_OF), balance 6; PH1 pho 60,000 at the phở 40 days before, and
      a 40,000 pho 5 days before refunded in full (no order, net 0).
    O20 other, 20 on AS_OF exactly, balance 250 + 15 + 1 (+ 5 after AS_OF) = 271; CK1 cake
      3 x 50,000 at the HCM café the day before and TEA 10,000 (no category) 8 days before: 2
      orders, 160,000 in the last 10 days; and 50,000 of cake the day after AS_OF (never counted).
    N no birthday, no gender, no sales, balance 0."""
    as_of = days_ago(2)
    f30 = MemberFactory(gender="female", birthday=years_before(as_of, 30) - datetime.timedelta(days=100), points=100)
    m44 = MemberFactory(gender="male", birthday=years_before(as_of, 45) + datetime.timedelta(days=1))
    o20 = MemberFactory(gender="other", birthday=years_before(as_of, 20), points=250)
    n = MemberFactory()
    sell(f30, "CAFE-HN01", at(as_of, -3, 9), ("CF1", "coffee", 2, 30_000))
    sell(m44, "PHO-HN01", at(as_of, -40, 12), ("PH1", "pho", 1, 60_000))
    refund(sell(m44, "PHO-HN01", at(as_of, -5, 12), ("PH1", "pho", 1, 40_000)))
    sell(o20, "CAFE-HCM1", at(as_of, -1, 15), ("CK1", "cake", 3, 50_000))
    sell(o20, "CAFE-HN01", at(as_of, -8, 7), ("TEA", "", 1, 10_000))
    sell(o20, "CAFE-HCM1", at(as_of, 1, 9), ("CK1", "cake", 1, 50_000))
    return {"F30": f30, "M44": m44, "O20": o20, "N": n, "as_of": as_of, "brands": shops["brands"]}


def found(people, brands=(), **rules) -> set[str]:
    segment = Segment(name="Thử", **rules)
    segment.full_clean(exclude=["name"])
    segment.save()
    if brands:
        segment.bought_at_brands.set([people["brands"][code] for code in brands])
    names = {m.pk: name for name, m in people.items() if isinstance(m, Member)}
    return {names[pk] for pk in segment_members(segment=segment, as_of=people["as_of"]).values_list("pk", flat=True)}


def test_the_balances_are_as_described(people):
    balances = {name: Member.objects.get(pk=people[name].pk).points_balance for name in ("F30", "M44", "O20", "N")}
    assert balances == {"F30": 106, "M44": 6, "O20": 271, "N": 0}


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"gender": "female"}, {"F30"}),
        ({"gender": "other"}, {"O20"}),
        ({"age_min": 30}, {"F30", "M44"}),
        ({"age_min": 45}, set()),  # M44 turns 45 the day after
        ({"age_max": 44}, {"F30", "M44", "O20"}),  # N has no birthday: outside any band
        ({"age_min": 20, "age_max": 30}, {"F30", "O20"}),
        ({"age_min": 21}, {"F30", "M44"}),  # O20 turned 20 on the day
        ({"age_max": 19}, set()),
        ({"points_balance_min": 100}, {"F30", "O20"}),
        ({"points_balance_max": 10}, {"M44", "N"}),
        ({"points_balance_min": 100, "points_balance_max": 200}, {"F30"}),
        ({"bought_categories": "cake"}, {"O20"}),
        ({"bought_categories": "coffee;\n cake"}, {"F30", "O20"}),
        ({"bought_categories": "pho"}, {"M44"}),
        ({"bought_categories": "pho", "bought_within_days": 10}, set()),  # the recent one came back
        ({"bought_skus": "TEA, PH1"}, {"O20", "M44"}),
        ({"bought_skus": "TEA", "bought_within_days": 9}, {"O20"}),
        ({"bought_skus": "TEA", "bought_within_days": 8}, set()),  # the last 8 days start 7 days before
        ({"bought_categories": "coffee", "bought_skus": "CK1"}, set()),  # both rules: nobody
        ({"recent_days": 10, "recent_orders_min": 1}, {"F30", "O20"}),
        ({"recent_days": 10, "recent_orders_min": 2}, {"O20"}),
        ({"recent_days": 10, "recent_orders_max": 0}, {"M44", "N"}),
        ({"recent_days": 5, "recent_orders_min": 2}, set()),  # TEA was 8 days before
        ({"recent_days": 10, "recent_net_sales_min": Decimal(160_000)}, {"O20"}),
        ({"recent_days": 10, "recent_net_sales_min": Decimal(160_001)}, set()),
        ({"recent_days": 10, "recent_net_sales_max": Decimal(60_000)}, {"F30", "M44", "N"}),
        ({"lifetime_net_sales_min": Decimal(60_000)}, {"F30", "M44", "O20"}),
        ({"lifetime_net_sales_max": Decimal(59_999)}, {"N"}),
        ({"lifetime_net_sales_min": Decimal(200_000)}, set()),  # the sale after AS_OF would make 210,000
        ({"gender": "male", "lifetime_net_sales_min": Decimal(1)}, {"M44"}),
    ],
)
def test_each_rule_on_the_population(people, rules, expected):
    assert found(people, **rules) == expected


@pytest.mark.parametrize(
    ("brands", "rules", "expected"),
    [
        (["PHO"], {}, {"M44"}),
        (["PHO"], {"bought_within_days": 10}, set()),  # his recent phở sale was refunded in full
        (["CAFE"], {"bought_within_days": 10}, {"F30", "O20"}),
        (["CAFE"], {"bought_within_days": 1}, set()),  # O20's cake was the day before: 2 days
        (["CAFE"], {"bought_within_days": 2}, {"O20"}),
        (["PHO", "CAFE"], {"bought_categories": "coffee"}, {"F30"}),
    ],
)
def test_brand_bought_at(people, brands, rules, expected):
    assert found(people, brands=brands, **rules) == expected


def test_the_campaign_run_serves_the_segment_the_preview_counts(people):
    segment = Segment.objects.create(name="Quán cà phê", recent_days=10, recent_orders_min=1)
    campaign = campaign_save(campaign=Campaign(code="CAFE-10", name="Cà phê", segment=segment, bonus_points=5))
    campaign_activate(campaign=campaign)
    preview = set(segment_members(segment=segment, as_of=people["as_of"]).values_list("pk", flat=True))
    run = campaign_run(campaign=campaign, as_of=people["as_of"])
    assert preview == {people["F30"].pk, people["O20"].pk}
    assert set(CampaignDelivery.objects.values_list("member_id", flat=True)) == preview
    assert run.audience_count == run.members_reached == 2


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"age_min": 40, "age_max": 30}, "age_max"),
        ({"age_min": 121}, "age_min"),
        ({"points_balance_min": 10, "points_balance_max": 5}, "points_balance_max"),
        ({"recent_days": 10}, "recent_orders_min"),
        ({"recent_orders_min": 1}, "recent_days"),
        ({"recent_days": 0, "recent_orders_min": 1}, "recent_days"),
        ({"recent_days": 5, "recent_net_sales_min": Decimal(10), "recent_net_sales_max": Decimal(5)},
         "recent_net_sales_max"),
        ({"lifetime_net_sales_min": Decimal(-1)}, "lifetime_net_sales_min"),
        ({"lifetime_net_sales_min": Decimal(9), "lifetime_net_sales_max": Decimal(1)}, "lifetime_net_sales_max"),
        ({"bought_categories": ",".join(f"c{i}" for i in range(51))}, "bought_categories"),
        ({"bought_skus": "X" * 65}, "bought_skus"),
        ({"gender": "robot"}, "gender"),
    ],
)  # fmt: skip
def test_an_invalid_rule_is_refused(db, rules, field):
    segment = Segment(name="Sai", **rules)
    with pytest.raises(ValidationError) as refused:
        segment.full_clean()
    assert field in refused.value.message_dict
    assert not Segment.objects.exists()


def test_the_admin_refuses_invalid_rules_and_saves_nothing(client, shops, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(username="boss", password="x", email="b@x.vn"))
    url = reverse("admin:campaigns_segment_add")
    base = {"name": "Khách cà phê", "description": "", "birthday_month": "", "gender": "", "bought_categories": "",
            "bought_skus": ""}  # fmt: skip
    for bad, field in [
        ({"age_min": "50", "age_max": "20"}, "age_max"),
        ({"recent_days": "10"}, "recent_orders_min"),
        ({"recent_net_sales_min": "100000"}, "recent_days"),
        ({"bought_within_days": "30"}, "bought_within_days"),  # no brand, category or product
        ({"lifetime_net_sales_min": "-5"}, "lifetime_net_sales_min"),
        ({"age_min": "abc"}, "age_min"),
    ]:
        response = client.post(url, {**base, **bad})
        assert response.status_code == 200, bad
        assert field in response.context["adminform"].form.errors, (bad, response.context["adminform"].form.errors)
    assert not Segment.objects.exists()
    good = {**base, "bought_at_brands": [shops["brands"]["CAFE"].pk], "bought_within_days": "30",
            "recent_days": "30", "recent_orders_min": "2"}  # fmt: skip
    response = client.post(url, good)
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert list(segment.bought_at_brands.values_list("code", flat=True)) == ["CAFE"]
    page = client.get(reverse("admin:campaigns_segment_change", args=[segment.pk]))
    assert page.status_code == 200


def test_codes_are_tidied_when_saved(db):
    segment = Segment(name="Mã", bought_skus=" CF1 ,CF1;\n\nTEA ")
    segment.full_clean()
    assert segment.bought_skus == "CF1\nTEA"
