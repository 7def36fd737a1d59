"""The sales facts of segment rules (`campaigns.audiences.purchases.SaleFacts`), built on the
report definitions so that a segment's "net sales" is the dashboard's to the đồng.

Each fact is a correlated subquery on the member's sales, which the index
`pos_sale_member_time_idx` (member, occurred_at) answers; sale lines are reached by their sale
(`pos_saleline_sale_index_uniq`)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from pos.models import Sale, SaleLine
from reports.definitions import IS_ORDER, SALE_NET

MONEY = DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)


def _in_window(queryset: QuerySet, prefix: str, since, until) -> QuerySet:
    queryset = queryset.filter(**{f"{prefix}occurred_at__lt": until})
    if since is not None:
        queryset = queryset.filter(**{f"{prefix}occurred_at__gte": since})
    return queryset


def member_sales(*, since: datetime.datetime | None, until: datetime.datetime) -> QuerySet[Sale]:
    """The sales of the outer member (`OuterRef("pk")`) in `[since, until)`."""
    return _in_window(Sale.objects.filter(member_id=OuterRef("pk")), "", since, until)


class ReportSaleFacts:
    def bought(self, *, brand_ids, categories, skus, since, until) -> Q:
        condition = Q()
        if brand_ids:
            orders = member_sales(since=since, until=until).filter(IS_ORDER, store__brand_id__in=brand_ids)
            condition &= Q(Exists(orders))
        lines = _in_window(
            SaleLine.objects.filter(sale__member_id=OuterRef("pk"), quantity__gt=F("refunded_quantity")),
            "sale__",
            since,
            until,
        )
        if categories:
            condition &= Q(Exists(lines.filter(category__in=categories)))
        if skus:
            condition &= Q(Exists(lines.filter(sku__in=skus)))
        return condition

    def orders(self, *, since, until) -> Expression:
        counted = (
            member_sales(since=since, until=until)
            .filter(IS_ORDER)
            .order_by()
            .values("member_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

    def net_sales(self, *, since, until) -> Expression:
        summed = (
            member_sales(since=since, until=until)
            .order_by()
            .values("member_id")
            .annotate(net=Sum(SALE_NET, output_field=MONEY))
            .values("net")
        )
        return Coalesce(Subquery(summed, output_field=MONEY), Value(Decimal(0)), output_field=MONEY)
