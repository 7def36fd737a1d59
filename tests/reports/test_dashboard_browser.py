"""The dashboard in Debian's Chromium (issue 15 "Done when"): the Marketing user signs in, sees
the four charts drawn by Chart.js (served from our static files, under the site's CSP), changes
the range and the store, and reads tables that match the figures. Screenshots are kept under
test-artifacts/screenshots/."""

from __future__ import annotations

import datetime

import pytest

from reports.figures import Scope, daily_series, local_today
from stores.models import Store
from tests.browser import screenshot
from tests.reports.dashboard_helpers import (
    CAFE_MEMBER,
    PASSWORD,
    PHO_MEMBER,
    PHO_OTHER,
    make_history,
    marketing_user,
    vnd_vi,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("sales", "enrolments", "points", "tiers")


def charts_drawn(page) -> dict[str, dict]:
    """Per chart: the canvas's size and what its Chart.js instance holds."""
    page.wait_for_function(
        "() => window.Chart && [...document.querySelectorAll('canvas[data-chart]')]"
        ".every(c => Chart.getChart(c) && c.width > 0 && c.height > 0)"
    )
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('canvas[data-chart]')].map(c => {
            const chart = Chart.getChart(c), box = c.getBoundingClientRect();
            return [c.dataset.chart, {width: box.width, height: box.height, labels: chart.data.labels,
                    sums: chart.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0))}];
        }))"""
    )


def table_rows(page, key: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f'table[data-chart-table="{key}"] tbody tr',
        "rows => rows.map(r => [...r.children].map(cell => cell.textContent.trim()))",
    )


def figure(page, name: str) -> str:
    return page.locator(f'tr[data-figure="{name}"] td.current').inner_text().strip()


def test_marketing_changes_the_range_and_the_store_and_sees_the_charts(desk_page, demo_programme):
    make_history()
    user = marketing_user()
    page = desk_page
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # Every file the page loads is there (Chromium's own favicon request aside), and nothing
    # is blocked by the Content-Security-Policy (a blocked script is a console error).
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None,
    )
    page.on(
        "console", lambda m: problems.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None
    )

    page.goto("/admin/login/?next=/admin/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url("**/admin/")

    # The last 30 days, every brand.
    drawn = charts_drawn(page)
    assert set(drawn) == set(CHARTS)
    assert all(chart["width"] > 100 and chart["height"] > 100 for chart in drawn.values()), drawn
    assert len(drawn["sales"]["labels"]) == 30
    assert drawn["sales"]["sums"] == [PHO_MEMBER + CAFE_MEMBER, PHO_OTHER]
    assert figure(page, "net_sales") == vnd_vi(PHO_MEMBER + PHO_OTHER + CAFE_MEMBER)
    today = local_today()
    series = daily_series(start=today - datetime.timedelta(days=29), end=today, scope=Scope())
    assert table_rows(page, "sales") == [
        [f"{d['day']:%d/%m/%Y}", vnd_vi(d["net_sales_members"]), vnd_vi(d["net_sales_others"])] for d in series
    ]
    screenshot(page, "dashboard-30-days")

    # A preset: the last 7 days.
    page.click(".presets a:has-text('7 ngày')")
    page.wait_for_url("**/admin/?days=7")
    drawn = charts_drawn(page)
    assert len(drawn["sales"]["labels"]) == 7
    assert len(table_rows(page, "sales")) == 7
    screenshot(page, "dashboard-7-days")

    # One store, keeping the 7 days (the form now shows them as dates).
    page.select_option("select[name=store]", "PHO-HN01")
    page.click(".dashboard-filters button[type=submit]")
    page.wait_for_url("**store=PHO-HN01**")
    drawn = charts_drawn(page)
    assert len(drawn["sales"]["labels"]) == 7
    assert drawn["sales"]["sums"] == [PHO_MEMBER, PHO_OTHER]
    assert figure(page, "net_sales") == vnd_vi(PHO_MEMBER + PHO_OTHER)
    store = Store.objects.get(code="PHO-HN01")
    series = daily_series(start=today - datetime.timedelta(days=6), end=today, scope=Scope(store_id=store.pk))
    assert table_rows(page, "sales") == [
        [f"{d['day']:%d/%m/%Y}", vnd_vi(d["net_sales_members"]), vnd_vi(d["net_sales_others"])] for d in series
    ]
    assert table_rows(page, "enrolments") == [[f"{d['day']:%d/%m/%Y}", str(d["enrolments"])] for d in series]
    screenshot(page, "dashboard-one-store")
    assert problems == []
