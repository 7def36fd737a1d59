"""copy_saved: the caller's instance brought up to date with the row a service saved."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty_site.core.models import copy_saved
from stores.models import Store
from tests.factories import BrandFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_named_fields_are_copied_and_the_others_left_alone():
    caller = StoreFactory(city="Hà Nội", address="1 Tràng Tiền")
    saved = Store.objects.get(pk=caller.pk)
    saved.city, saved.address = "Huế", "2 Lê Lợi"
    copy_saved(caller, saved, ["city"])
    assert (caller.city, caller.address) == ("Huế", "1 Tràng Tiền")


def test_without_names_every_loaded_field_is_copied_and_the_caller_counts_as_saved():
    saved = StoreFactory(city="Đà Nẵng")
    caller = Store(code="NEW", name="typed in the admin", brand=saved.brand)
    assert caller._state.adding
    copy_saved(caller, saved)
    assert (caller.pk, caller.code, caller.name, caller.city) == (saved.pk, saved.code, saved.name, "Đà Nẵng")
    assert (caller.created_at, caller.updated_at) == (saved.created_at, saved.updated_at)
    assert caller._state.adding is False and caller._state.db == "default"


def test_a_relation_whose_id_changed_drops_the_stale_related_object():
    caller = StoreFactory()
    assert caller.brand.code  # cached on the caller
    other = BrandFactory()
    saved = Store.objects.get(pk=caller.pk)
    saved.brand_id = other.pk  # changed by id: nothing cached on `saved`
    copy_saved(caller, saved, ["brand"])
    assert caller.brand_id == other.pk
    with CaptureQueriesContext(connection) as queries:
        assert caller.brand == other
    assert len(queries) == 1  # read afresh, not the old brand


def test_a_related_object_the_service_loaded_is_shared_without_a_query():
    caller = StoreFactory()
    saved = Store.objects.select_related("brand").get(pk=caller.pk)
    Store.objects.filter(pk=caller.pk).update(name="changed behind both")
    with CaptureQueriesContext(connection) as queries:
        copy_saved(caller, saved, ["brand_id"])  # an attname works as well as a name
        assert caller.brand is saved.brand
    assert len(queries) == 0


def test_a_field_the_service_did_not_load_is_not_fetched_nor_copied():
    caller = StoreFactory(city="Hà Nội")
    saved = Store.objects.only("pk", "name").get(pk=caller.pk)
    Store.objects.filter(pk=caller.pk).update(city="Cần Thơ")
    with CaptureQueriesContext(connection) as queries:
        copy_saved(caller, saved)
    assert len(queries) == 0
    assert caller.city == "Hà Nội"
