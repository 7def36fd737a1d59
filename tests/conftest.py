import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from stores.services import terminal_create
from tests.factories import StoreFactory

pytest_plugins = ["tests.clock", "tests.browser"]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Cached settings (programme, tiers) and throttle counters never leak between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def store(db):
    return StoreFactory()


@pytest.fixture
def terminal_and_key(store):
    return terminal_create(store=store, name="Quầy 1")


@pytest.fixture
def terminal(terminal_and_key):
    return terminal_and_key[0]


@pytest.fixture
def pos_client(terminal_and_key) -> APIClient:
    """An API client authenticated as a POS terminal, speaking Vietnamese (the default)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {terminal_and_key[1]}")
    return client


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


def run_in_threads(count: int, target: Callable[[int], object]) -> list[object]:
    """Run `target(i)` in `count` real threads started together; returns each result or the
    exception it raised. Every thread closes its own database connection."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = target(index)
        except Exception as exc:  # noqa: BLE001 -- the test inspects it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"
