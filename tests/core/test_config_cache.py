"""The read-through cache of configuration: stored only after commit, dropped on change, and never
filled with what a reader loaded before a change committed."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

from loyalty_site.core.config_cache import config_cache_invalidate, config_cached

pytestmark = pytest.mark.django_db

KEY = "tests:config-cache:v1"


class Source:
    """Stands for the database: what `load` returns and how often it was read."""

    def __init__(self, value):
        self.value = value
        self.loads = 0

    def load(self):
        self.loads += 1
        return self.value


def read(source: Source, **kwargs):
    return config_cached(KEY, source.load, timeout=60, **kwargs)


def test_a_value_read_in_a_transaction_is_cached_when_it_commits_and_then_served_from_the_cache(
    django_capture_on_commit_callbacks,
):
    source = Source(["MEMBER", "VIP"])
    with django_capture_on_commit_callbacks(execute=True):
        assert read(source) == ["MEMBER", "VIP"]
        assert cache.get(KEY) is None  # not before the commit
    assert cache.get(KEY) == ["MEMBER", "VIP"]
    assert read(source) == ["MEMBER", "VIP"]
    assert source.loads == 1


def test_a_value_read_in_a_transaction_that_rolls_back_is_never_cached(django_capture_on_commit_callbacks):
    source = Source(["MEMBER"])
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        read(source)
        raise RuntimeError("rolled back")
    assert not callbacks
    assert cache.get(KEY) is None


def test_fresh_reads_the_source_even_when_cached(django_capture_on_commit_callbacks):
    source = Source(["MEMBER"])
    with django_capture_on_commit_callbacks(execute=True):
        read(source)
    source.value = ["MEMBER", "GOLD"]
    assert read(source) == ["MEMBER"]
    assert read(source, fresh=True) == ["MEMBER", "GOLD"]
    assert source.loads == 2


def test_invalidating_drops_the_copy_at_once_and_again_after_commit(django_capture_on_commit_callbacks):
    source = Source(["MEMBER"])
    with django_capture_on_commit_callbacks(execute=True):
        read(source)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        config_cache_invalidate(KEY)
        assert cache.get(KEY) is None  # the transaction's own reads see its change
        cache.set(KEY, ["MEMBER"])  # another worker caches the committed (old) value meanwhile
    for callback in callbacks:
        callback()
    assert cache.get(KEY) is None


def test_a_reader_that_loaded_before_a_change_committed_does_not_cache_the_old_value(
    django_capture_on_commit_callbacks,
):
    source = Source(["MEMBER"])
    # A sale reads the old ladder; its transaction is still open...
    with django_capture_on_commit_callbacks(execute=False) as sale_commits:
        assert read(source) == ["MEMBER"]
    # ...when an edit commits and invalidates...
    source.value = ["MEMBER", "GOLD"]
    with django_capture_on_commit_callbacks(execute=False) as edit_commits:
        config_cache_invalidate(KEY)
    for callback in edit_commits:
        callback()
    # ...and only then does the sale commit: what it read is stale and stays out of the cache.
    for callback in sale_commits:
        callback()
    assert cache.get(KEY) is None
    with django_capture_on_commit_callbacks(execute=True):
        assert read(source) == ["MEMBER", "GOLD"]
    assert cache.get(KEY) == ["MEMBER", "GOLD"]


def test_what_a_caller_changes_before_the_commit_never_reaches_the_cache(django_capture_on_commit_callbacks):
    source = Source(["MEMBER", "VIP"])
    with django_capture_on_commit_callbacks(execute=True):
        ladder = read(source)
        ladder.append("CHANGED BY THE CALLER")
    assert cache.get(KEY) == ["MEMBER", "VIP"]
    read(source).append("CHANGED AGAIN")
    assert read(source) == ["MEMBER", "VIP"]
