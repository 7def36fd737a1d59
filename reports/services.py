"""The only writer of the reports tables: the daily rollups (`reports.models`).

`rollups_rebuild` rebuilds a range of local days set-based: per table one DELETE of the range and
one INSERT ... SELECT built from the same queryset `reports.figures` reads raw days with (two for
vouchers: issued and used), so a rolled-up day and a raw day can never disagree.
`rollups_refresh` (the beat task) rebuilds the recent closed days and every day a row created
since the last run belongs to: a late-synced sale, a refund of an old sale, a back-dated entry.
Running either again for the same days changes nothing.

The distinct-member figures keep their own structure (`MemberDay`, `ActivityGap`): the same
rebuild replaces the range's member order days and, when they changed, the activity gaps from
the range's first day on (a gap row depends on the member's previous order day, however old)."""

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
    member_days,
    points_by_day,
    sales_by_day,
    vouchers_issued_by_day,
    vouchers_used_by_day,
)
from reports.models import (
    ActivityGap,
    DailyEnrolments,
    DailyPoints,
    DailySales,
    DailyVouchers,
    MemberDay,
    RollupDay,
    RollupState,
)
from stores.models import Store

# Rows created this long before a refresh started are taken as seen: a transaction still open
# when the refresh read the tables commits rows with an earlier `created_at`, and the next
# refresh must still find them.
WATERMARK_MARGIN = datetime.timedelta(minutes=15)
RECENT_DAYS = 2
# A rebuild of at most this many days compares the member order days it rebuilds with the kept
# ones, so that a refresh that changes none (a partial refund, a second order on a day) leaves
# the activity gaps alone; a longer one rebuilds them from its first day without comparing.
COMPARED_DAYS = 31
ACTIVITY_LOCK = 1_500_015  # the advisory lock key of the activity structure's rebuilds

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


def _changed_member_days(start: datetime.date, end: datetime.date, fresh: QuerySet) -> datetime.date | None:
    """The first day of `[start, end]` whose member order days differ between `MemberDay` and
    `fresh` (the sales' own), `None` when they are the same."""
    if (end - start).days + 1 > COMPARED_DAYS:
        return start
    new_sql, new_params = fresh.query.sql_with_params()
    kept = MemberDay.objects.filter(day__gte=start, day__lte=end).values("member_id", "store_id", "day")
    old_sql, old_params = kept.query.sql_with_params()
    new = f"SELECT n.member_id, n.store_id, n.day FROM ({new_sql}) n"  # noqa: S608
    old = f"SELECT o.member_id, o.store_id, o.day FROM ({old_sql}) o"  # noqa: S608
    sql = (
        f"SELECT MIN(x.day) FROM (SELECT * FROM ({new} EXCEPT {old}) a "  # noqa: S608
        f"UNION ALL SELECT * FROM ({old} EXCEPT {new}) b) x"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*new_params, *old_params, *old_params, *new_params))
        first = cursor.fetchone()[0]
    if first is None:
        return None
    return first if isinstance(first, datetime.date) else datetime.date.fromisoformat(str(first))


# One scope kind per branch: (kind, the scope's column, where the member order days come from,
# how an earlier order day `p` of the member is in the same scope `d.scope_id`).
_GAP_SOURCES = (
    (ActivityGap.Kind.ALL, "0", "{memberday} m", ""),
    (
        ActivityGap.Kind.BRAND,
        "s.brand_id",
        "{memberday} m JOIN {store} s ON s.id = m.store_id",
        " AND p.store_id IN (SELECT ps.id FROM {store} ps WHERE ps.brand_id = d.scope_id)",
    ),
    (ActivityGap.Kind.STORE, "m.store_id", "{memberday} m", " AND p.store_id = d.scope_id"),
)
# Up to this many order days from the first rebuilt day on (a refresh), a member's last order
# day before it is looked up by index, row by row; above (a long rebuild), read grouped at once.
LOOKED_UP_DAYS = 200_000


