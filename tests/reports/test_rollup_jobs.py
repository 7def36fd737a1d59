"""The rebuild command and the beat task: refusals write nothing; the task is declared."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from loyalty_site.core.schedules import declared_schedules
from reports.models import DailySales, RollupDay, RollupState
from reports.tasks import refresh_rollups

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "args",
    [["--from", "2025-02-30", "--to", "2025-03-01"], ["--from", "2025-03-02", "--to", "2025-03-01"]],
)
def test_rebuild_rollups_refuses_bad_ranges_and_writes_nothing(args):
    with pytest.raises(CommandError):
        call_command("rebuild_rollups", *args, stdout=StringIO())
    assert not RollupDay.objects.exists() and not RollupState.objects.exists()


def test_rebuild_rollups_builds_the_closed_days_of_the_range(history):
    history.before_rollups()
    out = StringIO()
    start, end = history.day(10), history.d  # today is left to the raw tables
    call_command("rebuild_rollups", "--from", start.isoformat(), "--to", end.isoformat(), stdout=out)
    assert RollupDay.objects.count() == 10
    assert not RollupDay.objects.filter(day=history.d).exists()
    assert DailySales.objects.get(day=history.day(6), store=history.pho).member_net == 300_000
    assert "10" in out.getvalue()


def test_the_refresh_task_rebuilds_recent_days_and_moves_the_watermark(history):
    history.before_rollups()
    result = refresh_rollups()
    assert result["days"] == [(history.d - datetime.timedelta(days=n)).isoformat() for n in (2, 1)]
    assert RollupState.objects.get().watermark is not None
    assert any(s.task == "reports.refresh_rollups" for s in declared_schedules())
