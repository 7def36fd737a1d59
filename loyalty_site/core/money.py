"""The one module for money and points arithmetic.

Money is `Decimal` in VND (no minor unit is used in practice, but amounts may carry two decimal
places on input); points are `int`. Every conversion and every rounding decision lives here so
that the quote, the sale, the refund and the reports can never disagree.

Rounding modes, for positive and negative values alike:
- half-up: halves go away from zero (5.5 -> 6, 5.45 -> 5, -5.5 -> -6), the usual commercial rule;
- floor: towards minus infinity (5.9 -> 5, -5.1 -> -6);
- ceil: towards plus infinity (5.1 -> 6, -5.9 -> -5).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, InvalidOperation

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY_MAX_DIGITS = 18
MONEY_DECIMAL_PLACES = 2
ZERO = Decimal(0)
HUNDRED = Decimal(100)
# Enough digits that no amount a till can send (or a report can sum) is rounded by the context.
_CONTEXT = Context(prec=60)


class RoundingMode(models.TextChoices):
    HALF_UP = "half_up", _("Half up (0.5 rounds up)")
    FLOOR = "floor", _("Down (floor)")
    CEIL = "ceil", _("Up (ceiling)")


_DECIMAL_ROUNDING = {
    RoundingMode.HALF_UP: ROUND_HALF_UP,
    RoundingMode.FLOOR: ROUND_FLOOR,
    RoundingMode.CEIL: ROUND_CEILING,
}


def to_decimal(value: object) -> Decimal:
    """Parse an amount given as Decimal, int or decimal string. Floats go through `str` so that
    0.1 stays 0.1. Raises ValueError on anything that is not a finite number."""
    if isinstance(value, bool):
        raise ValueError("not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"not an amount: {value!r}") from exc
    else:
        raise ValueError(f"not an amount: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


def round_to_int(value: Decimal, mode: str = RoundingMode.HALF_UP) -> int:
    """Round a Decimal to an integer with one of the programme's rounding modes."""
    return int(to_decimal(value).quantize(Decimal(1), rounding=_DECIMAL_ROUNDING[RoundingMode(mode)], context=_CONTEXT))


def quantize_money(amount: Decimal, mode: str = RoundingMode.HALF_UP) -> Decimal:
    """Round an amount to whole dong (VND has no coin below 1 dong)."""
    return Decimal(round_to_int(amount, mode))


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """`percent` % of `amount`, exact (no rounding)."""
    return _CONTEXT.divide(_CONTEXT.multiply(to_decimal(amount), to_decimal(percent)), HUNDRED)


def points_for_amount(
    amount: Decimal,
    *,
    rate_percent: Decimal,
    point_value: Decimal,
    multiplier: Decimal = Decimal(1),
    mode: str = RoundingMode.HALF_UP,
) -> int:
    """Points earned on `amount`: round(amount x rate% x multiplier / point value).

    Rounding happens once, at the end, so 5.45 points is 5 and 5.5 is 6 under half-up."""
    point_value = to_decimal(point_value)
    if point_value <= 0:
        raise ValueError("point value must be positive")
    raw = _CONTEXT.divide(_CONTEXT.multiply(percent_of(amount, rate_percent), to_decimal(multiplier)), point_value)
    return round_to_int(raw, mode)


def points_to_money(points: int, point_value: Decimal) -> Decimal:
    """What `points` are worth in VND."""
    return _CONTEXT.multiply(Decimal(int(points)), to_decimal(point_value))


def money_to_points(amount: Decimal, point_value: Decimal, mode: str = RoundingMode.CEIL) -> int:
    """How many points cover `amount` (ceil by default: a point is never worth a fraction)."""
    return round_to_int(_CONTEXT.divide(to_decimal(amount), to_decimal(point_value)), mode)


def share_of(total: int, part: Decimal, whole: Decimal, mode: str = RoundingMode.HALF_UP) -> int:
    """The integer share of `total` that `part / whole` represents, e.g. the points to reverse
    for a partial refund. A full share (part == whole) returns `total` exactly."""
    part, whole = to_decimal(part), to_decimal(whole)
    if whole == 0:
        return 0
    if part == whole:
        return int(total)
    return round_to_int(_CONTEXT.divide(_CONTEXT.multiply(Decimal(int(total)), part), whole), mode)


def clamp_discount(discount: Decimal, remaining: Decimal) -> Decimal:
    """A discount never takes what is left to pay below zero."""
    return max(ZERO, min(to_decimal(discount), to_decimal(remaining)))
