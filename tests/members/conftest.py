import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_programme_settings_cache():
    """The programme settings are cached; a test's rolled-back settings must not leak into the
    next test through the cache."""
    cache.clear()
    yield
    cache.clear()
