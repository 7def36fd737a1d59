"""Promotions: every condition read on the store's local clock, the stacking rules, the
discounts, and the per-member trigger limit counted from the recorded applications."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.promotions.models import Promotion, PromotionApplication
from campaigns.promotions.selectors import promotions_applicable
from campaigns.promotions.services import promotion_applications_record, promotion_applications_reverse, promotion_save
from loyalty_site.core.errors import ValidationFailed
from tests.campaigns.conftest import cart, enrol, local

pytestmark = pytest.mark.django_db

Kind = Promotion.Kind
COFFEE_AND_PHO = cart(("CF-SUA", "coffee", 2, "35000"), ("PHO-BO", "pho", 1, "65000"))


def promo(**fields) -> Promotion:
    brands = fields.pop("brands", [])
    stores = fields.pop("stores", [])
    tiers = fields.pop("tiers", [])
    fields.setdefault("name", fields["code"].title())
    promotion = promotion_save(promotion=Promotion(**fields))
    promotion.brands.set(brands)
    promotion.stores.set(stores)
    promotion.tiers.set(tiers)
    return promotion


@pytest.fixture
def gio_vang(db):
    return promo(
        code="GIO-VANG",
        name="Giờ vàng x2",
        kind=Kind.EARN_MULTIPLIER,
        multiplier=Decimal(2),
        weekdays="12345",
        time_from=datetime.time(14),
        time_until=datetime.time(17),
    )


@pytest.fixture
def sinh_nhat(db):
    return promo(
        code="SINH-NHAT",
        name="Sinh nhật x3",
        kind=Kind.EARN_MULTIPLIER,
        multiplier=Decimal(3),
        birthday=Promotion.Birthday.DAY,
    )


@pytest.fixture
def cafe_sang(brands, tiers):
    return promo(
        code="CAFE-SANG",
        name="Cà phê sáng -10 %",
        kind=Kind.PERCENT_DISCOUNT,
        percent=Decimal(10),
        scope=Promotion.Scope.LINES,
        categories="coffee",
        time_from=datetime.time(7),
        time_until=datetime.time(9),
        brands=[brands["CAFE"]],
        tiers=[tiers["VIP"], tiers["DIAMOND"]],
    )


def applied_codes(result) -> list[str]:
    return [a.code for a in result.applied]


# --- Clock conditions, in store local time ----------------------------------------------------

# 7 March 2025 is a Friday.
FRIDAY = (2025, 3, 7)


@pytest.mark.parametrize(
    ("moment", "applies"),
    [
        (local(*FRIDAY, 16, 59), True),
        (local(*FRIDAY, 16, 59, 59), True),
        (local(*FRIDAY, 17, 0), False),
        (local(*FRIDAY, 14, 0), True),
        (local(*FRIDAY, 13, 59), False),
        (local(2025, 3, 8, 15, 0), False),  # Saturday
        (local(2025, 3, 9, 15, 0), False),  # Sunday
        (local(2025, 3, 3, 15, 0), True),  # Monday
    ],
)
def test_golden_hours_on_the_store_clock(gio_vang, stores, moment, applies):
    member = enrol()
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores["PHO-HN01"], at=moment)
    assert (result.multiplier == Decimal(2)) is applies
    assert applied_codes(result) == (["GIO-VANG"] if applies else [])


def test_the_moment_is_read_in_the_stores_zone_not_utc(gio_vang, stores):
    member = enrol()
    # 09:59 UTC is 16:59 in Hồ Chí Minh City and 18:59 in Tokyo.
    at = datetime.datetime(2025, 3, 7, 9, 59, tzinfo=datetime.UTC)
    in_vietnam = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores["CAFE-HN01"], at=at)
    in_tokyo = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores["CAFE-TYO"], at=at)
    assert in_vietnam.multiplier == 2
    assert in_tokyo.multiplier == 1


@pytest.fixture
def late_night(db):
    # Friday night 22:00 to 02:00: the hours after midnight belong to Friday.
    return promo(
        code="DEM-THU-SAU",
        kind=Kind.BONUS_POINTS,
        bonus_points=50,
        weekdays="5",
        time_from=datetime.time(22),
        time_until=datetime.time(2),
    )


@pytest.mark.parametrize(
    ("moment", "applies"),
    [
        (local(*FRIDAY, 21, 59), False),
        (local(*FRIDAY, 22, 0), True),
        (local(*FRIDAY, 23, 30), True),
        (local(2025, 3, 8, 0, 0), True),  # Saturday 00:00 is still Friday night
        (local(2025, 3, 8, 1, 59), True),
        (local(2025, 3, 8, 2, 0), False),
        (local(2025, 3, 8, 23, 0), False),  # Saturday night is not Friday night
        (local(*FRIDAY, 1, 0), False),  # Friday 01:00 belongs to Thursday night
    ],
)
def test_a_window_across_midnight_belongs_to_the_day_it_opened(late_night, stores, moment, applies):
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=enrol(), store=stores["PHO-HN01"], at=moment)
    assert (result.bonus_points == 50) is applies


def test_validity_dates_are_store_local_days(stores):
    promo(code="THANG-BA", kind=Kind.BONUS_POINTS, bonus_points=10, valid_from=datetime.date(2025, 3, 1),
          valid_until=datetime.date(2025, 3, 31))  # fmt: skip
    member = enrol()
    store = stores["PHO-HN01"]
    # 28 Feb 17:30 UTC is already 1 March 00:30 in Hà Nội.
    first = datetime.datetime(2025, 2, 28, 17, 30, tzinfo=datetime.UTC)
    assert promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=first).bonus_points == 10
    assert (
        promotions_applicable(
            cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 2, 28, 23, 59)
        ).bonus_points
        == 0
    )
    assert (
        promotions_applicable(
            cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 3, 31, 23, 59)
        ).bonus_points
        == 10
    )
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 4, 1, 0, 0)).bonus_points
        == 0
    )


def test_an_inactive_promotion_gives_nothing(gio_vang, stores):
    Promotion.objects.filter(pk=gio_vang.pk).update(is_active=False)
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=enrol(), store=stores["PHO-HN01"], at=local(*FRIDAY, 15))
    assert result.multiplier == 1 and not result.applied


# --- Birthday ---------------------------------------------------------------------------------


def test_birthday_day_in_store_local_time(sinh_nhat, stores):
    member = enrol(birthday=datetime.date(1990, 3, 7))
    store = stores["PHO-HN01"]
    # 6 March 18:00 UTC is 7 March 01:00 in Hà Nội: the birthday there.
    at = datetime.datetime(2025, 3, 6, 18, 0, tzinfo=datetime.UTC)
    assert promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=at).multiplier == 3
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 3, 6, 23, 59)).multiplier
        == 1
    )
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 3, 8, 0, 0)).multiplier
        == 1
    )


def test_a_29_february_birthday_is_celebrated_on_28_february_in_other_years(sinh_nhat, stores):
    member = enrol(birthday=datetime.date(1996, 2, 29))
    store = stores["PHO-HN01"]
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 2, 28, 12)).multiplier
        == 3
    )
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2024, 2, 29, 12)).multiplier
        == 3
    )
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2024, 2, 28, 12)).multiplier
        == 1
    )


@pytest.mark.parametrize(
    ("moment", "applies"),
    [
        (local(2025, 3, 3, 0, 0), True),  # Monday of the week of Wednesday 5 March
        (local(2025, 3, 9, 23, 59), True),  # its Sunday
        (local(2025, 3, 2, 23, 59), False),
        (local(2025, 3, 10, 0, 0), False),
    ],
)
def test_birthday_week_is_monday_to_sunday(stores, moment, applies):
    promo(code="TUAN-SINH-NHAT", kind=Kind.BONUS_POINTS, bonus_points=20, birthday=Promotion.Birthday.WEEK)
    member = enrol(birthday=datetime.date(1988, 3, 5))
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores["PHO-HN01"], at=moment)
    assert (result.bonus_points == 20) is applies


def test_birthday_week_across_new_year(stores):
    promo(code="TUAN-SINH-NHAT", kind=Kind.BONUS_POINTS, bonus_points=20, birthday=Promotion.Birthday.WEEK)
    member = enrol(birthday=datetime.date(1988, 12, 31))  # Wednesday 31 Dec 2025: week 29 Dec to 4 Jan
    store = stores["PHO-HN01"]
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2026, 1, 2, 10)).bonus_points
        == 20
    )
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2026, 1, 5, 10)).bonus_points
        == 0
    )


def test_birthday_month(stores):
    promo(code="THANG-SINH-NHAT", kind=Kind.PERCENT_DISCOUNT, percent=Decimal(5), birthday=Promotion.Birthday.MONTH)
    member = enrol(birthday=datetime.date(1991, 3, 20))
    store = stores["PHO-HN01"]
    # 28 Feb 17:00 UTC is 1 March 00:00 in Hà Nội.
    at = datetime.datetime(2025, 2, 28, 17, 0, tzinfo=datetime.UTC)
    assert promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=at).invoice_discount == Decimal(
        6750
    )
    assert not promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 4, 1, 0)).applied
    no_birthday = enrol()
    assert not promotions_applicable(cart=COFFEE_AND_PHO, member=no_birthday, store=store, at=at).applied


# --- Where and who ----------------------------------------------------------------------------


def test_brand_tier_and_window_limits_of_morning_coffee(cafe_sang, stores, put_in_tier):
    vip = put_in_tier(enrol(), "VIP")
    diamond = put_in_tier(enrol(), "DIAMOND")
    regular = enrol()  # no tier row: the entry tier
    morning = local(*FRIDAY, 8, 30)
    cafe = stores["CAFE-HN01"]

    result = promotions_applicable(cart=COFFEE_AND_PHO, member=vip, store=cafe, at=morning)
    assert result.line_discounts == {0: Decimal(7000)}  # 10 % of 2 x 35,000 on the coffee line only
    assert result.invoice_discount == 0
    assert result.applied[0].description.startswith("Cà phê sáng -10 %: ")
    assert promotions_applicable(cart=COFFEE_AND_PHO, member=diamond, store=cafe, at=morning).line_discounts == {
        0: Decimal(7000)
    }
    assert not promotions_applicable(cart=COFFEE_AND_PHO, member=regular, store=cafe, at=morning).applied
    assert not promotions_applicable(cart=COFFEE_AND_PHO, member=None, store=cafe, at=morning).applied
    assert not promotions_applicable(cart=COFFEE_AND_PHO, member=vip, store=stores["PHO-HN01"], at=morning).applied
    assert not promotions_applicable(cart=COFFEE_AND_PHO, member=vip, store=cafe, at=local(*FRIDAY, 9, 0)).applied
    no_coffee = cart(("PHO-BO", "pho", 1, "65000"))
    assert not promotions_applicable(cart=no_coffee, member=vip, store=cafe, at=morning).applied


def test_stores_and_brands_add_up(brands, stores):
    promo(code="MOT-CUA-HANG", kind=Kind.BONUS_POINTS, bonus_points=5, stores=[stores["PHO-HN01"]])
    promo(code="MOT-THUONG-HIEU", kind=Kind.BONUS_POINTS, bonus_points=7, brands=[brands["CAFE"]], stackable=True)
    member = enrol()
    at = local(*FRIDAY, 10)
    assert promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores["PHO-HN01"], at=at).bonus_points == 5
    assert promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores["CAFE-HN01"], at=at).bonus_points == 7
    assert promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores["CAFE-TYO"], at=at).bonus_points == 7


def test_minimum_spend_is_the_subtotal_before_discounts(stores):
    promo(code="TU-200K", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(20000), min_spend=Decimal(135000))
    at = local(*FRIDAY, 10)
    store = stores["PHO-HN01"]
    assert promotions_applicable(cart=COFFEE_AND_PHO, member=None, store=store, at=at).invoice_discount == 20000
    small = cart(("PHO-BO", "pho", 2, "67499.99"))
    assert not promotions_applicable(cart=small, member=None, store=store, at=at).applied


def test_anonymous_sales_get_only_discounts_without_member_conditions(gio_vang, stores):
    promo(code="GIAM-5K", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(5000))
    promo(code="THANH-VIEN", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(8000), members_only=True, stackable=True)
    at = local(*FRIDAY, 15)
    store = stores["PHO-HN01"]
    anonymous = promotions_applicable(cart=COFFEE_AND_PHO, member=None, store=store, at=at)
    assert applied_codes(anonymous) == ["GIAM-5K"]
    assert anonymous.multiplier == 1 and anonymous.bonus_points == 0
    member = promotions_applicable(cart=COFFEE_AND_PHO, member=enrol(), store=store, at=at)
    assert sorted(applied_codes(member)) == ["GIAM-5K", "GIO-VANG", "THANH-VIEN"]
    assert member.invoice_discount == 13000


# --- Stacking ---------------------------------------------------------------------------------


def test_multipliers_do_not_stack_the_highest_wins(gio_vang, sinh_nhat, stores):
    member = enrol(birthday=datetime.date(1990, 3, 7))
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores["PHO-HN01"], at=local(*FRIDAY, 15))
    assert result.multiplier == 3
    assert applied_codes(result) == ["SINH-NHAT"]


def test_a_stackable_multiplier_multiplies_with_the_winner(gio_vang, sinh_nhat, stores):
    promo(code="LE-HOI", kind=Kind.EARN_MULTIPLIER, multiplier=Decimal("1.5"), stackable=True)
    member = enrol(birthday=datetime.date(1990, 3, 7))
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores["PHO-HN01"], at=local(*FRIDAY, 15))
    assert result.multiplier == Decimal("4.5")
    assert sorted(applied_codes(result)) == ["LE-HOI", "SINH-NHAT"]


def test_bonus_points_highest_non_stackable_plus_every_stackable(stores):
    promo(code="B10", kind=Kind.BONUS_POINTS, bonus_points=10)
    promo(code="B30", kind=Kind.BONUS_POINTS, bonus_points=30)
    promo(code="B5S", kind=Kind.BONUS_POINTS, bonus_points=5, stackable=True)
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=enrol(), store=stores["PHO-HN01"], at=local(*FRIDAY, 10))
    assert result.bonus_points == 35
    assert sorted(applied_codes(result)) == ["B30", "B5S"]


def test_one_non_stackable_discount_the_highest_priority_then_the_largest(stores):
    promo(code="GIAM-10K", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(10000), priority=5)
    promo(code="GIAM-20K", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(20000), priority=1)
    promo(code="GIAM-15K", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(15000), priority=5)
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=None, store=stores["PHO-HN01"], at=local(*FRIDAY, 10))
    assert applied_codes(result) == ["GIAM-15K"]
    assert result.invoice_discount == 15000


def test_line_discounts_first_then_invoice_discounts_on_what_remains(stores):
    promo(code="CF-20", kind=Kind.PERCENT_DISCOUNT, percent=Decimal(20), scope=Promotion.Scope.LINES,
          categories="coffee", stackable=True)  # fmt: skip
    promo(code="HD-10", kind=Kind.PERCENT_DISCOUNT, percent=Decimal(10), priority=9)
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=None, store=stores["PHO-HN01"], at=local(*FRIDAY, 10))
    assert applied_codes(result) == ["CF-20", "HD-10"]
    assert result.line_discounts == {0: Decimal(14000)}
    assert result.invoice_discount == Decimal(12100)  # 10 % of (135,000 - 14,000)
    assert result.discount_total == Decimal(26100)
    after = result.cart_after_lines(COFFEE_AND_PHO)
    assert after.line_remaining(after.lines[0]) == Decimal(56000)


def test_discounts_are_rounded_to_whole_dong_and_never_below_zero(stores):
    promo(code="SKU-7", kind=Kind.PERCENT_DISCOUNT, percent=Decimal("7.5"), scope=Promotion.Scope.LINES,
          skus="TRA-DAO", stackable=True, priority=2)  # fmt: skip
    promo(code="GIAM-1TR", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(1_000_000), scope=Promotion.Scope.LINES,
          skus="TRA-DAO", stackable=True)  # fmt: skip
    promo(code="HD-1TR", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(1_000_000))
    basket = cart(("TRA-DAO", "tea", 1, "33333"), ("BANH", "cake", 1, "10000"))
    result = promotions_applicable(cart=basket, member=None, store=stores["PHO-HN01"], at=local(*FRIDAY, 10))
    # Higher priority first: 7.5 % of 33,333 = 2,499.975 -> 2,500; then the amount off takes what
    # is left of the line, and the invoice amount off what is left of the invoice.
    assert result.line_discounts == {0: Decimal(33333)}
    assert [a.discount for a in result.applied] == [Decimal(2500), Decimal(30833), Decimal(10000)]
    assert result.discount_total == basket.subtotal


def test_an_amount_off_lines_is_per_item(stores):
    promo(code="CF-5K", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(5000), scope=Promotion.Scope.LINES,
          categories="coffee")  # fmt: skip
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=None, store=stores["PHO-HN01"], at=local(*FRIDAY, 10))
    assert result.line_discounts == {0: Decimal(10000)}


def test_a_lines_discount_needs_skus_or_categories():
    with pytest.raises(ValidationFailed) as refused:
        promo(code="NO-LINES", kind=Kind.PERCENT_DISCOUNT, percent=Decimal(10), scope=Promotion.Scope.LINES)
    assert "skus" in refused.value.errors
    assert not Promotion.objects.filter(code="NO-LINES").exists()


def test_a_multiplier_must_be_given_and_above_one():
    with pytest.raises(ValidationFailed) as refused:
        promo(code="X1", kind=Kind.EARN_MULTIPLIER, multiplier=Decimal(1))
    assert "multiplier" in refused.value.errors
    assert not Promotion.objects.exists()


# --- Per-member trigger limit -----------------------------------------------------------------


@pytest.fixture
def once_a_day(db):
    return promo(code="MOI-NGAY", kind=Kind.BONUS_POINTS, bonus_points=15, limit_count=1)


def test_a_limited_promotion_stops_once_used_up_in_the_store_local_day(once_a_day, stores):
    member = enrol()
    store = stores["PHO-HN01"]
    morning = local(*FRIDAY, 8)
    first = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=morning)
    assert first.bonus_points == 15
    promotion_applications_record(
        promotions=first.applied, member=member, sale_reference="sale:1", at=morning, store=store
    )
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(*FRIDAY, 23, 59)).bonus_points
        == 0
    )
    # Another member is not affected; the next local day starts afresh.
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=enrol(), store=store, at=local(*FRIDAY, 9)).bonus_points == 15
    )
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 3, 8, 0, 0)).bonus_points
        == 15
    )


def test_monthly_and_lifetime_limits(stores):
    monthly = promo(code="THANG-2", kind=Kind.BONUS_POINTS, bonus_points=5, limit_count=2,
                    limit_period=Promotion.LimitPeriod.MONTH, stackable=True)  # fmt: skip
    promo(code="MOT-LAN", kind=Kind.BONUS_POINTS, bonus_points=100, limit_count=1,
          limit_period=Promotion.LimitPeriod.EVER)  # fmt: skip
    member = enrol()
    store = stores["PHO-HN01"]
    for day, reference in ((3, "sale:a"), (10, "sale:b")):
        result = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 3, day, 10))
        promotion_applications_record(promotions=result.applied, member=member, sale_reference=reference,
                                      at=local(2025, 3, day, 10))  # fmt: skip
    later = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 3, 20, 10))
    assert later.bonus_points == 0
    april = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(2025, 4, 1, 0, 0))
    assert applied_codes(april) == ["THANG-2"]
    assert PromotionApplication.objects.filter(promotion=monthly).count() == 2


def test_a_full_refund_frees_the_trigger_again(once_a_day, stores):
    member = enrol()
    store = stores["PHO-HN01"]
    at = local(*FRIDAY, 8)
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=at)
    promotion_applications_record(promotions=result.applied, member=member, sale_reference="sale:9", at=at)
    assert promotion_applications_reverse(sale_reference="sale:9", reference="refund:1") == 1
    assert promotion_applications_reverse(sale_reference="sale:9", reference="refund:1") == 0
    assert (
        promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=store, at=local(*FRIDAY, 9)).bonus_points == 15
    )


def test_recording_is_idempotent_per_sale(gio_vang, stores):
    member = enrol()
    at = local(*FRIDAY, 15)
    result = promotions_applicable(cart=COFFEE_AND_PHO, member=member, store=stores["PHO-HN01"], at=at)
    first = promotion_applications_record(promotions=result.applied, member=member, sale_reference="sale:42", at=at)
    again = promotion_applications_record(promotions=result.applied, member=member, sale_reference="sale:42", at=at)
    assert [a.pk for a in first] == [a.pk for a in again]
    assert PromotionApplication.objects.count() == 1
    assert first[0].multiplier == Decimal(2)


def test_recording_without_a_sale_reference_or_an_aware_time_writes_nothing(gio_vang):
    member = enrol()
    with pytest.raises(ValidationFailed):
        promotion_applications_record(promotions=[gio_vang], member=member, sale_reference=" ", at=local(*FRIDAY, 15))
    with pytest.raises(ValidationFailed):
        promotion_applications_record(promotions=[gio_vang], member=member, sale_reference="sale:1",
                                      at=datetime.datetime(2025, 3, 7, 15))  # fmt: skip
    assert not PromotionApplication.objects.exists()


# --- The selector is a cheap pure read --------------------------------------------------------


def test_the_selector_reads_a_bounded_number_of_queries_and_writes_nothing(
    gio_vang, sinh_nhat, cafe_sang, once_a_day, stores, put_in_tier
):
    member = put_in_tier(enrol(birthday=datetime.date(1990, 3, 7)), "VIP")
    with CaptureQueriesContext(connection) as queries:
        result = promotions_applicable(
            cart=COFFEE_AND_PHO, member=member, store=stores["CAFE-HN01"], at=local(*FRIDAY, 8)
        )
    assert result.multiplier == 3 and result.bonus_points == 15 and result.line_discounts == {0: Decimal(7000)}
    assert len(queries) <= 9  # the rules (6, cached after), the tier, the limit counts
    assert not any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for q in queries)


def test_naive_times_are_refused(gio_vang, stores):
    with pytest.raises(ValueError):
        promotions_applicable(
            cart=COFFEE_AND_PHO, member=None, store=stores["PHO-HN01"], at=datetime.datetime(2025, 3, 7, 15)
        )


def test_an_empty_cart_gets_nothing(gio_vang, stores):
    from loyalty_site.core.cart import Cart

    assert not promotions_applicable(
        cart=Cart(lines=()), member=enrol(), store=stores["PHO-HN01"], at=local(*FRIDAY, 15)
    ).applied


# --- Admin ------------------------------------------------------------------------------------


def test_the_admin_form_saves_weekdays_from_checkboxes_and_refuses_a_bad_window(client, superuser, brands):
    client.force_login(superuser)
    url = reverse("admin:campaigns_promotion_add")
    assert client.get(url).status_code == 200
    data = {
        "code": "GIO-VANG-2",
        "name": "Giờ vàng x2",
        "kind": Kind.EARN_MULTIPLIER,
        "multiplier": "2",
        "scope": Promotion.Scope.INVOICE,
        "weekday_choices": ["5", "1", "3"],
        "time_from": "14:00",
        "time_until": "17:00",
        "limit_period": Promotion.LimitPeriod.DAY,
        "priority": "0",
        "is_active": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    promotion = Promotion.objects.get(code="GIO-VANG-2")
    assert (promotion.weekdays, promotion.created_by) == ("135", superuser)
    bad = client.post(url, {**data, "code": "NUA-CUA-SO", "time_until": ""})
    assert bad.status_code == 200
    assert not Promotion.objects.filter(code="NUA-CUA-SO").exists()
    listing = client.get(reverse("admin:campaigns_promotion_changelist")).content.decode()
    assert "GIO-VANG-2" in listing
    client.post(
        reverse("admin:campaigns_promotion_changelist"),
        {"action": "deactivate", "_selected_action": [promotion.pk]},
    )
    promotion.refresh_from_db()
    assert not promotion.is_active


def test_the_promotions_list_says_what_each_promotion_applies_to(client, superuser):
    """A discount on lines names its SKUs and categories (it said "trên 0 dòng": the count of
    one sale's lines, with no sale); a name holding ": " is not cut into the effect."""
    promo(code="CF-10", kind=Kind.PERCENT_DISCOUNT, percent=Decimal(10), scope=Promotion.Scope.LINES,
          categories="coffee")  # fmt: skip
    promo(code="BANH-5K", kind=Kind.AMOUNT_DISCOUNT, amount=Decimal(5000), scope=Promotion.Scope.LINES,
          skus="BANH-MI, BANH-BAO", categories="bakery")  # fmt: skip
    promo(code="NHIEU-MA", kind=Kind.PERCENT_DISCOUNT, percent=Decimal(5), scope=Promotion.Scope.LINES,
          skus=" ".join(f"SKU-{i}" for i in range(1, 8)))  # fmt: skip
    promo(code="TET", name="Tết: nhân đôi", kind=Kind.EARN_MULTIPLIER, multiplier=Decimal(2))
    client.force_login(superuser)
    url = reverse("admin:campaigns_promotion_changelist")

    vi = client.get(url).content.decode()
    assert "giảm 10 % trên nhóm hàng coffee" in vi
    assert "giảm 5.000 đ trên mã hàng BANH-BAO, BANH-MI hoặc nhóm hàng bakery" in vi
    assert "giảm 5 % trên mã hàng SKU-1, SKU-2, SKU-3, SKU-4, SKU-5 … (tổng cộng 7)" in vi
    assert "tích điểm x2" in vi and "nhân đôi: tích điểm" not in vi
    assert "dòng</td>" not in vi

    client.post("/i18n/setlang/", {"language": "en", "next": url})
    en = client.get(url).content.decode()
    assert "10 % off category coffee" in en
    assert "5.000 VND off SKUs BANH-BAO, BANH-MI or category bakery" in en
