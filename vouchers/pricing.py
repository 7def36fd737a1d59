"""What a voucher of each kind takes off an invoice: the one place for that arithmetic.

`payable` is what is left to pay when the voucher's turn comes (after line promotions, the
tier's standing discount and the vouchers before it). Item prices are the lines' prices after
the line promotions already applied (`Cart.line_remaining`), so an item is never discounted
twice. Every result is whole VND (rounded by `core.money`), at least zero and at most `payable`.

- cash: min(value, payable);
- percent: min(round(payable x percent %), cap);
- free item: the price of one matching item, the cheapest;
- buy X get Y: the matching items sorted from dearest to cheapest, taken in groups of X + Y;
  in every full group the Y cheapest are free (7 coffees with X=2, Y=1: two groups, 2 free)."""

from __future__ import annotations

from decimal import Decimal

from loyalty_site.core.cart import Cart, CartLine
from loyalty_site.core.money import ZERO, clamp_discount, percent_of, quantize_money, to_decimal
from vouchers.models import Reward

Kind = Reward.Kind


def _matching_lines(reward: Reward, cart: Cart) -> list[CartLine]:
    return cart.lines_in(
        skus={reward.sku} if reward.sku else None,
        categories={reward.category} if reward.category else None,
    )


def _item_prices(reward: Reward, cart: Cart) -> list[Decimal]:
    """One price per matching item (a line of quantity 3 gives three), after line discounts."""
    prices: list[Decimal] = []
    for line in _matching_lines(reward, cart):
        if line.quantity <= 0:
            continue
        unit = cart.line_remaining(line) / line.quantity
        prices.extend([unit] * line.quantity)
    return prices


def cash_discount(*, value: Decimal, payable: Decimal) -> Decimal:
    return clamp_discount(to_decimal(value), payable)


def percent_discount(*, percent: Decimal, cap: Decimal | None, payable: Decimal) -> Decimal:
    amount = quantize_money(percent_of(payable, percent))
    if cap is not None:
        amount = min(amount, to_decimal(cap))
    return clamp_discount(amount, payable)


def free_item_discount(*, prices: list[Decimal], payable: Decimal) -> Decimal:
    if not prices:
        return ZERO
    return clamp_discount(quantize_money(min(prices)), payable)


def buy_x_get_y_discount(*, prices: list[Decimal], buy: int, free: int, payable: Decimal) -> Decimal:
    group = buy + free
    if buy < 1 or free < 1:
        return ZERO
    ordered = sorted(prices, reverse=True)
    free_total = ZERO
    for start in range(0, len(ordered) - group + 1, group):
        free_total += sum(ordered[start + buy : start + group], ZERO)
    return clamp_discount(quantize_money(free_total), payable)


def reward_discount(*, reward: Reward, cart: Cart, payable: Decimal) -> Decimal:
    """What a voucher of `reward` takes off this cart when `payable` is left to pay (zero when
    it has nothing to apply to)."""
    payable = to_decimal(payable)
    if payable <= 0:
        return ZERO
    if reward.kind == Kind.CASH:
        return cash_discount(value=reward.value or ZERO, payable=payable)
    if reward.kind == Kind.PERCENT:
        return percent_discount(percent=reward.percent or ZERO, cap=reward.cap, payable=payable)
    if reward.kind == Kind.FREE_ITEM:
        return free_item_discount(prices=_item_prices(reward, cart), payable=payable)
    if reward.kind == Kind.BUY_X_GET_Y:
        return buy_x_get_y_discount(
            prices=_item_prices(reward, cart),
            buy=reward.buy_quantity or 0,
            free=reward.free_quantity or 0,
            payable=payable,
        )
    raise ValueError(f"unknown reward kind {reward.kind!r}")
