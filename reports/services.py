"""The only writer of the reports tables: the daily rollups (`reports.models`).

`rollups_rebuild` rebuilds a range of local days set-based: per table one DELETE of the range and
one INSERT ... SELECT built from the same queryset `reports.figures` reads raw days with (two for
vouchers: issued and used), so a rolled-up day and a raw day can never disagree.
`rollups_refresh` (the beat task) rebuilds the recent closed days and every day a row created
since the last run belongs to: a late-synced sale, a refund of an old sale, a back-dated entry.
Running either again for the same days changes nothing."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from reports.figures import (
    day_runs,
    day_start,
    dirty_days,
    enrolments_by_day,
    local_today,
    points_by_day,
    sales_by_day,
    vouchers_issued_by_day,
    vouchers_used_by_day,
)
from reports.models import DailyEnrolments, DailyPoints, DailySales, DailyVouchers, RollupDay, RollupState

# Rows created this long before a refresh started are taken as seen: a transaction still open
# when the refresh read the tables commits rows with an earlier `created_at`, and the next
# refresh must still find them.
WATERMARK_MARGIN = datetime.timedelta(minutes=15)
RECENT_DAYS = 2

Source = Callable[[datetime.datetime, datetime.datetime], QuerySet]
ROLLUPS: list[tuple[type[Model], tuple[str, ...], tuple[Source, ...]]] = [
    (
        DailySales,
        ("day", "store_id", "member_net", "member_gross", "member_orders", "other_net", "other_gross", "other_orders"),
        (sales_by_day,),
    ),
    (DailyPoints, ("day", "store_id", "figure", "points"), (points_by_day,)),
    (DailyEnrolments, ("day", "store_id", "members"), (enrolments_by_day,)),
    (
        DailyVouchers,
        ("day", "store_id", "reward_id", "campaign_id", "issued", "used"),
        (vouchers_issued_by_day, vouchers_used_by_day),
    ),
]


def _insert_from(model: type[Model], columns: tuple[str, ...], queryset: QuerySet) -> None:
    sql, params = queryset.query.sql_with_params()
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM ({sql}) rollup", params)  # noqa: S608


def rollups_rebuild(*, start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """Rebuild the rollups of the closed local days of `[start, end]` (today and later are never
    rolled up: they are always read raw). Returns the days rebuilt."""
    started = timezone.now()
    end = min(end, local_today() - datetime.timedelta(days=1))
    if end < start:
        return []
    lo, hi = day_start(start), day_start(end + datetime.timedelta(days=1))
    days = [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]
    with transaction.atomic():
        for model, columns, sources in ROLLUPS:
            model.objects.filter(day__gte=start, day__lte=end).delete()
            for source in sources:
                _insert_from(model, columns, source(lo, hi))
        RollupDay.objects.filter(day__gte=start, day__lte=end).delete()
        RollupDay.objects.bulk_create([RollupDay(day=day, built_at=started) for day in days])
        # A first build sets the watermark; a later one keeps the older watermark, so the days a
        # row touched since then (outside this range) are still found.
        RollupState.objects.get_or_create(
            pk=RollupState.SINGLETON_PK, defaults={"watermark": started - WATERMARK_MARGIN}
        )
    return days


def rollups_refresh(*, recent_days: int = RECENT_DAYS) -> list[datetime.date]:
    """The beat task's work: rebuild the last `recent_days` closed days and every closed day
    touched since the last refresh, then move the watermark. Returns the days rebuilt."""
    started = timezone.now()
    today = local_today()
    state = RollupState.objects.filter(pk=RollupState.SINGLETON_PK).first()
    wanted = {today - datetime.timedelta(days=n) for n in range(1, recent_days + 1)}
    if state is not None:
        wanted |= dirty_days(since=state.watermark, db="default")
    rebuilt: list[datetime.date] = []
    for first, last in day_runs([day for day in wanted if day < today]):
        rebuilt.extend(rollups_rebuild(start=first, end=last))
    RollupState.objects.update_or_create(
        pk=RollupState.SINGLETON_PK, defaults={"watermark": started - WATERMARK_MARGIN}
    )
    return rebuilt
