"""Money and points in templates, in the reader's language (`loyalty_site.core.formats`):
`{{ amount|vnd }}` -> `1.250.000 đ` / `1,250,000 VND`, `{{ n|points }}` -> `12.500 điểm` /
`12,500 points`, `{{ n|number }}` -> `1.250.000` / `1,250,000`."""

from __future__ import annotations

from django import template

from loyalty_site.core.formats import format_number, format_points, format_vnd

register = template.Library()


@register.filter
def vnd(value) -> str:
    return format_vnd(value)


@register.filter
def points(value) -> str:
    return format_points(value)


@register.filter
def number(value) -> str:
    return format_number(value)
