"""The admin's home page is the dashboard (reports.md "Where"; backoffice/dashboard.py): who
sees it, what it shows for a made-up history, its filters, and every refusal (a clear error, no
figure, nothing written, never a 500)."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reports.figures import Scope, daily_series, period_figures, previous_period
from tests.reports.dashboard_helpers import (
    CAFE_MEMBER,
    EARLIER,
    PHO_MEMBER,
    PHO_OTHER,
    last_30_days,
    make_history,
    marketing_user,
    pho_manager,
    staff_user,
    vnd_vi,
)

pytestmark = pytest.mark.django_db

HOME = reverse("admin:index")
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@pytest.fixture
def dashboard_history(demo_programme):
    return make_history()


@pytest.fixture
def marketing(client, dashboard_history):
    client.force_login(marketing_user())
    return client


@pytest.fixture
def manager(client, dashboard_history):
    client.force_login(pho_manager())
    return client


def get(client, params=None):
    """GET the home page, asserting that it wrote nothing."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(HOME, params or {})
    writes = [q["sql"] for q in queries.captured_queries if WRITES.match(q["sql"])]
    assert writes == [], writes
    return response


def text(response) -> str:
    return response.content.decode()


def figure_cells(response) -> dict[str, tuple[str, str]]:
    """summary.json name -> (this period, previous period) as the page writes them."""
    rows = re.findall(
        r'<tr data-figure="(\w+)">\s*<th scope="row">[^<]*</th>\s*'
        r'<td class="number current">([^<]*)</td>\s*<td class="number previous">([^<]*)</td>',
        text(response),
    )
    return {name: (current, previous) for name, current, previous in rows}


def chart_data(response) -> dict:
    found = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', text(response), re.S)
    assert found, "no chart data on the page"
    return json.loads(found.group(1))


# --- Who sees it ------------------------------------------------------------------------------


def test_marketing_sees_the_last_30_days_with_the_previous_period_and_the_change(marketing):
    response = get(marketing)
    assert response.status_code == 200
    assert "admin/dashboard.html" in [t.name for t in response.templates]
    cells = figure_cells(response)
    total = PHO_MEMBER + PHO_OTHER + CAFE_MEMBER
    assert cells["net_sales"] == (vnd_vi(total), vnd_vi(EARLIER))
    assert cells["member_sales"] == (vnd_vi(PHO_MEMBER + CAFE_MEMBER), vnd_vi(EARLIER))
    assert cells["orders"] == ("3", "1")
    assert cells["active_members"] == ("2", "1")
    # 350,000 against 100,000: up 250 %.
    row = re.search(r'<tr data-figure="net_sales">.*?</tr>', text(response), re.S).group(0)
    assert "▲" in row and "250,0 %" in row
    start, end = last_30_days()
    assert f"{start:%d/%m/%Y} – {end:%d/%m/%Y}" in text(response)
    before = previous_period(start, end)
    assert f"{before[0]:%d/%m/%Y} – {before[1]:%d/%m/%Y}" in text(response)
    # The app list stays on the page, below the dashboard.
    assert reverse("admin:members_member_changelist") in text(response)


def test_every_figure_on_the_page_is_the_one_reports_computes(marketing):
    response = get(marketing)
    start, end = last_30_days()
    figures = period_figures(start=start, end=end, scope=Scope())
    context = response.context
    shown = {row.name: row.current for _title, rows in context["sections"] for row in rows}
    for name, value in figures.items():
        if name in shown:
            assert shown[name] == value, name
    missing = {"net_sales", "member_share", "returning_rate", "liability_vnd", "expiring_90", "vouchers_used"} - set(
        shown
    )
    assert missing == set()


