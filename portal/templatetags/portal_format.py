"""Numbers on the member pages in the reader's language: `{{ amount|vnd }}` gives
`1.250.000 đ` in Vietnamese and `1,250,000 VND` in English; `{{ points|points }}` gives
`12.500 điểm` / `12,500 points`. Grouping is the one of the messages
(`notifications.rendering.format_value`); amounts are shown in whole dong."""

from __future__ import annotations

from django import template
from django.utils import translation
from django.utils.translation import ngettext

from loyalty_site.core.money import quantize_money, to_decimal
from notifications.rendering import format_value
from notifications.selectors import programme_zone

register = template.Library()


def _grouped(number: int) -> str:
    language = "vi" if (translation.get_language() or "vi").startswith("vi") else "en"
    return format_value(int(number), language=language, zone=programme_zone())


@register.filter
def vnd(value) -> str:
    """`1.250.000 đ` / `1,250,000 VND`; blank for a value that is not an amount."""
    try:
        amount = int(quantize_money(to_decimal(value)))
    except (ValueError, TypeError):
        return ""
    if (translation.get_language() or "vi").startswith("vi"):
        return f"{_grouped(amount)}\u00a0đ"
    return f"{_grouped(amount)}\u00a0VND"


@register.filter
def points(value) -> str:
    """`12.500 điểm` / `12,500 points`; blank for a value that is not a number."""
    try:
        number = int(value)
    except (ValueError, TypeError):
        return ""
    return ngettext("%(points)s point", "%(points)s points", abs(number)) % {"points": _grouped(number)}


@register.filter
def tier_amount(value, basis: str = "spend") -> str:
    """A tier threshold in the programme's basis: points, or money (VND)."""
    return points(value) if basis == "points" else vnd(value)


@register.filter
def number(value) -> str:
    """A whole number grouped the reader's way (`1.250.000` / `1,250,000`), for numbers inside a
    translated sentence that names its own unit; blank for a value that is not a number."""
    try:
        return _grouped(int(quantize_money(to_decimal(value))))
    except (ValueError, TypeError):
        return ""
