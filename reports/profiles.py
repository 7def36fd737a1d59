"""A member's profile figures (reports.md, "Member profile"): lifetime net sales (CLV), orders,
first and last visit, average order, favourite three categories and products by quantity, and
points earned and spent to date.

Four statements, each on an index of the member's own rows: the sales aggregate
(`pos_sale_member_time_idx`), the categories and the products of their sale lines (reached by
sale, `pos_saleline_sale_index_uniq`), and the ledger (`members_ledger_member_cover`). A member
with a long history costs what their own rows cost, whatever the size of the chain.

- Net sales and orders follow `reports.definitions` (paid less refunded; a sale refunded in full
  is no order). A visit is any recorded sale, refunded or not: the member came to the store.
- Quantities are what was bought less what was brought back; a line whose category is empty
  counts for its product only.
- Points earned = earn, referral and bonus entries less the reversals of them (a refund takes
  back what its sale earned); points spent = spend entries less the reversals of them (a refund
  gives back what its sale redeemed). Expiry and adjustments are neither."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Max, Min, Q, Sum

from loyalty_site.core.money import ZERO, quantize_money
from members.models import LedgerEntry, Member
from pos.models import Sale, SaleLine
from reports.definitions import IS_ORDER, SALE_NET
from reports.segment_facts import MONEY

FAVOURITES = 3


@dataclass(frozen=True)
class Favourite:
    code: str
    name: str
    quantity: int


@dataclass
class MemberProfile:
    lifetime_net_sales: Decimal = ZERO
    orders: int = 0
    first_visit: datetime.datetime | None = None
    last_visit: datetime.datetime | None = None
    average_order: Decimal | None = None
    favourite_categories: list[Favourite] = field(default_factory=list)
    favourite_products: list[Favourite] = field(default_factory=list)
    points_earned: int = 0
    points_spent: int = 0


def _kept_quantity():
    return Sum(F("quantity") - F("refunded_quantity"))


def member_profile(*, member: Member | int) -> MemberProfile:
    member_id = member if isinstance(member, int) else member.pk
    sales = Sale.objects.filter(member_id=member_id).order_by()
    totals = sales.aggregate(
        net=Sum(SALE_NET, output_field=MONEY),
        orders=Count("pk", filter=IS_ORDER),
        first=Min("occurred_at"),
        last=Max("occurred_at"),
    )
    profile = MemberProfile(
        lifetime_net_sales=totals["net"] or ZERO,
        orders=totals["orders"],
        first_visit=totals["first"],
        last_visit=totals["last"],
    )
    if profile.orders:
        profile.average_order = quantize_money(profile.lifetime_net_sales / profile.orders)
    if profile.first_visit is not None:  # no sales, no lines
        _favourites(profile, member_id)
    _points(profile, member_id)
    return profile


def _favourites(profile: MemberProfile, member_id: int) -> None:
    lines = SaleLine.objects.filter(sale__member_id=member_id).order_by()
    categories = (
        lines.exclude(category="")
        .values("category")
        .annotate(kept=_kept_quantity())
        .filter(kept__gt=0)
        .order_by("-kept", "category")[:FAVOURITES]
    )
    profile.favourite_categories = [Favourite(row["category"], row["category"], row["kept"]) for row in categories]
    products = (
        lines.values("sku")
        .annotate(kept=_kept_quantity(), shown_name=Max("name"))  # one of the names its lines carry
        .filter(kept__gt=0)
        .order_by("-kept", "sku")[:FAVOURITES]
    )
    profile.favourite_products = [Favourite(row["sku"], row["shown_name"], row["kept"]) for row in products]


def _points(profile: MemberProfile, member_id: int) -> None:
    credits, debits = LedgerEntry.CREDIT_KINDS, (LedgerEntry.Kind.SPEND,)
    reversal = Q(kind=LedgerEntry.Kind.REVERSE)
    points = (
        LedgerEntry.objects.filter(member_id=member_id)
        .order_by()
        .aggregate(
            earned=Sum("points", filter=Q(kind__in=credits) | (reversal & Q(reverses__kind__in=credits))),
            spent=Sum("points", filter=Q(kind__in=debits) | (reversal & Q(reverses__kind__in=debits))),
        )
    )
    profile.points_earned = points["earned"] or 0
    profile.points_spent = -(points["spent"] or 0)