def test_charts_carry_the_daily_series_and_each_has_its_table(marketing):
    response = get(marketing)
    start, end = last_30_days()
    series = daily_series(start=start, end=end, scope=Scope())
    data = chart_data(response)
    assert set(data) == {"sales", "enrolments", "points", "tiers"}
    assert data["sales"]["labels"] == [f"{d['day']:%d/%m}" for d in series]
    members, others = (s["values"] for s in data["sales"]["series"])
    assert sum(members) == PHO_MEMBER + CAFE_MEMBER and sum(others) == PHO_OTHER
    assert sum(data["enrolments"]["series"][0]["values"]) == 2
    page = text(response)
    for key in data:
        assert f'<canvas data-chart="{key}"' in page and f'<table data-chart-table="{key}">' in page
    sales_table = re.search(r'<table data-chart-table="sales">.*?</table>', page, re.S).group(0)
    assert sales_table.count('<th scope="row">') == 30
    rows = re.findall(
        r'<tr><th scope="row">([^<]*)</th><td class="number">([^<]*)</td><td class="number">([^<]*)</td>', sales_table
    )
    assert rows == [
        (f"{d['day']:%d/%m/%Y}", vnd_vi(d["net_sales_members"]), vnd_vi(d["net_sales_others"])) for d in series
    ]
    assert (f"{timezone.localdate() - datetime.timedelta(days=2):%d/%m/%Y}", vnd_vi(PHO_MEMBER), "0\u00a0đ") in rows
    tiers = re.search(r'<table data-chart-table="tiers">.*?</table>', page, re.S).group(0)
    assert "Thành viên" in tiers  # the entry tier, by its name


def test_the_page_has_no_inline_script_and_loads_chart_js_from_our_static_files(marketing):
    page = text(get(marketing))
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts
    for attributes in scripts:
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
    assert "/static/reports/vendor/chart.umd.min.js" in page and "/static/reports/dashboard.js" in page
    # Nothing is loaded from another host: every script and stylesheet is served from our own
    # static files. (Not a substring search for "cdn": a random CSRF token can hold those letters.)
    assets = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page) + re.findall(r'<link[^>]*\bhref="([^"]+)"', page)
    assert assets
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), url


def test_staff_without_the_report_permission_get_the_usual_index(client, dashboard_history):
    client.force_login(staff_user("clerk"))
    response = get(client)
    assert response.status_code == 200
    names = [t.name for t in response.templates]
    assert "admin/index.html" in names and "admin/dashboard.html" not in names
    assert "dashboard-data" not in text(response)


def test_signed_out_visitors_go_to_the_sign_in_page(client, dashboard_history):
    response = client.get(HOME)
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


def test_english_numbers(marketing):
    marketing.cookies["django_language"] = "en"
    cells = figure_cells(get(marketing))
    assert cells["net_sales"][0] == "350,000\u00a0VND"
    assert cells["orders"][0] == "3"


# --- Filters ----------------------------------------------------------------------------------


def test_a_store_and_a_range_narrow_every_figure(marketing):
    today = timezone.localdate()
    start = today - datetime.timedelta(days=6)
    response = get(marketing, {"from": start.isoformat(), "to": today.isoformat(), "store": "PHO-HN01"})
    assert response.status_code == 200
    assert figure_cells(response)["net_sales"][0] == vnd_vi(PHO_MEMBER + PHO_OTHER)
    assert len(chart_data(response)["sales"]["labels"]) == 7
    page = text(response)
    query = f"from={start.isoformat()}&amp;to={today.isoformat()}&amp;store=PHO-HN01"
    assert f"{reverse('reports-export')}?{query}" in page
    assert f"{reverse('reports-summary')}?{query}" in page
    # The presets keep the store.
    assert "?days=7&amp;store=PHO-HN01" in page and "?days=365&amp;store=PHO-HN01" in page


def test_a_brand(marketing):
    response = get(marketing, {"days": "7", "brand": "CAFE"})
    assert figure_cells(response)["net_sales"][0] == vnd_vi(CAFE_MEMBER)
    assert 'aria-current="true" class="active">7' in text(response)


