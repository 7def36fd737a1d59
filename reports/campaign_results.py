"""A campaign's result (reports.md, "Campaign result"): members reached, vouchers issued and
used, the net sales of the members reached in the N days after their delivery, and, where the
campaign keeps a random holdout, the same per member for the holdout and the difference (the
uplift), which times the members reached estimates the extra sales the campaign brought.

Counted per delivery: a member reached in two periods of a recurring campaign counts twice,
each time with the sales of the N days after that delivery. The window of a delivery is
`[delivered_at, delivered_at + N days)`; net sales follow `reports.definitions` (paid less
refunded, refunds known now included). A window not over yet counts what it has so far:
`open_windows` says how many. One statement for the sales of both groups (a correlated
subquery per delivery on `pos_sale_member_time_idx`) and one for the vouchers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DateTimeField, ExpressionWrapper, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.runs.models import Campaign, CampaignDelivery
from campaigns.runs.services import campaign_reference_prefix
from loyalty_site.core.money import ZERO, quantize_money
from pos.models import Sale
from reports.definitions import SALE_NET
from reports.segment_facts import MONEY
from vouchers.models import Voucher


@dataclass(frozen=True)
class GroupFigures:
    """The members reached, or the holdout: how many, their net sales in their windows."""

    members: int = 0
    net_sales: Decimal = ZERO

    @property
    def per_member(self) -> Decimal | None:
        return quantize_money(self.net_sales / self.members) if self.members else None


@dataclass(frozen=True)
class CampaignResult:
    result_days: int
    holdout_percent: int
    reached: GroupFigures
    holdout: GroupFigures
    vouchers_issued: int
    vouchers_used: int
    open_windows: int

    @property
    def uplift_per_member(self) -> Decimal | None:
        """Net sales per member reached less net sales per member held out (None without both)."""
        if self.reached.per_member is None or self.holdout.per_member is None:
            return None
        return self.reached.per_member - self.holdout.per_member

    @property
    def estimated_extra_sales(self) -> Decimal | None:
        uplift = self.uplift_per_member
        return None if uplift is None else uplift * self.reached.members

    @property
    def voucher_use_rate(self) -> Decimal | None:
        if not self.vouchers_issued:
            return None
        return (Decimal(self.vouchers_used) / self.vouchers_issued).quantize(Decimal("0.0001"))


def campaign_result(*, campaign: Campaign, now: datetime.datetime | None = None) -> CampaignResult:
    now = now or timezone.now()
    window = datetime.timedelta(days=campaign.result_days)
    window_end = ExpressionWrapper(OuterRef("delivered_at") + Value(window), output_field=DateTimeField())
    in_window = (
        Sale.objects.filter(
            member_id=OuterRef("member_id"), occurred_at__gte=OuterRef("delivered_at"), occurred_at__lt=window_end
        )
        .order_by()
        .values("member_id")
        .annotate(net=Sum(SALE_NET, output_field=MONEY))
        .values("net")
    )
    deliveries = CampaignDelivery.objects.filter(campaign=campaign).order_by()
    groups = {
        row["holdout"]: row
        for row in deliveries.annotate(
            net=Coalesce(Subquery(in_window, output_field=MONEY), Value(ZERO), output_field=MONEY)
        )
        .values("holdout")
        .annotate(
            members=Count("pk"),
            net_sales=Sum("net", output_field=MONEY),
            open=Count("pk", filter=Q(delivered_at__gt=now - window)),
        )
    }

    def figures(holdout: bool) -> GroupFigures:
        row = groups.get(holdout)
        return GroupFigures(row["members"], row["net_sales"] or ZERO) if row else GroupFigures()

    # The campaign's vouchers carry its reference (`campaign_reference`), given to members reached.
    vouchers = Voucher.objects.filter(
        member_id__in=deliveries.filter(holdout=False).values("member_id"),
        reference__startswith=campaign_reference_prefix(campaign),
    ).aggregate(issued=Count("pk"), used=Count("pk", filter=Q(status=Voucher.Status.USED)))
    return CampaignResult(
        result_days=campaign.result_days,
        holdout_percent=campaign.holdout_percent,
        reached=figures(False),
        holdout=figures(True),
        vouchers_issued=vouchers["issued"],
        vouchers_used=vouchers["used"],
        open_windows=sum(row["open"] for row in groups.values()),
    )
