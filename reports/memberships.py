"""Paid membership in the reports (issue 17 item 4), for the local days `[start, end]`:

- `membership_fees`: Σ fees of the periods sold in the period (a renewal is a sale);
- `membership_refunds`: Σ refunds of the periods cancelled in the period (whenever sold);
- `membership_revenue` = fees − refunds;
- `memberships_sold`: periods sold in the period;
- `paid_members`: distinct members who were paid members at some moment of the period (a period
  overlapping it, not cancelled before it began nor before it started).

Read from the raw table with its indexes (`sold_at`, `cancelled_at`, `(member, ends_at)`): a
programme sells few periods a day next to its sales. Under a filter: fees and refunds follow the
store the period was sold at (periods sold by staff without a store count only when there is no
filter); paid members follow the member's home store, like every member-level figure."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, Sum

from memberships.models import PaidMembership

MONEY_PLACES = Decimal("0.01")
ZERO = Decimal(0)


def membership_figures(
    *, start_at: datetime.datetime, end_at: datetime.datetime, stores: frozenset[int] | None, db: str
) -> dict:
    periods = PaidMembership.objects.using(db)
    sold_here = periods if stores is None else periods.filter(sold_store_id__in=stores)
    sold = sold_here.filter(sold_at__gte=start_at, sold_at__lt=end_at).aggregate(
        fees=Sum("fee_paid"), count=Count("pk")
    )
    refunds = sold_here.filter(cancelled_at__gte=start_at, cancelled_at__lt=end_at).aggregate(
        total=Sum("refund_amount")
    )["total"]
    in_force = periods.filter(started_at__lt=end_at, ends_at__gt=start_at).filter(
        Q(cancelled_at__isnull=True) | (Q(cancelled_at__gt=start_at) & Q(cancelled_at__gt=F("started_at")))
    )
    if stores is not None:
        in_force = in_force.filter(member__home_store_id__in=stores)
    fees, refunded = sold["fees"] or ZERO, refunds or ZERO
    return {
        "membership_fees": fees.quantize(MONEY_PLACES),
        "membership_refunds": refunded.quantize(MONEY_PLACES),
        "membership_revenue": (fees - refunded).quantize(MONEY_PLACES),
        "memberships_sold": sold["count"],
        "paid_members": in_force.values("member_id").distinct().count(),
    }
