from decimal import Decimal

import pytest

from loyalty_site.core.money import (
    RoundingMode,
    clamp_discount,
    money_to_points,
    percent_of,
    points_for_amount,
    points_to_money,
    quantize_money,
    round_to_int,
    share_of,
    to_decimal,
)

D = Decimal


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        ("5.45", RoundingMode.HALF_UP, 5),  # the seed's example: rounding happens once, not twice
        ("5.5", RoundingMode.HALF_UP, 6),
        ("5.4999999999", RoundingMode.HALF_UP, 5),
        ("-5.5", RoundingMode.HALF_UP, -6),  # halves go away from zero
        ("-5.45", RoundingMode.HALF_UP, -5),
        ("5.9", RoundingMode.FLOOR, 5),
        ("-5.1", RoundingMode.FLOOR, -6),
        ("5.1", RoundingMode.CEIL, 6),
        ("-5.9", RoundingMode.CEIL, -5),
        ("0", RoundingMode.CEIL, 0),
        ("7", RoundingMode.FLOOR, 7),
    ],
)
def test_round_to_int_modes(value, mode, expected):
    assert round_to_int(D(value), mode) == expected


def test_huge_amounts_keep_every_digit():
    # 10^30 VND would lose digits in Decimal's default 28-digit context.
    amount = D("1" + "0" * 30 + ".5")
    assert round_to_int(amount, RoundingMode.HALF_UP) == 10**30 + 1
    assert points_for_amount(D(10**30), rate_percent=D(5), point_value=D(1000)) == 5 * 10**25


@pytest.mark.parametrize(
    ("amount", "rate", "multiplier", "mode", "expected"),
    [
        (D("109000"), D(5), D(1), RoundingMode.HALF_UP, 5),  # 5.45 points -> 5
        (D("110000"), D(5), D(1), RoundingMode.HALF_UP, 6),  # 5.5 points -> 6
        (D("110000"), D(5), D(1), RoundingMode.FLOOR, 5),
        (D("101000"), D(5), D(1), RoundingMode.CEIL, 6),
        (D("100000"), D(10), D(2), RoundingMode.HALF_UP, 20),
        (D("0"), D(10), D(3), RoundingMode.HALF_UP, 0),
    ],
)
def test_points_for_amount(amount, rate, multiplier, mode, expected):
    assert (
        points_for_amount(amount, rate_percent=rate, point_value=D(1000), multiplier=multiplier, mode=mode) == expected
    )


def test_ten_points_per_100k_is_one_point_per_10k_with_floor():
    # "10 points per 100,000 VND" and "1 point per 10,000" (rate 10 %, point value 1,000) agree.
    for amount in [D(99_999), D(100_000), D(199_999), D(250_000)]:
        by_rate = points_for_amount(amount, rate_percent=D(10), point_value=D(1000), mode=RoundingMode.FLOOR)
        assert by_rate == int(amount // 100_000 * 10 + (amount % 100_000) // 10_000)


def test_points_for_amount_rejects_non_positive_point_value():
    with pytest.raises(ValueError):
        points_for_amount(D(1000), rate_percent=D(5), point_value=D(0))


def test_conversions():
    assert points_to_money(120, D(1000)) == D(120000)
    assert money_to_points(D(120001), D(1000)) == 121
    assert money_to_points(D(120000), D(1000)) == 120
    assert percent_of(D(12345), D(10)) == D("1234.5")
    assert quantize_money(D("1234.5")) == D(1235)
    assert quantize_money(D("1234.5"), RoundingMode.FLOOR) == D(1234)


def test_share_of_is_exact_for_the_whole_and_proportional_for_parts():
    assert share_of(7, D(300), D(300)) == 7
    assert share_of(7, D(100), D(300)) == 2  # 2.333 -> 2
    assert share_of(7, D(150), D(300)) == 4  # 3.5 -> 4
    assert share_of(7, D(0), D(0)) == 0


def test_clamp_discount_never_goes_below_zero():
    assert clamp_discount(D(50000), D(30000)) == D(30000)
    assert clamp_discount(D(-5), D(30000)) == D(0)
    assert clamp_discount(D(100), D(30000)) == D(100)


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "Infinity", True, None, [1]])
def test_to_decimal_rejects_what_is_not_a_finite_amount(bad):
    with pytest.raises(ValueError):
        to_decimal(bad)


def test_to_decimal_accepts_strings_ints_and_floats_without_binary_noise():
    assert to_decimal("125000.00") == D("125000.00")
    assert to_decimal(125000) == D(125000)
    assert to_decimal(0.1) == D("0.1")
