"""Who is in a group or a segment. Each audience is one queryset (one SQL statement with
EXISTS / IN subqueries), never a Python loop over members, so it can feed a set-based INSERT of
a million rows or a COUNT in the admin alike."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.db.models import DecimalField, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.audiences.models import CustomerGroup, GroupMembership, Segment, codes_split
from campaigns.audiences.purchases import sale_facts
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from members.models import LedgerEntry, Member
from tiers.models import Tier, TierSpend

SAMPLE_SIZE = 20


def audience_zone() -> zoneinfo.ZoneInfo:
    """Segments are programme-wide: their dates are days in the programme's zone."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def audience_today() -> datetime.date:
    return timezone.localtime(timezone.now(), audience_zone()).date()


def _start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=audience_zone())


def segment_birthday_month(segment: Segment, as_of: datetime.date) -> int | None:
    if not segment.birthday_month:
        return None
    if segment.birthday_month == Segment.BirthdayMonth.CURRENT:
        return as_of.month
    return int(segment.birthday_month)


def _tier_condition(tier_ids: set[int]) -> Q:
    """Members in any of these tiers; a member without a tier status row is in the entry tier."""
    condition = Q(tier_status__tier_id__in=tier_ids)
    entry = Tier.objects.order_by("rank").values_list("pk", flat=True).first()
    if entry in tier_ids:
        condition |= Q(tier_status__isnull=True)
    return condition


def years_before(day: datetime.date, years: int) -> datetime.date:
    """The same day `years` earlier (29 February becomes the 28th in a common year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _age_condition(segment: Segment, as_of: datetime.date) -> Q:
    """Aged `age_min` to `age_max` on `as_of`: a range on the birthday column."""
    condition = Q()
    if segment.age_min is not None:
        condition &= Q(birthday__lte=years_before(as_of, segment.age_min))
    if segment.age_max is not None:
        condition &= Q(birthday__gt=years_before(as_of, segment.age_max + 1))
    return condition


def _sales_rules(members: QuerySet[Member], segment: Segment, *, as_of: datetime.date, end) -> QuerySet[Member]:
    """The rules on the member's sales, by the report definitions (`purchases.SaleFacts`)."""
    brand_ids = list(segment.bought_at_brands.values_list("pk", flat=True)) if segment.pk is not None else []
    categories, skus = codes_split(segment.bought_categories), codes_split(segment.bought_skus)
    if brand_ids or categories or skus:
        since = _days_back(as_of, segment.bought_within_days) if segment.bought_within_days else None
        members = members.filter(
            sale_facts().bought(brand_ids=brand_ids, categories=categories, skus=skus, since=since, until=end)
        )
    if segment.recent_days:
        since = _days_back(as_of, segment.recent_days)
        bounds = {}
        if segment.recent_orders_min is not None:
            bounds["recent_orders__gte"] = segment.recent_orders_min
        if segment.recent_orders_max is not None:
            bounds["recent_orders__lte"] = segment.recent_orders_max
        if bounds:
            members = members.alias(recent_orders=sale_facts().orders(since=since, until=end)).filter(**bounds)
        bounds = {}
        if segment.recent_net_sales_min is not None:
            bounds["recent_net__gte"] = segment.recent_net_sales_min
        if segment.recent_net_sales_max is not None:
            bounds["recent_net__lte"] = segment.recent_net_sales_max
        if bounds:
            members = members.alias(recent_net=sale_facts().net_sales(since=since, until=end)).filter(**bounds)
    bounds = {}
    if segment.lifetime_net_sales_min is not None:
        bounds["lifetime_net__gte"] = segment.lifetime_net_sales_min
    if segment.lifetime_net_sales_max is not None:
        bounds["lifetime_net__lte"] = segment.lifetime_net_sales_max
    if bounds:
        members = members.alias(lifetime_net=sale_facts().net_sales(since=None, until=end)).filter(**bounds)
    return members


def _days_back(as_of: datetime.date, days: int) -> datetime.datetime:
    """The start of the last `days` days up to and including `as_of`."""
    return _start_of(as_of - datetime.timedelta(days=days - 1))


