"""The ladder and the tier settings every sale reads come from the cache once a transaction that
read them committed; every way of changing them (services, admin, fixtures, the daily job)
drops the cached copy, and a change that is rolled back never reaches it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse

from tests.tiers.conftest import local_today
from tiers.errors import TiersNotConfigured
from tiers.models import Tier, TierSettings
from tiers.selectors import (
    TIER_SETTINGS_CACHE_KEY,
    TIERS_LADDER_CACHE_KEY,
    entry_tier,
    tier_settings_get,
    tiers_ladder,
)
from tiers.services import tier_delete, tier_save, tier_settings_update, tiers_evaluate


def codes(ladder) -> list[str]:
    return [tier.code for tier in ladder]


@pytest.fixture
def warm(django_capture_on_commit_callbacks):
    """Read the ladder and the settings in a transaction that commits: they are cached."""

    def warm_up():
        with django_capture_on_commit_callbacks(execute=True):
            tiers_ladder()
            tier_settings_get()
        assert cache.get(TIERS_LADDER_CACHE_KEY) is not None and cache.get(TIER_SETTINGS_CACHE_KEY) is not None

    return warm_up


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a change as a transaction that commits (its after-commit invalidation runs)."""

    def run(change):
        with django_capture_on_commit_callbacks(execute=True):
            return change()

    return run


# --- The cached path --------------------------------------------------------------------------


def test_the_second_read_after_commit_costs_no_query(
    tiers, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with django_assert_num_queries(1):
            assert codes(tiers_ladder()) == ["MEMBER", "VIP", "DIAMOND"]
        with django_assert_num_queries(1):
            tier_settings_get()
    with django_assert_num_queries(0):
        assert codes(tiers_ladder()) == ["MEMBER", "VIP", "DIAMOND"]
        assert entry_tier() == tiers["MEMBER"]
        assert tier_settings_get().basis == TierSettings.Basis.SPEND


def test_nothing_is_cached_before_the_reading_transaction_commits(tiers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tiers_ladder()
        tier_settings_get()
    assert callbacks
    assert cache.get(TIERS_LADDER_CACHE_KEY) is None and cache.get(TIER_SETTINGS_CACHE_KEY) is None


def test_the_settings_row_is_still_created_when_missing_and_cached_only_after_commit(
    db, django_capture_on_commit_callbacks
):
    assert not TierSettings.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert tier_settings_get().basis == TierSettings.Basis.SPEND
        assert cache.get(TIER_SETTINGS_CACHE_KEY) is None
    assert TierSettings.objects.count() == 1 and callbacks


def test_without_tiers_entry_tier_still_refuses_even_from_the_cache(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert tiers_ladder() == []
    assert cache.get(TIERS_LADDER_CACHE_KEY) == []
    with pytest.raises(TiersNotConfigured):
        entry_tier()


def test_a_caller_changing_what_it_got_does_not_change_the_cache(tiers, warm):
    warm()
    ladder = tiers_ladder()
    ladder[0].threshold = Decimal(999)
    ladder.pop()
    tier_settings_get().window_months = 99
    assert codes(tiers_ladder()) == ["MEMBER", "VIP", "DIAMOND"]
    assert tiers_ladder()[0].threshold == 0
    assert tier_settings_get().window_months == 12


# --- Every change invalidates -----------------------------------------------------------------


def test_adding_a_tier_shows_in_the_next_read(tiers, warm, committed):
    warm()
    committed(lambda: tier_save(tier=Tier(code="PLATINUM", name="Bạch Kim", rank=40, threshold=Decimal(50_000_000))))
    assert cache.get(TIERS_LADDER_CACHE_KEY) is None
    assert codes(tiers_ladder()) == ["MEMBER", "VIP", "DIAMOND", "PLATINUM"]


def test_changing_a_threshold_shows_in_the_next_read(tiers, warm, committed):
    warm()
    vip = Tier.objects.get(code="VIP")
    vip.threshold = Decimal(3_000_000)
    committed(lambda: tier_save(tier=vip))
    assert tiers_ladder()[1].threshold == Decimal(3_000_000)


def test_deleting_a_tier_shows_in_the_next_read(tiers, warm, committed):
    warm()
    committed(lambda: tier_delete(tier=tiers["DIAMOND"]))
    assert codes(tiers_ladder()) == ["MEMBER", "VIP"]


def test_changing_the_tier_settings_shows_in_the_next_read(tiers, warm, committed):
    warm()
    committed(lambda: tier_settings_update(data={"window": "rolling", "window_months": 6}))
    settings = tier_settings_get()
    assert (settings.window, settings.window_months) == ("rolling", 6)


def test_writes_that_bypass_the_services_invalidate_too(tiers, warm, committed):
    """A fixture, the demo loader or a shell save the rows directly: the signals catch them."""
    warm()
    diamond = Tier.objects.get(code="DIAMOND")
    diamond.name = "Kim Cương Đen"
    committed(diamond.save)
    assert tiers_ladder()[2].name == "Kim Cương Đen"
    warm()
    programme = TierSettings.objects.get()
    programme.basis = TierSettings.Basis.POINTS
    committed(programme.save)
    assert tier_settings_get().basis == TierSettings.Basis.POINTS


def test_an_admin_edit_shows_in_the_next_read(
    tiers, warm, client, django_user_model, django_capture_on_commit_callbacks
):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "x"))
    warm()
    url = reverse("admin:tiers_tiersettings_change", args=[TierSettings.SINGLETON_PK])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"basis": "points", "window": "since_enrolment", "window_months": 12})
    assert response.status_code == 302
    assert tier_settings_get().basis == "points"


def test_the_daily_job_reads_fresh_settings_and_its_last_evaluated_day_is_never_served_stale(tiers, warm, committed):
    warm()
    # A copy cached before someone changed the row without invalidating (the worst case).
    TierSettings.objects.update(window="rolling")
    assert tier_settings_get().window == "since_enrolment"
    assert tier_settings_get(fresh=True).window == "rolling"
    today = local_today()
    committed(lambda: tiers_evaluate(as_of=today))
    assert tier_settings_get().last_evaluated_on == today


# --- Rolled back ------------------------------------------------------------------------------


def test_a_rolled_back_change_never_reaches_the_cache(tiers, warm, django_capture_on_commit_callbacks):
    warm()
    vip = Tier.objects.get(code="VIP")
    vip.threshold = Decimal(1_000_000)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        tier_save(tier=vip)
        tier_settings_update(data={"basis": "points"})
        # Read inside the change: these values must not be cached for anyone else.
        assert tiers_ladder()[1].threshold == Decimal(1_000_000)
        assert tier_settings_get().basis == "points"
        raise RuntimeError("rolled back")
    assert cache.get(TIERS_LADDER_CACHE_KEY) is None and cache.get(TIER_SETTINGS_CACHE_KEY) is None
    with django_capture_on_commit_callbacks(execute=True):
        assert tiers_ladder()[1].threshold == Decimal(5_000_000)
        assert tier_settings_get().basis == "spend"
    assert cache.get(TIERS_LADDER_CACHE_KEY)[1].threshold == Decimal(5_000_000)
    assert cache.get(TIER_SETTINGS_CACHE_KEY).basis == "spend"
