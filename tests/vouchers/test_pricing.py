"""The arithmetic of every kind of reward (`vouchers.pricing`): no database needed."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_site.core.cart import Cart, CartLine
from tests.vouchers.helpers import cart_of
from vouchers.models import Reward
from vouchers.pricing import buy_x_get_y_discount, reward_discount

D = Decimal


def cash(value=50_000):
    return Reward(kind=Reward.Kind.CASH, value=D(value))


def percent(p=10, cap=100_000):
    return Reward(kind=Reward.Kind.PERCENT, percent=D(p), cap=D(cap))


def free_item(sku="", category=""):
    return Reward(kind=Reward.Kind.FREE_ITEM, sku=sku, category=category)


def b2g1(category="coffee", buy=2, free=1, sku=""):
    return Reward(kind=Reward.Kind.BUY_X_GET_Y, category=category, sku=sku, buy_quantity=buy, free_quantity=free)


ANY_CART = cart_of(("PHO1", 1, 300_000, "pho"))


# --- Cash ---------------------------------------------------------------------------------------


def test_cash_takes_its_value_off():
    assert reward_discount(reward=cash(50_000), cart=ANY_CART, payable=D(300_000)) == D(50_000)


@pytest.mark.parametrize("payable", ["30000", "50000", "0", "0.5"])
def test_cash_never_takes_the_total_below_zero(payable):
    discount = reward_discount(reward=cash(50_000), cart=ANY_CART, payable=D(payable))
    assert discount == min(D(50_000), D(payable))
    assert D(payable) - discount >= 0


# --- Percent ------------------------------------------------------------------------------------


def test_percent_of_what_is_left_to_pay():
    assert reward_discount(reward=percent(10, 100_000), cart=ANY_CART, payable=D(300_000)) == D(30_000)


def test_percent_is_capped():
    assert reward_discount(reward=percent(10, 100_000), cart=ANY_CART, payable=D(2_500_000)) == D(100_000)
    assert reward_discount(reward=percent(20, 200_000), cart=ANY_CART, payable=D(999_990)) == D(199_998)
    assert reward_discount(reward=percent(20, 200_000), cart=ANY_CART, payable=D(1_000_005)) == D(200_000)


def test_percent_rounds_to_whole_dong_half_up():
    # 10 % of 12,345 = 1,234.5 -> 1,235; 10 % of 12,344 = 1,234.4 -> 1,234
    assert reward_discount(reward=percent(10), cart=ANY_CART, payable=D(12_345)) == D(1_235)
    assert reward_discount(reward=percent(10), cart=ANY_CART, payable=D(12_344)) == D(1_234)


# --- Free item ----------------------------------------------------------------------------------


def test_free_item_by_category_is_the_cheapest_matching_item():
    cart = cart_of(("CF-DEN", 1, 29_000, "coffee"), ("CF-SUA", 2, 35_000, "coffee"), ("BANH", 1, 15_000, "cake"))
    assert reward_discount(reward=free_item(category="coffee"), cart=cart, payable=cart.subtotal) == D(29_000)


def test_free_item_by_sku():
    cart = cart_of(("CF-DEN", 1, 29_000, "coffee"), ("CF-SUA", 2, 35_000, "coffee"))
    assert reward_discount(reward=free_item(sku="CF-SUA"), cart=cart, payable=cart.subtotal) == D(35_000)


def test_free_item_without_a_matching_item_is_zero():
    cart = cart_of(("BANH", 1, 15_000, "cake"))
    assert reward_discount(reward=free_item(category="coffee"), cart=cart, payable=cart.subtotal) == 0


def test_free_item_uses_the_price_after_line_promotions():
    # A 10 % line promotion already took 5,800 off two 29,000 coffees: each now costs 26,100.
    cart = cart_of(("CF-DEN", 2, 29_000, "coffee"), line_discounts={0: 5_800})
    assert reward_discount(reward=free_item(category="coffee"), cart=cart, payable=cart.subtotal) == D(26_100)


def test_free_item_never_exceeds_what_is_left_to_pay():
    cart = cart_of(("CF-DEN", 1, 29_000, "coffee"))
    assert reward_discount(reward=free_item(category="coffee"), cart=cart, payable=D(10_000)) == D(10_000)


# --- Buy X get Y --------------------------------------------------------------------------------


def test_buy_2_get_1_three_coffees_the_cheapest_is_free():
    cart = cart_of(("CF-SUA", 1, 35_000, "coffee"), ("CF-DEN", 1, 29_000, "coffee"), ("BAC-XIU", 1, 32_000, "coffee"))
    assert reward_discount(reward=b2g1(), cart=cart, payable=cart.subtotal) == D(29_000)


def test_buy_2_get_1_picks_the_cheapest_of_each_group_of_three():
    # Sorted: 50, 45, 40 | 35, 30, 25 | 20 -> free 40 and 25; the seventh item is not in a group.
    prices = [20, 35, 50, 25, 45, 30, 40]
    cart = cart_of(*[(f"CF{p}", 1, p * 1000, "coffee") for p in prices])
    assert reward_discount(reward=b2g1(), cart=cart, payable=cart.subtotal) == D(65_000)


def test_seven_coffees_give_two_free():
    cart = cart_of(("CF-DEN", 7, 29_000, "coffee"))
    assert reward_discount(reward=b2g1(), cart=cart, payable=cart.subtotal) == D(58_000)


def test_two_coffees_are_not_a_group():
    cart = cart_of(("CF-DEN", 2, 29_000, "coffee"), ("PHO", 1, 60_000, "pho"))
    assert reward_discount(reward=b2g1(), cart=cart, payable=cart.subtotal) == 0


def test_other_categories_do_not_count_towards_the_group():
    cart = cart_of(("CF-DEN", 2, 29_000, "coffee"), ("BANH", 5, 10_000, "cake"))
    assert reward_discount(reward=b2g1(), cart=cart, payable=cart.subtotal) == 0


def test_buy_3_get_2():
    # Sorted 10 x 60,000 | 5 ... groups of 5: [60, 60, 60, 60, 60] -> 2 free at 60,000 each.
    cart = cart_of(("A", 5, 60_000, "x"), ("B", 4, 20_000, "x"))
    assert buy_x_get_y_discount(
        prices=[u for line in cart.lines for u in [line.unit_price] * line.quantity], buy=3, free=2, payable=D(10**9)
    ) == D(120_000)


# --- Never below zero ---------------------------------------------------------------------------


def test_nothing_is_taken_when_nothing_is_left_to_pay():
    cart = cart_of(("CF-DEN", 3, 29_000, "coffee"))
    for reward in (cash(), percent(), free_item(category="coffee"), b2g1()):
        assert reward_discount(reward=reward, cart=cart, payable=D(0)) == 0


prices = st.integers(min_value=0, max_value=500_000)
lines = st.lists(
    st.tuples(st.sampled_from(["coffee", "cake"]), st.integers(min_value=1, max_value=6), prices),
    min_size=1,
    max_size=6,
)


@given(lines=lines, payable_share=st.integers(min_value=0, max_value=100), kind=st.sampled_from(range(4)))
def test_a_discount_is_whole_dong_never_negative_never_more_than_payable(lines, payable_share, kind):
    cart = Cart(
        lines=tuple(
            CartLine(index=i, sku=f"S{i}", quantity=q, unit_price=D(p), category=c) for i, (c, q, p) in enumerate(lines)
        )
    )
    payable = (cart.subtotal * payable_share / 100).quantize(D(1))
    reward = [cash(), percent(), free_item(category="coffee"), b2g1()][kind]
    discount = reward_discount(reward=reward, cart=cart, payable=payable)
    assert 0 <= discount <= payable
    assert discount == discount.quantize(D(1))
