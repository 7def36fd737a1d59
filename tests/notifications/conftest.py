import pytest
from django.core.cache import cache

from tests.notifications.helpers import Gateway


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The members' programme settings are cached; a rolled-back test must not leak them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def gateway():
    server = Gateway()
    yield server
    server.stop()