def segment_members(*, segment: Segment, as_of: datetime.date | None = None) -> QuerySet[Member]:
    """The active members who meet every rule of `segment` on the day `as_of` (default today in
    the programme's zone). "The last N days" are the N days up to and including `as_of`."""
    as_of = as_of or audience_today()
    end = _start_of(as_of + datetime.timedelta(days=1))  # nothing after the day counts
    members = Member.objects.filter(status=Member.Status.ACTIVE)

    month = segment_birthday_month(segment, as_of)
    if month is not None:
        members = members.filter(birthday__month=month)
    if segment.gender:
        members = members.filter(gender=segment.gender)
    members = members.filter(_age_condition(segment, as_of))
    if segment.points_balance_min is not None:
        members = members.filter(points_balance__gte=segment.points_balance_min)
    if segment.points_balance_max is not None:
        members = members.filter(points_balance__lte=segment.points_balance_max)
    if segment.pk is not None:
        tier_ids = set(segment.tiers.values_list("pk", flat=True))
        if tier_ids:
            members = members.filter(_tier_condition(tier_ids))
        store_ids = list(segment.home_stores.values_list("pk", flat=True))
        if store_ids:
            members = members.filter(home_store_id__in=store_ids)
        group_ids = list(segment.groups.values_list("pk", flat=True))
        if group_ids:
            members = members.filter(
                Exists(GroupMembership.objects.filter(member_id=OuterRef("pk"), group_id__in=group_ids))
            )
    if segment.enrolled_from:
        members = members.filter(enrolled_at__gte=_start_of(segment.enrolled_from))
    if segment.enrolled_until:
        members = members.filter(enrolled_at__lt=_start_of(segment.enrolled_until + datetime.timedelta(days=1)))

    purchases = LedgerEntry.objects.filter(member_id=OuterRef("pk"), kind=LedgerEntry.Kind.EARN, occurred_at__lt=end)
    if segment.last_purchase_after:
        members = members.filter(Exists(purchases.filter(occurred_at__gte=_start_of(segment.last_purchase_after))))
    if segment.last_purchase_before:
        members = members.filter(
            Exists(purchases),
            ~Exists(purchases.filter(occurred_at__gte=_start_of(segment.last_purchase_before))),
        )
    if segment.purchased_within_days:
        since = _days_back(as_of, segment.purchased_within_days)
        members = members.filter(Exists(purchases.filter(occurred_at__gte=since)))
    if segment.not_purchased_within_days:
        since = _days_back(as_of, segment.not_purchased_within_days)
        members = members.filter(~Exists(purchases.filter(occurred_at__gte=since)))

    if segment.min_spend:
        spends = TierSpend.objects.filter(member_id=OuterRef("pk"), occurred_at__lt=end)
        if segment.spend_within_days:
            spends = spends.filter(occurred_at__gte=_days_back(as_of, segment.spend_within_days))
        money = DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
        total = spends.order_by().values("member_id").annotate(total=Sum("amount")).values("total")
        members = members.alias(
            period_spend=Coalesce(Subquery(total, output_field=money), Value(Decimal(0)), output_field=money)
        ).filter(period_spend__gte=segment.min_spend)
    return _sales_rules(members, segment, as_of=as_of, end=end)


def group_members(*, group: CustomerGroup, active_only: bool = True) -> QuerySet[Member]:
    """The members of a static group (only the active ones, unless told otherwise)."""
    members = Member.objects.filter(Exists(GroupMembership.objects.filter(member_id=OuterRef("pk"), group_id=group.pk)))
    if active_only:
        members = members.filter(status=Member.Status.ACTIVE)
    return members


def audience_members(*, group: CustomerGroup | None = None, segment: Segment | None = None, as_of=None):
    if (group is None) == (segment is None):
        raise ValueError("give a group or a segment")
    if group is not None:
        return group_members(group=group)
    return segment_members(segment=segment, as_of=as_of)


def audience_sample(members: QuerySet[Member], size: int = SAMPLE_SIZE) -> list[Member]:
    """A few members to show next to the count (the most recently enrolled)."""
    return list(members.select_related("home_store").order_by("-enrolled_at", "-pk")[:size])
