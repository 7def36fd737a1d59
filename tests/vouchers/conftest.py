from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.factories import BrandFactory, MemberFactory, StoreFactory


@pytest.fixture(autouse=True)
def _fresh_programme_settings_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def pho_brand(db):
    return BrandFactory(code="PHO", name="Phở Hà Thành")


@pytest.fixture
def cafe_brand(db):
    return BrandFactory(code="CAFE", name="Cà Phê Sớm")


@pytest.fixture
def pho_store(pho_brand):
    return StoreFactory(code="PHO-HN01", name="Phở Hà Thành Hoàn Kiếm", brand=pho_brand)


@pytest.fixture
def pho_store_2(pho_brand):
    return StoreFactory(code="PHO-HCM01", name="Phở Hà Thành Quận 1", brand=pho_brand, city="TP. Hồ Chí Minh")


@pytest.fixture
def cafe_store(cafe_brand):
    return StoreFactory(code="CAFE-HN01", name="Cà Phê Sớm Ba Đình", brand=cafe_brand)


@pytest.fixture
def member(db):
    return MemberFactory(points=500)


@pytest.fixture
def other_member(db):
    return MemberFactory(points=500)
