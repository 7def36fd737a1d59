"""summary.json and export.xlsx on the hand-made history: the same figures as period_figures,
the permission, the store manager's scope, and every refusal leaves nothing written."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from openpyxl import load_workbook

from backoffice.models import StaffProfile
from backoffice.roles import MARKETING, PROGRAMME_LEAD, STORE_MANAGER
from loyalty_site.core.models import ExportRecord
from reports.services import rollups_rebuild
from stores.models import Brand
from tests.reports.conftest import EXPECTED_ALL, EXPECTED_CAFE_BRAND, EXPECTED_PHO_HN01

pytestmark = pytest.mark.django_db
SUMMARY, EXPORT = "/admin/reports/summary.json", "/admin/reports/export.xlsx"


def staff(role: str | None, name: str):
    user = get_user_model().objects.create_user(name, password="pw-for-tests-only", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def recorded(history):
    history.before_rollups()
    rollups_rebuild(start=history.day(13), end=history.day(1))
    history.after_rollups()
    return history


def params(history, **extra) -> dict:
    start, end = history.period
    return {"from": start.isoformat(), "to": end.isoformat(), **extra}


def as_json(expected: dict) -> dict:
    return {key: str(value) if isinstance(value, Decimal) else value for key, value in expected.items()}


@pytest.mark.parametrize("role", [MARKETING, PROGRAMME_LEAD])
def test_summary_json_gives_the_hand_computed_figures(client, recorded, role):
    client.force_login(staff(role, "u1"))
    body = client.get(SUMMARY, params(recorded)).json()
    assert {key: body[key] for key in EXPECTED_ALL} == as_json(EXPECTED_ALL)
    body = client.get(SUMMARY, params(recorded, store="PHO-HN01")).json()
    assert {key: body[key] for key in EXPECTED_PHO_HN01} == as_json(EXPECTED_PHO_HN01)
    body = client.get(SUMMARY, params(recorded, brand="CAFE")).json()
    assert {key: body[key] for key in EXPECTED_CAFE_BRAND} == as_json(EXPECTED_CAFE_BRAND)
    assert (body["from"], body["brand"], body["store"]) == (recorded.period[0].isoformat(), "CAFE", None)


def test_signed_out_goes_to_the_sign_in_page(client, recorded):
    response = client.get(SUMMARY, params(recorded))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("path", [SUMMARY, EXPORT])
def test_staff_without_the_report_permission_get_403_and_nothing_is_recorded(client, recorded, path):
    client.force_login(staff(None, "nobody"))
    response = client.get(path, params(recorded))
    assert response.status_code == 403
    assert "không có quyền" in response.json()["error"]
    assert not ExportRecord.objects.exists()


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"from": "2025-13-01"}, "YYYY-MM-DD"),
        ({"to": "yesterday"}, "YYYY-MM-DD"),
        ({"from": "2025-03-10", "to": "2025-03-01"}, "nằm trước"),
        ({"from": "2020-01-01", "to": "2025-01-01"}, "tối đa"),
        ({"brand": "NO-SUCH"}, "NO-SUCH"),
        ({"store": "NO-SUCH"}, "NO-SUCH"),
        ({"from": "\x00"}, "YYYY-MM-DD"),
    ],
)
@pytest.mark.parametrize("path", [SUMMARY, EXPORT])
def test_bad_input_is_a_400_with_a_clear_error_and_nothing_is_recorded(client, demo_programme, query, fragment, path):
    client.force_login(staff(MARKETING, "m"))
    response = client.get(path, query)
    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert not ExportRecord.objects.exists()


@pytest.fixture
def pho_manager(recorded):
    manager = staff(STORE_MANAGER, "manager")
    StaffProfile.objects.create(user=manager).brands.set([Brand.objects.get(code="PHO")])
    return manager


def test_a_store_manager_sees_their_own_stores_only(client, pho_manager, recorded):
    client.force_login(pho_manager)
    # No store: every store of brand PHO, i.e. PHO-HN01's figures (PHO-HCM01 sold nothing).
    body = client.get(SUMMARY, params(recorded)).json()
    assert {key: body[key] for key in EXPECTED_PHO_HN01} == as_json(EXPECTED_PHO_HN01)
    for other in ({"store": "CAFE-HN01"}, {"brand": "CAFE"}):
        response = client.get(SUMMARY, params(recorded, **other))
        assert response.status_code == 403, other
        assert client.get(EXPORT, params(recorded, **other)).status_code == 403
    assert not ExportRecord.objects.exists()


def test_the_export_has_one_sheet_per_section_with_the_same_figures_and_is_recorded(client, recorded):
    user = staff(MARKETING, "m")
    client.force_login(user)
    response = client.get(EXPORT, params(recorded, store="PHO-HN01"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "Doanh số",
        "Thành viên",
        "Điểm",
        "Voucher",
        "Hội viên trả phí",
        "Hạng thành viên",
        "Theo ngày",
    ]
    sales = {row[0]: row[1] for row in book["Doanh số"].iter_rows(min_row=2, values_only=True)}
    assert sales["Doanh số thuần (VND)"] == 5_450_000
    assert sales["Tỷ trọng của thành viên"] == pytest.approx(0.9725)
    assert sales["Số đơn"] == 3
    points = {row[0]: row[1] for row in book["Điểm"].iter_rows(min_row=2, values_only=True)}
    assert (points["Điểm đã phát"], points["Điểm tồn"], points["Hết hạn trong 30 ngày"]) == (265, 403, 40)
    tiers = {row[0]: row[1] for row in book["Hạng thành viên"].iter_rows(min_row=2, values_only=True)}
    assert (tiers["MEMBER"], tiers["VIP"], tiers["Lên hạng"]) == (2, 1, 1)
    daily = list(book["Theo ngày"].iter_rows(min_row=2, values_only=True))
    assert len(daily) == 6 and sum(row[1] for row in daily) == 5_300_000
    record = ExportRecord.objects.get()
    assert (record.user, record.model, record.file_format) == (user, "reports.dailysales", "xlsx")
    assert "store=PHO-HN01" in record.filters
