"""The one way money and points are written for a person to read (issue 16 item 8): in
Vietnamese `1.250.000 đ` and `12.500 điểm`, in English `1,250,000 VND` and `12,500 points`.

Used by the admin (`loyalty_site.core.admin.money_column` / `points_column`), the templates (the
`core_format` library: `vnd`, `points`, `number`), the member pages (`portal_format` delegates
here) and the notifications' placeholders. Amounts are shown in whole dong (rounded half-up, as
`loyalty_site.core.money.quantize_money` does); the unit is joined by a no-break space so that
it never wraps away from its number. The language is the active one unless given."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import ngettext

from loyalty_site.core.money import quantize_money, to_decimal

NBSP = "\u00a0"


def _language(language: str | None) -> str:
    return "vi" if (language or translation.get_language() or "vi").startswith("vi") else "en"


def _whole(value: object) -> int:
    """A whole number from an int, Decimal or numeric string; ValueError/TypeError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(quantize_money(to_decimal(value)))


def group_digits(number: int, *, language: str | None = None) -> str:
    """`1.250.000` in Vietnamese, `1,250,000` in English."""
    grouped = f"{number:,}"
    return grouped.replace(",", ".") if _language(language) == "vi" else grouped


def format_number(value: object, *, language: str | None = None) -> str:
    """A whole number grouped the reader's way, for a sentence that names its own unit; blank for
    a value that is not a number."""
    try:
        return group_digits(_whole(value), language=language)
    except (ValueError, TypeError):
        return ""


def format_vnd(value: object, *, language: str | None = None) -> str:
    """`1.250.000 đ` / `1,250,000 VND`; blank for a value that is not an amount."""
    try:
        amount = _whole(value)
    except (ValueError, TypeError):
        return ""
    language = _language(language)
    unit = "đ" if language == "vi" else "VND"
    return f"{group_digits(amount, language=language)}{NBSP}{unit}"


def format_points(value: object, *, language: str | None = None) -> str:
    """`12.500 điểm` / `12,500 points` (`1 point`); blank for a value that is not a number."""
    try:
        number = _whole(value)
    except (ValueError, TypeError):
        return ""
    language = _language(language)
    with translation.override(language):
        return ngettext("%(points)s point", "%(points)s points", abs(number)) % {
            "points": group_digits(number, language=language)
        }