def test_the_export_and_json_links_give_the_same_figures(marketing):
    response = get(marketing, {"days": "30", "brand": "PHO"})
    start, end = last_30_days()
    summary = marketing.get(reverse("reports-summary"), {"from": start, "to": end, "brand": "PHO"})
    assert summary.status_code == 200
    assert Decimal(summary.json()["net_sales"]) == response.context["sections"][0][1][0].current
    assert f"from={start.isoformat()}&amp;to={end.isoformat()}&amp;brand=PHO" in text(response)
    export = marketing.get(reverse("reports-export"), {"from": start, "to": end, "brand": "PHO"})
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_vendored_chart_js_is_whole_and_points_at_no_missing_source_map():
    vendor = Path(__file__).resolve().parents[2] / "reports" / "static" / "reports" / "vendor"
    script = (vendor / "chart.umd.min.js").read_text(encoding="utf-8")
    assert script.startswith("/*!\n * Chart.js v4.") and "window.Chart=" in script
    # ManifestStaticFilesStorage refuses to collect a file whose source map is missing.
    assert "sourceMappingURL" not in script
    assert "MIT License" in (vendor / "chart.js.LICENSE.md").read_text(encoding="utf-8")


def test_a_store_manager_sees_their_stores_only(manager):
    response = get(manager)
    assert response.status_code == 200
    assert figure_cells(response)["net_sales"][0] == vnd_vi(PHO_MEMBER + PHO_OTHER)
    page = text(response)
    store_choices = re.findall(
        r'<option value="([^"]*)"', re.search(r'<select name="store".*?</select>', page, re.S)[0]
    )
    assert "CAFE-HN01" not in store_choices and "PHO-HN01" in store_choices
    brand_choices = re.findall(
        r'<option value="([^"]*)"', re.search(r'<select name="brand".*?</select>', page, re.S)[0]
    )
    assert brand_choices == ["", "PHO"]


def test_another_stores_figures_by_url_are_refused_with_a_clear_message(manager, dashboard_history):
    response = get(manager, {"store": "CAFE-HN01"})
    assert response.status_code == 400
    page = text(response)
    assert "Bạn chỉ xem được báo cáo của cửa hàng mình" in page
    assert "dashboard-data" not in page and "data-figure" not in page
    assert dashboard_history["cafe"].name not in page and vnd_vi(CAFE_MEMBER) not in page
    # The same words for a code that exists nowhere: the page does not tell which codes exist.
    other = get(manager, {"store": "NOPE-1"})
    assert other.status_code == 400 and "Bạn chỉ xem được báo cáo của cửa hàng mình" in text(other)
    brand = get(manager, {"brand": "CAFE"})
    assert brand.status_code == 400 and "dashboard-data" not in text(brand)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"from": "hôm qua"}, "Nhập một ngày hợp lệ"),
        ({"from": "2026-02-30"}, "Nhập một ngày hợp lệ"),
        ({"from": "0001-01-01"}, "Chọn một ngày từ 01/01/2000"),
        ({"to": "9999-12-31"}, "Chọn một ngày đến hôm nay"),
        ({"days": "5"}, "Hãy chọn một lựa chọn hợp lệ"),
        ({"days": "7", "from": "2026-01-01"}, "Chọn một khoảng có sẵn hoặc chọn ngày"),
        ({"from": "2025-01-01", "to": "2024-12-01"}, "Ngày bắt đầu không được sau ngày kết thúc"),
        ({"from": "2020-01-01", "to": "2024-12-31"}, "tối đa 366 ngày"),
        ({"brand": "KHONG"}, "Không có thương hiệu nào có mã “KHONG”"),
        ({"store": "KHONG"}, "Không có cửa hàng nào có mã “KHONG”"),
        ({"brand": "PHO", "store": "CAFE-HN01"}, "không thuộc thương hiệu PHO"),
        ({"store": "x" * 500}, "tối đa 50 kí tự"),
    ],
)
def test_bad_filters_get_a_clear_form_error_and_no_figures(marketing, params, words):
    response = get(marketing, params)
    assert response.status_code == 400
    page = text(response)
    assert words in page, page[page.find("errornote") - 200 : page.find("errornote") + 600]
    assert "dashboard-data" not in page and "data-figure" not in page


@pytest.mark.parametrize("junk", ["\x00", "%", "'; DROP TABLE pos_sale; --", "<script>alert(1)</script>", "🙂" * 60])
def test_junk_in_any_parameter_is_never_a_500(marketing, junk):
    for name in ("from", "to", "days", "brand", "store"):
        response = get(marketing, {name: junk})
        assert response.status_code in (200, 400), (name, junk)
        assert "<script>alert(1)</script>" not in text(response)
