"""The audience of a campaign: its group or segment, or a journey (a moment in each member's
life), the journey narrowed by the group or segment when one is chosen too.

Each journey is one queryset over indexed columns (the member's `enrolled_at`, the ledger's
member and time, the open point lots' expiry), so a run feeds it to the set-based claim of
`campaign_runs` like any segment. The days are the programme's days (`audience_zone`), and "the
last N days" are the N days up to and including `as_of`."""

from __future__ import annotations

import calendar
import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import ExtractDay, ExtractMonth

from campaigns.audiences.selectors import _start_of, audience_members, audience_zone
from campaigns.runs.models import Campaign
from members.models import LedgerEntry, Member, PointLot

Journey = Campaign.Journey


def _window_start(as_of: datetime.date, days: int) -> datetime.datetime:
    return _start_of(as_of - datetime.timedelta(days=days - 1))


def journey_members(*, journey: str, days: int | None, as_of: datetime.date) -> QuerySet[Member]:
    """The active members the journey reaches on the day `as_of`."""
    end = _start_of(as_of + datetime.timedelta(days=1))
    members = Member.objects.filter(status=Member.Status.ACTIVE)
    purchases = LedgerEntry.objects.filter(member_id=OuterRef("pk"), kind=LedgerEntry.Kind.EARN, occurred_at__lt=end)
    if journey == Journey.WELCOME:
        return members.filter(enrolled_at__gte=_window_start(as_of, days), enrolled_at__lt=end)
    if journey == Journey.FIRST_VISIT:
        since = _window_start(as_of, days)
        return members.filter(
            Exists(purchases.filter(occurred_at__gte=since)), ~Exists(purchases.filter(occurred_at__lt=since))
        )
    if journey == Journey.WIN_BACK:
        return members.filter(Exists(purchases), ~Exists(purchases.filter(occurred_at__gte=_window_start(as_of, days))))
    if journey == Journey.POINTS_EXPIRING:
        # Points still held that expire after today and within the next N days.
        lots = PointLot.objects.filter(
            member_id=OuterRef("pk"),
            remaining__gt=0,
            expires_at__gte=end,
            expires_at__lt=_start_of(as_of + datetime.timedelta(days=days + 1)),
        )
        return members.filter(Exists(lots))
    if journey == Journey.ANNIVERSARY:
        zone = audience_zone()
        days_today = [as_of.day]
        if as_of.month == 2 and as_of.day == 28 and not calendar.isleap(as_of.year):
            days_today.append(29)  # enrolled on 29 February: kept on the 28th in a common year
        return members.alias(
            enrolled_month=ExtractMonth("enrolled_at", tzinfo=zone), enrolled_day=ExtractDay("enrolled_at", tzinfo=zone)
        ).filter(
            Q(enrolled_month=as_of.month, enrolled_day__in=days_today),
            enrolled_at__lt=_start_of(as_of - datetime.timedelta(days=364)),
        )
    raise ValueError(f"unknown journey {journey!r}")


def campaign_audience(campaign: Campaign, as_of: datetime.date) -> QuerySet[Member]:
    if not campaign.journey:
        return audience_members(group=campaign.group, segment=campaign.segment, as_of=as_of)
    members = journey_members(journey=campaign.journey, days=campaign.journey_days, as_of=as_of)
    if campaign.group_id or campaign.segment_id:
        narrowing = audience_members(group=campaign.group, segment=campaign.segment, as_of=as_of)
        members = members.filter(pk__in=narrowing.values("pk"))
    return members
