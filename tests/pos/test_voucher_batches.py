"""Voucher batches (issue 16): N unique printed codes generated at once, exported for printing
(recorded), each usable once at the till, unassigned until used, then tied to the member of the
sale; a full refund gives the code back."""

import csv
import io

import pytest

from loyalty_site.core.errors import ValidationFailed
from tests.factories import MemberFactory
from tests.pos.conftest import post, problem
from tests.pos.test_refunds_api import refund
from tests.pos.test_sales_api import SALES, pho_lines, sale_body, state
from vouchers.models import BatchCode, Reward, VoucherBatch, VoucherBatchExport
from vouchers.services import voucher_batch_create, voucher_batch_export_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(demo_programme):
    return voucher_batch_create(reward=Reward.objects.get(code="CASH50K"), count=50, name="Tờ rơi tháng 3")


def test_a_batch_has_n_unique_unassigned_codes_and_exports_them(batch, admin_user):
    codes = list(BatchCode.objects.filter(batch=batch).values_list("code", "member_id", "used_at"))
    assert len(codes) == 50 == len({c for c, _m, _u in codes})
    assert all(len(c) == 10 and m is None and u is None for c, m, u in codes)
    exported = list(csv.reader(io.StringIO(voucher_batch_export_csv(batch=batch, by=admin_user))))
    assert len(exported) == 51 and {row[0] for row in exported[1:]} == {c for c, _m, _u in codes}
    assert VoucherBatchExport.objects.get().exported_by == admin_user


@pytest.mark.parametrize("count", [0, -1, 1_000_001, "10"])
def test_a_wrong_count_writes_nothing(demo_programme, count):
    with pytest.raises(ValidationFailed):
        voucher_batch_create(reward=Reward.objects.get(code="CASH50K"), count=count)
    assert not VoucherBatch.objects.exists() and not BatchCode.objects.exists()


def test_a_code_is_used_once_and_tied_to_the_member(pho, batch):
    printed = BatchCode.objects.filter(batch=batch).first()
    member = MemberFactory(points=0)
    response = post(
        pho, SALES, sale_body("B-1", pho_lines(150_000), member, vouchers=[printed.code.lower()]), key="B-1"
    )
    assert response.status_code == 201, response.content
    assert response.json()["total"] == "100000.00"
    printed.refresh_from_db()
    assert printed.member_id == member.pk and printed.used_at is not None

    other = MemberFactory(points=0)
    before = state()
    again = post(pho, SALES, sale_body("B-2", pho_lines(150_000), other, vouchers=[printed.code]), key="B-2")
    assert problem(again, "voucher-used")["reason"] == "used"
    assert state() == before

    refunded = refund(pho, response.json()["id"], {"reason": "Trả hàng"}, "b-refund")
    assert refunded.status_code == 201, refunded.content
    printed.refresh_from_db()
    assert printed.member_id is None and printed.used_at is None  # usable again


def test_a_printed_code_needs_a_member(pho, batch):
    printed = BatchCode.objects.filter(batch=batch).first()
    before = state()
    response = post(pho, SALES, sale_body("B-3", pho_lines(150_000), None, vouchers=[printed.code]), key="B-3")
    assert problem(response, "voucher-not-applicable")["reason"] == "member-required"
    assert state() == before
    assert BatchCode.objects.get(pk=printed.pk).used_at is None
