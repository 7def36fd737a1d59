"""Counting rows without reading them all: the admin's lists over tables of millions of rows
(members, sales, the ledger, lots, vouchers...) show a count, and `SELECT COUNT(*)` over such a
table reads every row on each page (seconds at a chain's size, issue 18).

On PostgreSQL a count is exact up to `EXACT_UP_TO` rows (a count over a LIMITed subquery, which
stops there), and beyond that the planner's estimate: `pg_class.reltuples` for a whole table, the
`EXPLAIN` row estimate for a filtered list. Other databases (SQLite in tests and development)
count exactly."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

EXACT_UP_TO = 1000


def planner_estimate(queryset: QuerySet) -> int | None:
    """The rows PostgreSQL expects `queryset` to return (None on another database)."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def table_estimate(model) -> int | None:
    """`pg_class.reltuples` of the model's table: kept by autovacuum and ANALYZE (None on another
    database, or before the table was ever analysed)."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None


def count_bounded(queryset: QuerySet, *, exact_up_to: int = EXACT_UP_TO) -> int:
    """The exact count when it is at most `exact_up_to`, else an estimate above it (see the
    module's docstring); always exact off PostgreSQL."""
    if connections[queryset.db].vendor != "postgresql":
        return queryset.count()
    capped = queryset.order_by()[: exact_up_to + 1].count()
    if capped <= exact_up_to:
        return capped
    query = queryset.query
    estimate = table_estimate(queryset.model) if not query.where and not query.distinct else None
    if estimate is None:
        estimate = planner_estimate(queryset)
    return max(estimate or 0, capped)


# From this offset on, a page is read in two steps (see `EstimatedCountPaginator.page`).
DEFERRED_FROM = 1000


class EstimatedCountPaginator(Paginator):
    """The admin's paginator for large tables: `count` is `count_bounded`, and a deep page (page
    500 of the members) first reads the ids of its rows, which an index holding the ordering and
    the id serves without touching the rows it skips, then only those rows: OFFSET over whole
    rows read and threw away 50,000 members for page 500 (issue 18)."""

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if isinstance(object_list, QuerySet):
            return count_bounded(object_list)
        return super().count

    def page(self, number):
        object_list = self.object_list
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if not isinstance(object_list, QuerySet) or bottom < DEFERRED_FROM:
            return super().page(number)
        top = min(bottom + self.per_page, self.count)
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(object_list.values_list("pk", flat=True)[bottom:top])
        return self._get_page(object_list.filter(pk__in=ids), number, self)


def count_display(queryset: QuerySet) -> str:
    """`count_bounded` written for staff (`1.234` in Vietnamese), `≈ 1.234.000` when estimated."""
    from loyalty_site.core.formats import format_number

    count = count_bounded(queryset)
    estimated = count > EXACT_UP_TO and connections[queryset.db].vendor == "postgresql"
    return ("≈ " if estimated else "") + format_number(count)
