"""The sales resource (export only; the sales list's admin hooks it): one row per sale, money
as numbers, text formula-safe, and no way to write a sale through it."""

from __future__ import annotations

import pytest
from django.utils import translation
from import_export.formats.base_formats import CSV, XLSX

from pos.models import Sale
from pos.resources import SaleResource
from tests.export_helpers import headers
from tests.factories import MemberFactory
from tests.pos.conftest import post
from tests.pos.test_sales_api import coffee, sale_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale(cafe) -> Sale:
    member = MemberFactory(name="+Lê Văn Minh")
    response = post(cafe, "/api/pos/v1/sales", sale_body("HD-0001", coffee(2), member=member), key="k-export-1")
    assert response.status_code == 201
    return Sale.objects.get()


def test_a_sale_exports_with_its_store_member_and_amounts(sale):
    with translation.override("vi"):
        dataset = SaleResource().export(force_native_type=True)
    head = headers(SaleResource)
    [row] = dataset.dict

    assert row[head["receipt_number"]] == "HD-0001"
    assert row[head["store_code"]] == sale.store.code
    assert row[head["member_name"]] == "'+Lê Văn Minh"
    assert row[head["subtotal"]] == sale.subtotal == 70000  # a number, for xlsx
    assert row[head["points_earned"]] == sale.points_earned > 0
    assert row[head["status"]] == "Hoàn tất"
    assert XLSX().export_data(dataset)
    assert CSV().export_data(dataset).count("\n") == 2


def test_a_file_imported_through_the_sales_resource_writes_nothing(sale):
    with translation.override("vi"):
        dataset = SaleResource().export()  # the sale's own row, fed back in
        result = SaleResource().import_data(dataset, dry_run=False)

    assert result.has_errors()
    assert list(Sale.objects.values_list("pk", flat=True)) == [sale.pk]
