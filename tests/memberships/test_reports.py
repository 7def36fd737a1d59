"""Paid membership in the reports: revenue (fees − refunds) and paid members of a period, the
same in period_figures, summary.json, the export and the dashboard (issue 17 item 4)."""

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from memberships.services import membership_cancel, membership_sell
from reports.figures import Scope, period_figures
from stores.models import Store
from tests.factories import MemberFactory
from tests.memberships.conftest import at
from tests.reports.dashboard_helpers import marketing_user, vnd_vi

pytestmark = pytest.mark.django_db
FROM, TO = datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)


@pytest.fixture
def periods(club):
    pho = Store.objects.get(code="PHO-HN01")
    cafe = Store.objects.get(code="CAFE-HN01")
    a, b, c, d, e = (MemberFactory(home_store=pho) for _ in range(5))
    membership_sell(member=a, plan=club, store=pho, now=at(2026, 3, 5))  # sold in March: +199,000
    sold_b = membership_sell(member=b, plan=club, store=cafe, now=at(2026, 3, 10))  # +199,000
    membership_cancel(member=b, membership_id=sold_b.pk, now=at(2026, 3, 12))  # -199,000, in force 2 days
    sold_c = membership_sell(member=c, plan=club, store=pho, now=at(2026, 2, 25))  # February: not a March fee
    membership_cancel(member=c, membership_id=sold_c.pk, now=at(2026, 3, 2))  # -199,000 in March
    membership_sell(member=d, plan=club, now=at(2025, 6, 1))  # by staff, running through March
    membership_sell(member=e, plan=club, store=pho, now=at(2025, 2, 1))  # ended 1 Feb 2026
    membership_sell(member=a, plan=club, store=pho, now=at(2026, 4, 2))  # April: not in March


def test_the_period_figures(periods):
    figures = period_figures(start=FROM, end=TO, scope=Scope())
    assert figures["membership_fees"] == Decimal("398000.00")
    assert figures["membership_refunds"] == Decimal("398000.00")
    assert figures["membership_revenue"] == Decimal("0.00")
    assert figures["memberships_sold"] == 2
    assert figures["paid_members"] == 4  # a, b (2 days), c (until 2 March), d


def test_a_store_filter_follows_where_the_period_was_sold(periods):
    pho = Store.objects.get(code="PHO-HN01")
    figures = period_figures(start=FROM, end=TO, scope=Scope(store_id=pho.pk))
    assert figures["membership_fees"] == Decimal("199000.00")  # a's; b's was sold at CAFE-HN01
    assert figures["membership_refunds"] == Decimal("199000.00")  # c's
    assert figures["membership_revenue"] == Decimal("0.00")
    assert figures["paid_members"] == 4  # members at home at PHO-HN01


def test_summary_json_the_export_and_the_dashboard_show_them(client, periods):
    client.force_login(marketing_user())
    query = {"from": FROM.isoformat(), "to": TO.isoformat()}
    body = client.get("/admin/reports/summary.json", query).json()
    assert (body["membership_revenue"], body["membership_fees"], body["paid_members"]) == ("0.00", "398000.00", 4)
    book = load_workbook(io.BytesIO(client.get("/admin/reports/export.xlsx", query).content))
    sheet = {row[0]: row[1] for row in book["Hội viên trả phí"].iter_rows(min_row=2, values_only=True)}
    assert sheet["Doanh thu hội viên trả phí (VND)"] == 0 and sheet["Số hội viên trả phí"] == 4
    page = client.get("/admin/", {"from": FROM.isoformat(), "to": TO.isoformat()}).content.decode()
    assert 'data-figure="membership_revenue"' in page and 'data-figure="paid_members"' in page
    assert vnd_vi(0) in page
