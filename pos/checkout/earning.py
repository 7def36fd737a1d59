"""Points a priced cart earns, line by line when earn rules touch it (issue 16).

Without a rule touching the cart the sale earns as pos-api.md says, on the whole amount paid:

    points = round(total x tier rate x multiplier / point value)

When rules touch some lines, the amount paid is first shared out over the lines: each line's
share of `total` is in proportion to what the line still cost after the line promotions
(invoice-level discounts, the tier's discount, vouchers and points lower every line alike),
rounded to whole dong cumulatively so the shares add up to `total` exactly. Then

    earn base = the shares of the lines that are not excluded (also the qualifying spend)
    points    = round(sum(share x line rate) x multiplier / point value) + bonus points per item

rounded once, with the programme's rounding, where a line's rate is its rule's rate or the tier's.
The promotions' bonus points are added by the caller. Each line keeps its share of the base and
its unrounded points (`LineEarned`) so a refund of some lines reverses what those lines earned."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from campaigns.promotions.earn import EarnPlan
from loyalty_site.core.cart import Cart
from loyalty_site.core.money import ZERO, percent_of, points_for_amount, quantize_money, to_decimal
from members.models import ProgrammeSettings

ONE = Decimal(1)
WEIGHT_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class LineEarned:
    earn_base: Decimal
    points: Decimal  # unrounded, bonus included: the line's weight when a refund shares points


@dataclass(frozen=True)
class Earning:
    earn_base: Decimal
    points: int  # before the promotions' bonus points
    lines: dict[int, LineEarned] = field(default_factory=dict)  # only when a rule touched the cart


def _shares(cart: Cart, total: Decimal) -> dict[int, Decimal]:
    """`total` shared out over the lines in proportion to what each still costs."""
    costs = [(line.index, cart.line_remaining(line)) for line in cart.lines]
    whole = sum((cost for _index, cost in costs), ZERO)
    shares: dict[int, Decimal] = {}
    running, given = ZERO, ZERO
    for position, (index, cost) in enumerate(costs):
        running += cost
        upto = quantize_money(total * running / whole) if whole else ZERO
        if position == len(costs) - 1:
            upto = total  # the shares add up to the total exactly
        shares[index] = upto - given
        given = upto
    return shares


def earning_compute(
    *,
    priced_cart: Cart,
    total: Decimal,
    plan: EarnPlan,
    rate_percent: Decimal | None,
    multiplier: Decimal,
    programme: ProgrammeSettings,
) -> Earning:
    """What the cart earns (see the module docstring). `priced_cart`: the cart after the line
    promotions; `rate_percent`: the tier's rate (None: the sale earns no points, a base still)."""
    if not plan.lines:
        points = 0
        if rate_percent is not None:
            points = points_for_amount(
                total,
                rate_percent=rate_percent,
                point_value=programme.point_value,
                multiplier=multiplier,
                mode=programme.rounding_mode,
            )
        return Earning(earn_base=total, points=points)
    shares = _shares(priced_cart, total)
    base, weighted, bonus = ZERO, ZERO, 0
    lines: dict[int, LineEarned] = {}
    point_value = to_decimal(programme.point_value)
    for line in priced_cart.lines:
        rule = plan.line(line.index)
        if rule is not None and rule.excluded:
            lines[line.index] = LineEarned(earn_base=ZERO, points=ZERO)
            continue
        share = shares[line.index]
        base += share
        line_rate = rule.rate_percent if rule is not None and rule.rate_percent is not None else rate_percent
        line_bonus = rule.bonus_points if rule is not None else 0
        raw = ZERO
        if rate_percent is not None:
            weighted += share * line_rate
            bonus += line_bonus
            raw = percent_of(share, line_rate) * to_decimal(multiplier) / point_value + line_bonus
        lines[line.index] = LineEarned(earn_base=share, points=raw.quantize(WEIGHT_PLACES))
    points = 0
    if rate_percent is not None:
        # sum(share x rate) at 1 %: the same single rounding as the whole-invoice rule.
        points = (
            points_for_amount(
                weighted,
                rate_percent=ONE,
                point_value=programme.point_value,
                multiplier=multiplier,
                mode=programme.rounding_mode,
            )
            + bonus
        )
    return Earning(earn_base=base, points=points, lines=lines)
