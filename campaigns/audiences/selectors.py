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

from campaigns.audiences.models import CustomerGroup, GroupMembership, Segment
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


def segment_members(*, segment: Segment, as_of: datetime.date | None = None) -> QuerySet[Member]:
    """The active members who meet every rule of `segment` on the day `as_of` (default today in
    the programme's zone). "The last N days" are the N days up to and including `as_of`."""
    as_of = as_of or audience_today()
    end = _start_of(as_of + datetime.timedelta(days=1))  # nothing after the day counts
    members = Member.objects.filter(status=Member.Status.ACTIVE)

    month = segment_birthday_month(segment, as_of)
    if month is not None:
        members = members.filter(birthday__month=month)
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
        since = _start_of(as_of - datetime.timedelta(days=segment.purchased_within_days - 1))
        members = members.filter(Exists(purchases.filter(occurred_at__gte=since)))
    if segment.not_purchased_within_days:
        since = _start_of(as_of - datetime.timedelta(days=segment.not_purchased_within_days - 1))
        members = members.filter(~Exists(purchases.filter(occurred_at__gte=since)))

    if segment.min_spend:
        spends = TierSpend.objects.filter(member_id=OuterRef("pk"), occurred_at__lt=end)
        if segment.spend_within_days:
            spends = spends.filter(
                occurred_at__gte=_start_of(as_of - datetime.timedelta(days=segment.spend_within_days - 1))
            )
        money = DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
        total = spends.order_by().values("member_id").annotate(total=Sum("amount")).values("total")
        members = members.alias(
            period_spend=Coalesce(Subquery(total, output_field=money), Value(Decimal(0)), output_field=money)
        ).filter(period_spend__gte=segment.min_spend)
    return members


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
