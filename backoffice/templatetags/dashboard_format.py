"""How the dashboard writes its figures, in the active language: Vietnamese `1.250.000 đ`,
`12.500 điểm`, `42,5 %`; English `1,250,000 VND`, `12,500 points`, `42.5 %`. Money, points and
counts go through the programme's one format (`loyalty_site.core.formats`: whole đồng, half-up,
a no-break space before the unit); shares and ratios keep their decimals here."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils import numberformat
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from loyalty_site.core.formats import format_number, format_points, format_vnd
from loyalty_site.core.money import round_to_int

register = template.Library()


def _grouped(value, decimals: int = 0) -> str:
    number = Decimal(str(value or 0))
    number = (
        Decimal(round_to_int(number)) if decimals == 0 else number.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    )
    # Django's Vietnamese formats set the separators but no NUMBER_GROUPING: groups of three here.
    return numberformat.format(
        number,
        get_format("DECIMAL_SEPARATOR"),
        decimal_pos=decimals,
        grouping=3,
        thousand_sep=get_format("THOUSAND_SEPARATOR"),
        force_grouping=True,
    )


# Whole amounts, points and counts: the programme's one format (loyalty_site.core.formats).
@register.filter
def vnd(value) -> str:
    return format_vnd(value or 0)


@register.filter
def points(value) -> str:
    return format_points(value or 0)


@register.filter
def count(value) -> str:
    return format_number(value or 0)


@register.filter
def share(value) -> str:
    """A share between 0 and 1, as a percentage with one decimal."""
    return f"{_grouped(Decimal(str(value or 0)) * 100, 1)} %"


@register.filter
def ratio(value) -> str:
    return _grouped(value, 2)


FORMATS = {"money": vnd, "points": points, "count": count, "share": share, "ratio": ratio}


@register.filter
def figure(value, kind: str) -> str:
    return FORMATS[kind](value)


@register.filter
def change(row) -> str:
    """▲ / ▼ and the change against the previous period (`Row.change`), with words for screen
    readers; "–" when the previous period has nothing to compare with."""
    difference = row.change
    if difference is None:
        return format_html('<span class="change none" title="{0}">–<span class="visually-hidden">{0}</span></span>',
                           _("nothing to compare with"))  # fmt: skip
    unit = _("percentage points") if row.kind == "share" else "%"
    text = f"{_grouped(abs(difference), 1)} {unit}"
    if difference > 0:
        arrow, css, words = "▲", "up", _("up")
    elif difference < 0:
        arrow, css, words = "▼", "down", _("down")
    else:
        return format_html('<span class="change same">= <span class="visually-hidden">{}</span></span>', _("unchanged"))
    return format_html(
        '<span class="change {}"><span aria-hidden="true">{}</span> <span class="visually-hidden">{}</span>{}</span>',
        css, arrow, words, text,
    )  # fmt: skip