def _activity_gaps_rebuild(start: datetime.date) -> None:
    """Rebuild the activity gaps of `start` and every later day from `MemberDay`: each member's
    order days from `start` on, in each scope, with the day before each (for the first, their
    last one before `start`)."""
    tables = {"memberday": MemberDay._meta.db_table, "store": Store._meta.db_table}
    look_up = MemberDay.objects.filter(day__gte=start)[: LOOKED_UP_DAYS + 1].count() <= LOOKED_UP_DAYS
    branches, params = [], []
    for kind, column, source, same_scope in _GAP_SOURCES:
        source = source.format(**tables)
        later = f"SELECT DISTINCT {column} AS scope_id, m.member_id, m.day FROM {source} WHERE m.day >= %s"  # noqa: S608
        previous = "LAG(d.day) OVER (PARTITION BY d.scope_id, d.member_id ORDER BY d.day)"
        if look_up:
            before = "(SELECT MAX(p.day) FROM {memberday} p WHERE p.member_id = d.member_id AND p.day < %s"
            before = (before + same_scope + ")").format(**tables)
            days = later
            previous = f"COALESCE({previous}, {before})"
            params += [start, start, start]
        else:
            active_later = f"SELECT n.member_id FROM {tables['memberday']} n WHERE n.day >= %s"  # noqa: S608
            group_by = "m.member_id" if kind == ActivityGap.Kind.ALL else f"{column}, m.member_id"
            earlier = (
                f"SELECT {column} AS scope_id, m.member_id, MAX(m.day) AS day FROM {source} "  # noqa: S608
                f"WHERE m.day < %s AND m.member_id IN ({active_later}) GROUP BY {group_by}"
            )
            days = f"SELECT * FROM ({later}) l UNION ALL SELECT * FROM ({earlier}) e"  # noqa: S608
            params += [start, start, start, start]
        with_previous = f"SELECT d.scope_id, d.day, {previous} AS previous_day FROM ({days}) d"  # noqa: S608
        branches.append(
            f"SELECT {int(kind)} AS kind, w.scope_id, w.day, w.previous_day FROM ({with_previous}) w "  # noqa: S608
            "WHERE w.day >= %s"
        )
    union = " UNION ALL ".join(branches)
    gap = ActivityGap._meta.db_table
    columns = "g.kind, g.scope_id, g.day, g.previous_day"
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {gap} WHERE day >= %s", [start])  # noqa: S608
        cursor.execute(
            f"INSERT INTO {gap} (kind, scope_id, day, previous_day, members) "  # noqa: S608
            f"SELECT {columns}, COUNT(*) FROM ({union}) g GROUP BY {columns}",
            params,
        )


def activity_rebuild(*, start: datetime.date, end: datetime.date) -> datetime.date | None:
    """Replace the member order days of the closed days `[start, end]` with the sales' own and,
    when they changed, rebuild the activity gaps from `start` on. Returns the first changed day
    (`None`: nothing changed, nothing written; a sale committed since is found by the next
    refresh, its `created_at` being after the watermark)."""
    lo, hi = day_start(start), day_start(end + datetime.timedelta(days=1))
    fresh = member_days(lo, hi)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The beat task and the command may run together: one rebuild of the structure at a
            # time (the gaps have no unique key to stop a second insert of the same rows).
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ACTIVITY_LOCK])
        changed = _changed_member_days(start, end, fresh)
        if changed is None:
            return None
        MemberDay.objects.filter(day__gte=start, day__lte=end).delete()
        _insert_from(MemberDay, ("member_id", "store_id", "day"), fresh)
        if connection.vendor == "postgresql" and (end - start).days + 1 > COMPARED_DAYS:
            with connection.cursor() as cursor:  # fresh statistics for the gaps' plan below
                cursor.execute(f"ANALYZE {MemberDay._meta.db_table}")
        # From the range's first day, not the first changed one: a sale committed between the
        # comparison and the insert is in the rows inserted, whatever its day.
        _activity_gaps_rebuild(start)
    return changed


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
        activity_rebuild(start=start, end=end)
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
