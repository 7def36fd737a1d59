"""The static part of the promotion rules (active promotions with their stores, brands and tiers)
comes from the cache once a transaction that read it committed; every change to a promotion or
its links drops the cached copy, a rolled-back change never reaches it, and what varies per
sale (per-member limits, the member's tier) is still read per sale."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction

from campaigns.promotions.models import Promotion
from campaigns.promotions.selectors import PROMOTION_RULES_CACHE_KEY, _rules_on, promotions_applicable
from campaigns.promotions.services import promotion_applications_record, promotion_save, promotions_set_active
from tests.campaigns.conftest import cart, enrol, local
from tiers.services import tier_delete

pytestmark = pytest.mark.django_db

Kind = Promotion.Kind
COFFEE_AND_PHO = cart(("CF-SUA", "coffee", 2, "35000"), ("PHO-BO", "pho", 1, "65000"))
FRIDAY_3PM = local(2025, 3, 7, 15)


def promo(**fields) -> Promotion:
    links = {name: fields.pop(name, []) for name in ("brands", "stores", "tiers")}
    fields.setdefault("name", fields["code"].title())
    promotion = promotion_save(promotion=Promotion(**fields))
    for name, values in links.items():
        getattr(promotion, name).set(values)
    return promotion


def ten_percent_off(**fields) -> Promotion:
    return promo(code="GIAM-10", kind=Kind.PERCENT_DISCOUNT, percent=Decimal(10), **fields)


def codes(result) -> list[str]:
    return [applied.code for applied in result.applied]


@pytest.fixture
def at_pho(stores, django_capture_on_commit_callbacks):
    """What an anonymous cart gets at PHO-HN01 on Friday 15:00, read in a transaction that
    commits (so the rules are cached)."""

    def read(member=None, store="PHO-HN01", at=FRIDAY_3PM):
        with django_capture_on_commit_callbacks(execute=True):
            return promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores[store], at=at)

    return read


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    def run(change):
        with django_capture_on_commit_callbacks(execute=True):
            return change()

    return run


# --- The cached path --------------------------------------------------------------------------


def test_the_second_sale_reads_no_promotion_query(stores, django_assert_num_queries, at_pho):
    ten_percent_off()
    with django_assert_num_queries(6):  # promotions, stores, brands, tiers, groups, segments (issue 16)
        assert at_pho().invoice_discount == Decimal(13500)
    with django_assert_num_queries(0):
        assert at_pho().invoice_discount == Decimal(13500)
    assert cache.get(PROMOTION_RULES_CACHE_KEY) is not None


def test_a_member_sale_still_reads_its_limits_and_tier_but_not_the_rules(
    stores, tiers, put_in_tier, at_pho, django_assert_num_queries
):
    promo(code="GIO-VANG", kind=Kind.EARN_MULTIPLIER, multiplier=Decimal(2), limit_count=1)
    promo(code="VIP-10", kind=Kind.BONUS_POINTS, bonus_points=10, tiers=[tiers["VIP"]])
    member = put_in_tier(enrol(), "VIP")
    with django_assert_num_queries(6 + 2):  # the rules; the member's tier and limit counts
        assert codes(at_pho(member)) == ["GIO-VANG", "VIP-10"]
    with django_assert_num_queries(2):
        assert codes(at_pho(member)) == ["GIO-VANG", "VIP-10"]
    # The limit is counted per sale: a use recorded now counts at once, with the rules cached.
    promotion_applications_record(
        promotions=[Promotion.objects.get(code="GIO-VANG")], member=member, sale_reference="sale:1", at=FRIDAY_3PM
    )
    assert codes(at_pho(member)) == ["VIP-10"]


def test_validity_dates_are_still_applied_to_the_cached_rules(stores, at_pho):
    promo(code="THANG-BA", kind=Kind.PERCENT_DISCOUNT, percent=Decimal(10), valid_from=datetime.date(2025, 3, 1),
          valid_until=datetime.date(2025, 3, 31))  # fmt: skip
    promo(code="DEM", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(1000), valid_from=datetime.date(2025, 3, 1),
          valid_until=datetime.date(2025, 3, 31), time_from=datetime.time(22), time_until=datetime.time(2),
          stackable=True)  # fmt: skip
    assert codes(at_pho(at=local(2025, 2, 28, 23, 59))) == []
    assert codes(at_pho(at=local(2025, 3, 31, 23, 0))) == ["DEM", "THANG-BA"]
    # 1 April 01:00 still belongs to the night of 31 March, the day before.
    assert codes(at_pho(at=local(2025, 4, 1, 1, 0))) == ["DEM"]
    assert codes(at_pho(at=local(2025, 4, 1, 2, 0))) == []
    assert cache.get(PROMOTION_RULES_CACHE_KEY) is not None  # all from the cached rules


def test_a_caller_changing_the_rules_it_got_changes_nobody_elses(stores, at_pho):
    ten_percent_off(stores=[stores["PHO-HN01"]])
    at_pho()
    rules = _rules_on(FRIDAY_3PM.date())
    rules[0].promotion.percent = Decimal(90)
    rules[0].store_ids.clear()
    rules.clear()
    again = _rules_on(FRIDAY_3PM.date())
    assert (again[0].promotion.percent, again[0].store_ids) == (Decimal(10), {stores["PHO-HN01"].pk})


# --- Every change invalidates -----------------------------------------------------------------


def test_editing_a_promotion_shows_in_the_next_sale(stores, at_pho, committed):
    promotion = ten_percent_off()
    at_pho()
    promotion.percent = Decimal(20)
    committed(lambda: promotion_save(promotion=promotion))
    assert cache.get(PROMOTION_RULES_CACHE_KEY) is None
    assert at_pho().invoice_discount == Decimal(27000)


def test_changing_its_stores_shows_in_the_next_sale(stores, at_pho, committed):
    promotion = ten_percent_off(stores=[stores["PHO-HN01"]])
    assert codes(at_pho()) == ["GIAM-10"]
    committed(lambda: promotion.stores.set([stores["CAFE-HN01"]]))
    assert codes(at_pho()) == []
    committed(lambda: promotion.stores.add(stores["PHO-HN01"]))
    assert codes(at_pho()) == ["GIAM-10"]
    committed(lambda: promotion.stores.remove(stores["PHO-HN01"]))
    assert codes(at_pho()) == []
    committed(promotion.stores.clear)
    assert codes(at_pho()) == ["GIAM-10"]  # no store and no brand: every store


def test_changing_its_brands_shows_in_the_next_sale(stores, brands, at_pho, committed):
    promotion = ten_percent_off(brands=[brands["PHO"]])
    assert codes(at_pho()) == ["GIAM-10"]
    committed(lambda: promotion.brands.set([brands["CAFE"]]))
    assert codes(at_pho()) == []


def test_changing_its_tiers_shows_in_the_next_sale(stores, tiers, put_in_tier, at_pho, committed):
    promotion = promo(code="VIP-10", kind=Kind.BONUS_POINTS, bonus_points=10, tiers=[tiers["VIP"]])
    member = put_in_tier(enrol(), "VIP")
    assert at_pho(member).bonus_points == 10
    committed(lambda: promotion.tiers.set([tiers["DIAMOND"]]))
    assert at_pho(member).bonus_points == 0


def test_deleting_a_tier_it_names_shows_in_the_next_sale(stores, tiers, put_in_tier, at_pho, committed):
    """Its only tier gone, the promotion applies to every tier: the cached rule must not keep it
    to the deleted one."""
    promo(code="DIAMOND-10", kind=Kind.BONUS_POINTS, bonus_points=10, tiers=[tiers["DIAMOND"]])
    member = put_in_tier(enrol(), "VIP")
    assert at_pho(member).bonus_points == 0
    committed(lambda: tier_delete(tier=tiers["DIAMOND"]))
    assert at_pho(member).bonus_points == 10


def test_deleting_the_only_store_it_names_shows_in_the_next_sale(stores, at_pho, committed):
    ten_percent_off(stores=[stores["CAFE-TYO"]])
    assert codes(at_pho()) == []
    committed(stores["CAFE-TYO"].delete)
    assert codes(at_pho()) == ["GIAM-10"]  # no store and no brand left: every store


def test_deleting_or_switching_off_a_promotion_shows_in_the_next_sale(stores, at_pho, committed):
    kept = promo(code="GIAM-5K", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(5000), stackable=True)
    doomed = ten_percent_off(stackable=True)
    assert codes(at_pho()) == ["GIAM-10", "GIAM-5K"]
    committed(doomed.delete)
    assert codes(at_pho()) == ["GIAM-5K"]
    committed(lambda: promotions_set_active(promotions=[kept], active=False))
    assert codes(at_pho()) == []
    committed(lambda: promotions_set_active(promotions=[kept], active=True))
    assert codes(at_pho()) == ["GIAM-5K"]


# --- Rolled back ------------------------------------------------------------------------------


def test_a_rolled_back_change_never_reaches_the_cache(stores, at_pho, django_capture_on_commit_callbacks):
    promotion = ten_percent_off()
    at_pho()
    promotion.percent = Decimal(50)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        promotion_save(promotion=promotion)
        promotion.stores.set([stores["CAFE-HN01"]])
        # Read inside the change: what it sees must not be cached for anyone else.
        rules = _rules_on(FRIDAY_3PM.date())
        assert (rules[0].promotion.percent, rules[0].store_ids) == (Decimal(50), {stores["CAFE-HN01"].pk})
        raise RuntimeError("rolled back")
    assert cache.get(PROMOTION_RULES_CACHE_KEY) is None
    assert at_pho().invoice_discount == Decimal(13500)
    cached = cache.get(PROMOTION_RULES_CACHE_KEY)
    assert (cached[0][0].percent, cached[0][1]) == (Decimal(10), frozenset())


@pytest.mark.django_db(transaction=True)
def test_with_real_commits_outside_any_transaction(stores):
    """As a management command or a shell would: reads outside a transaction are cached at once,
    and a change that commits is seen by the next read."""
    promotion = ten_percent_off()
    store = stores["PHO-HN01"]
    promotions_applicable(cart=COFFEE_AND_PHO, member=None, store=store, at=FRIDAY_3PM)
    assert cache.get(PROMOTION_RULES_CACHE_KEY) is not None
    promotion.percent = Decimal(20)
    promotion_save(promotion=promotion)
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=None, store=store, at=FRIDAY_3PM)
    assert result.invoice_discount == Decimal(27000)
    with pytest.raises(RuntimeError), transaction.atomic():
        promotion.percent = Decimal(50)
        promotion_save(promotion=promotion)
        raise RuntimeError("rolled back")
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=None, store=store, at=FRIDAY_3PM)
    assert result.invoice_discount == Decimal(27000)
    assert cache.get(PROMOTION_RULES_CACHE_KEY)[0][0].percent == Decimal(20)
