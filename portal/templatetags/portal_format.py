"""Numbers on the member pages in the reader's language: the filters `vnd`, `points` and
`number` of the `core_format` library (`loyalty_site.core.formats`, the one implementation),
kept under this library's name for the portal's templates, plus `tier_amount`."""

from __future__ import annotations

from django import template

from loyalty_site.core.templatetags.core_format import number, points, vnd

register = template.Library()
register.filter("vnd", vnd)
register.filter("points", points)
register.filter("number", number)


@register.filter
def tier_amount(value, basis: str = "spend") -> str:
    """A tier threshold in the programme's basis: points, or money (VND)."""
    return points(value) if basis == "points" else vnd(value)
