"""The one number format (issue 16 item 8): `1.250.000 đ` and `12.500 điểm` in Vietnamese,
`1,250,000 VND` and `12,500 points` in English, from the functions and the `core_format` filters."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from loyalty_site.core.formats import format_number, format_points, format_vnd

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "vi", "en"),
    [
        (Decimal("1250000.00"), f"1.250.000{NBSP}đ", f"1,250,000{NBSP}VND"),
        (1250000, f"1.250.000{NBSP}đ", f"1,250,000{NBSP}VND"),
        ("999.5", f"1.000{NBSP}đ", f"1,000{NBSP}VND"),  # whole dong, half up
        (Decimal("-50000"), f"-50.000{NBSP}đ", f"-50,000{NBSP}VND"),
        (0, f"0{NBSP}đ", f"0{NBSP}VND"),
    ],
)
def test_money(value, vi, en):
    assert format_vnd(value, language="vi") == vi
    assert format_vnd(value, language="en") == en


def test_points_with_the_plural_of_each_language():
    assert format_points(12500, language="vi") == "12.500 điểm"
    assert format_points(12500, language="en") == "12,500 points"
    assert format_points(1, language="en") == "1 point"
    assert format_points(-1, language="en") == "-1 point"
    assert format_points(1, language="vi") == "1 điểm"


def test_the_active_language_is_used_when_none_is_given():
    with translation.override("en"):
        assert (format_vnd(1250000), format_points(12500), format_number(1250000)) == (
            f"1,250,000{NBSP}VND",
            "12,500 points",
            "1,250,000",
        )
    with translation.override("vi"):
        assert (format_vnd(1250000), format_points(12500), format_number(1250000)) == (
            f"1.250.000{NBSP}đ",
            "12.500 điểm",
            "1.250.000",
        )


@pytest.mark.parametrize("bad", [None, "", "abc", "NaN", "Infinity", True, object(), [1]])
def test_what_is_not_a_number_is_blank_and_never_an_error(bad):
    assert format_vnd(bad) == format_points(bad) == format_number(bad) == ""


def test_the_core_format_filters():
    template = Template("{% load core_format %}{{ a|vnd }} | {{ p|points }} | {{ n|number }} | {{ x|vnd }}")
    with translation.override("vi"):
        text = template.render(Context({"a": Decimal("1250000"), "p": 12500, "n": 3000, "x": "?"}))
    assert text == f"1.250.000{NBSP}đ | 12.500 điểm | 3.000 | "
    with translation.override("en"):
        text = template.render(Context({"a": Decimal("1250000"), "p": 12500, "n": 3000, "x": "?"}))
    assert text == f"1,250,000{NBSP}VND | 12,500 points | 3,000 | "


def test_the_portal_filters_are_the_core_ones():
    from loyalty_site.core.templatetags import core_format
    from portal.templatetags import portal_format

    for name in ("vnd", "points", "number"):
        assert portal_format.register.filters[name] is core_format.register.filters[name]
    template = Template("{% load portal_format %}{{ a|vnd }} {{ t|tier_amount:'points' }}")
    with translation.override("vi"):
        assert template.render(Context({"a": 5_000_000, "t": 300})) == f"5.000.000{NBSP}đ 300 điểm"


def test_messages_write_points_grouped_and_money_with_its_currency():
    from zoneinfo import ZoneInfo

    from notifications.rendering import format_value

    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    assert format_value(12500, language="vi", zone=zone) == "12.500"
    assert format_value(Decimal("50000.00"), language="vi", zone=zone) == f"50.000{NBSP}đ"
    assert format_value(Decimal("50000"), language="en", zone=zone) == f"50,000{NBSP}VND"
