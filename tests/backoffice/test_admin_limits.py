"""The limits on tills in the console: the programme's limits edited through the service (who
changed them is kept), a store's override, and the review list of refused sales, read-only."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from pos.checkout.limits import sale_limits_for, sale_limits_update
from pos.models import LimitRefusal, SaleLimits, StoreSaleLimits
from stores.models import Store
from tests.factories import MemberFactory
from tests.pos.conftest import post, till

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client):
    user = get_user_model().objects.create_superuser("boss", password="pw-for-tests-only")
    client.force_login(user)
    client.user = user
    return client


def test_the_programme_limits_are_one_row_edited_through_the_service(demo_programme, boss):
    listing = boss.get("/admin/pos/salelimits/")
    assert listing.status_code == 302 and listing["Location"].endswith("/admin/pos/salelimits/1/change/")
    response = boss.post(
        "/admin/pos/salelimits/1/change/",
        {"max_sale_amount": "5000000", "max_points_per_sale": "", "max_terminal_points_per_day": "1000"},
    )
    assert response.status_code == 302, response.content
    limits = SaleLimits.objects.get()
    assert (limits.max_sale_amount, limits.max_points_per_sale, limits.updated_by) == (
        Decimal(5_000_000),
        None,
        boss.user,
    )
    store = Store.objects.get(code="PHO-HN01")
    assert sale_limits_for(store=store).max_sale_amount == Decimal(5_000_000)  # the cache was dropped
    assert boss.get("/admin/pos/salelimits/1/delete/").status_code == 403


def test_a_store_override_is_added_in_the_admin(demo_programme, boss):
    store = Store.objects.get(code="CAFE-HN01")
    response = boss.post(
        "/admin/pos/storesalelimits/add/",
        {"store": store.pk, "max_sale_amount": "", "max_points_per_sale": "50", "max_terminal_points_per_day": ""},
    )
    assert response.status_code == 302, response.content
    assert StoreSaleLimits.objects.get(store=store).updated_by == boss.user
    assert sale_limits_for(store=store).max_points_per_sale == 50
    assert sale_limits_for(store=Store.objects.get(code="PHO-HN01")).max_points_per_sale == 20_000


def test_refused_sales_are_listed_read_only(demo_programme, boss):
    sale_limits_update(data={"max_sale_amount": Decimal(1000)})
    member = MemberFactory()
    body = {"receipt_number": "REF-1", "member": member.pk, "lines": [{"sku": "A", "quantity": 1, "unit_price": 5000}]}
    assert post(till("PHO-HN01"), "/api/pos/v1/sales", body, key="ref-1").status_code == 422
    refusal = LimitRefusal.objects.get()
    page = boss.get("/admin/pos/limitrefusal/").content.decode()
    assert "REF-1" in page and member.code in page
    assert boss.get(f"/admin/pos/limitrefusal/{refusal.pk}/change/").status_code == 200
    assert boss.get("/admin/pos/limitrefusal/add/").status_code == 403
    assert boss.post(f"/admin/pos/limitrefusal/{refusal.pk}/delete/", {"post": "yes"}).status_code == 403
    assert boss.get("/admin/pos/terminalday/").status_code == 200
