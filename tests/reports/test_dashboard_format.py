"""How the dashboard writes numbers (backoffice/templatetags/dashboard_format.py): Vietnamese
`1.250.000 đ` and `12.500 điểm`, English `1,250,000 VND` and `12,500 points`; the change against
the previous period with ▲ / ▼."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from backoffice.templatetags.dashboard_format import change, count, figure, points, ratio, share, vnd


class Row:
    def __init__(self, kind, difference):
        self.kind = kind
        self.change = difference


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("vi", ["1.250.000\u00a0đ", "12.500 điểm", "1 điểm", "42,5 %", "1,35", "1.234", "1.235\u00a0đ", "0\u00a0đ"]),
        (
            "en",
            [
                "1,250,000\u00a0VND",
                "12,500 points",
                "1 point",
                "42.5 %",
                "1.35",
                "1,234",
                "1,235\u00a0VND",
                "0\u00a0VND",
            ],
        ),
    ],
)
def test_numbers_in_each_language(language, expected):
    with translation.override(language):
        written = [
            vnd(Decimal("1250000.00")),
            points(12500),
            points(1),
            share(Decimal("0.4250")),
            ratio(Decimal("1.3450")),
            count(1234),
            vnd(Decimal("1234.50")),  # half-up, like every amount of the programme
            vnd(None),
        ]
    assert written == expected


def test_negative_points_and_the_figure_filter():
    with translation.override("vi"):
        assert points(-1500) == "-1.500 điểm"
        assert figure(Decimal("0.5"), "share") == "50,0 %"
        assert figure(Decimal("99000"), "money") == "99.000\u00a0đ"


def test_the_change_arrow_and_its_words():
    with translation.override("vi"):
        up = change(Row("money", Decimal("250")))
        down = change(Row("count", Decimal("-12.34")))
        points_up = change(Row("share", Decimal("2.5")))
        same = change(Row("money", Decimal("0")))
        nothing = change(Row("money", None))
    assert "▲" in up and "250,0 %" in up and 'class="change up"' in up
    assert "▼" in down and "12,3 %" in down and "-" not in down.split("</span>")[-2]
    assert "▲" in points_up and "2,5 điểm phần trăm" in points_up
    assert "▲" not in same and "▼" not in same and "=" in same
    assert "–" in nothing and "không có số liệu để so sánh" in nothing


def test_row_change_is_relative_and_shares_move_in_points():
    from backoffice.dashboard import Row as FigureRow

    assert FigureRow("net_sales", "", "money", Decimal(350000), Decimal(100000)).change == 250
    assert FigureRow("points_adjusted", "", "points", 50, -100).change == 150
    assert FigureRow("orders", "", "count", 3, 0).change is None
    assert FigureRow("orders", "", "count", 0, 0).change == 0
    assert FigureRow("member_share", "", "share", Decimal("0.5"), Decimal("0.4")).change == 10
