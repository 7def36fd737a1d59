"""Voucher batches in the admin (issue 16): made through the add form (the service), a bad count
refused with nothing written, the codes downloaded as Excel and CSV (each download recorded, the
codes those of the database), the printed codes read-only and searchable by exact code, and the
roles: Marketing and the Programme lead create and download, a store manager does neither."""

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from backoffice.roles import MARKETING, PROGRAMME_LEAD, STORE_MANAGER
from tests.factories import MemberFactory, StoreFactory
from tests.vouchers.factories import RewardFactory
from tests.vouchers.test_admin import staff
from vouchers.models import BatchCode, VoucherBatch, VoucherBatchExport
from vouchers.services import batch_code_use, voucher_batch_create

pytestmark = pytest.mark.django_db

ADD = "admin:vouchers_voucherbatch_add"
LIST = "admin:vouchers_voucherbatch_changelist"
CODES = "admin:vouchers_batchcode_changelist"


def download(pk, fmt):
    return reverse("admin:vouchers_voucherbatch_download", args=[pk, fmt])


def written():
    return (VoucherBatch.objects.count(), BatchCode.objects.count(), VoucherBatchExport.objects.count())


@pytest.fixture
def reward(db):
    return RewardFactory(code="CASH50K", points_cost=0)


@pytest.fixture
def batch(reward):
    return voucher_batch_create(reward=reward, count=30, name="Tờ rơi tháng 3")


def login(client, role):
    client.force_login(staff(role.lower().replace(" ", "-"), role))
    return client


@pytest.mark.parametrize("role", [MARKETING, PROGRAMME_LEAD])
def test_marketing_and_the_lead_create_a_batch_through_the_form(client, reward, role):
    login(client, role)
    response = client.post(reverse(ADD), {"reward": reward.pk, "count": "25", "name": "Khai trương"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    batch = VoucherBatch.objects.get()
    assert (batch.reward, batch.count, batch.name, batch.created_by.username) == (
        reward,
        25,
        "Khai trương",
        role.lower().replace(" ", "-"),
    )
    assert BatchCode.objects.filter(batch=batch).count() == 25


@pytest.mark.parametrize("count", ["0", "-5", "200001", "abc", ""])
def test_a_bad_count_is_refused_in_vietnamese_and_nothing_is_written(client, reward, count):
    login(client, MARKETING)
    before = written()
    response = client.post(reverse(ADD), {"reward": reward.pk, "count": count, "name": "x"}, HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "count" in errors
    if count:
        assert errors["count"] == ["Nhập số mã từ 1 đến 200.000."]
    assert written() == before


def test_the_list_shows_the_used_count_and_costs_the_same_queries_for_more_batches(client, reward, batch):
    store_member = MemberFactory(points=0)
    codes = list(BatchCode.objects.filter(batch=batch).order_by("pk")[:3])
    for i, code in enumerate(codes):
        batch_code_use(code=code, member=store_member, store=_store(), sale_reference=f"s:{i}", at=timezone.now())
    login(client, MARKETING)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse(LIST))
            assert response.status_code == 200
        return len(captured), response

    few, response = queries()
    rows = {b.pk: b for b in response.context["cl"].result_list}
    assert rows[batch.pk].used_total == 3
    for n in range(4):
        voucher_batch_create(reward=reward, count=2, name=f"b{n}")
    assert queries()[0] == few


def _store():
    return StoreFactory()


def test_the_xlsx_download_opens_and_holds_the_batch_codes(client, batch):
    login(client, MARKETING)
    response = client.get(download(batch.pk, "xlsx"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert len(rows) == 31
    assert {r[0] for r in rows[1:]} == set(BatchCode.objects.filter(batch=batch).values_list("code", flat=True))
    record = VoucherBatchExport.objects.get()
    assert (record.batch, record.file_format, record.rows, record.exported_by.username) == (
        batch,
        "xlsx",
        30,
        "marketing",
    )


def test_the_csv_download_holds_the_batch_codes(client, batch):
    login(client, PROGRAMME_LEAD)
    response = client.get(download(batch.pk, "csv"))
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 31
    assert {r[0] for r in rows[1:]} == set(BatchCode.objects.filter(batch=batch).values_list("code", flat=True))
    assert VoucherBatchExport.objects.get().file_format == "csv"


def test_an_unknown_format_or_batch_is_not_found_and_not_recorded(client, batch):
    login(client, MARKETING)
    assert client.get(download(batch.pk, "pdf")).status_code == 404
    assert client.get(download(batch.pk + 99, "csv")).status_code == 404
    assert not VoucherBatchExport.objects.exists()


def test_a_store_manager_can_neither_create_nor_download(client, reward, batch):
    login(client, STORE_MANAGER)
    before = written()
    assert client.get(reverse(ADD)).status_code == 403
    assert client.post(reverse(ADD), {"reward": reward.pk, "count": "5", "name": "x"}).status_code == 403
    for fmt in ("xlsx", "csv"):
        assert client.get(download(batch.pk, fmt)).status_code == 403
    assert written() == before


def test_a_role_without_the_export_permission_sees_no_download_links(client, batch):
    user = staff("viewer", MARKETING)
    marketing = Group.objects.get(name=MARKETING)
    user.groups.remove(marketing)
    user.user_permissions.add(*marketing.permissions.filter(codename="view_voucherbatch"))
    client.force_login(user)
    response = client.get(reverse(LIST))
    assert response.status_code == 200
    assert download(batch.pk, "xlsx") not in response.content.decode()
    assert client.get(download(batch.pk, "xlsx")).status_code == 403


def test_a_batch_cannot_be_edited_or_deleted(client, batch):
    login(client, MARKETING)
    before = written()
    change = reverse("admin:vouchers_voucherbatch_change", args=[batch.pk])
    page = client.get(change)
    assert page.status_code == 200 and download(batch.pk, "xlsx") in page.content.decode()
    client.post(change, {"reward": batch.reward_id, "count": "99", "name": "sửa"})
    batch.refresh_from_db()
    assert (batch.count, batch.name) == (30, "Tờ rơi tháng 3")
    assert (
        client.post(reverse("admin:vouchers_voucherbatch_delete", args=[batch.pk]), {"post": "yes"}).status_code == 403
    )
    assert written() == before


def test_printed_codes_are_found_by_exact_code_filtered_by_use_and_show_the_member(client, batch):
    codes = list(BatchCode.objects.filter(batch=batch).order_by("pk"))
    member = MemberFactory(name="Nguyễn Thị Lan", points=0)
    batch_code_use(code=codes[0], member=member, store=_store(), sale_reference="s:1", at=timezone.now())
    login(client, MARKETING)

    found = client.get(reverse(CODES), {"q": f" {codes[0].code.lower()} "})
    assert [c.pk for c in found.context["cl"].result_list] == [codes[0].pk]
    assert "Nguyễn Thị Lan" in found.content.decode()
    assert list(client.get(reverse(CODES), {"q": codes[0].code[:6]}).context["cl"].result_list) == []

    used = client.get(reverse(CODES), {"used": "yes"}).context["cl"].result_list
    unused = client.get(reverse(CODES), {"used": "no"}).context["cl"].result_list
    assert [c.pk for c in used] == [codes[0].pk]
    assert len(unused) == 29

    change = reverse("admin:vouchers_batchcode_change", args=[codes[1].pk])
    client.post(change, {"code": "HACKED0000"})
    assert BatchCode.objects.get(pk=codes[1].pk).code == codes[1].code
    assert client.get(reverse("admin:vouchers_batchcode_add")).status_code == 403
