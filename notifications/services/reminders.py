"""The daily points-expiring reminder."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Exists, Min, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed
from members.models import Member, PointLot
from members.selectors import programme_zone
from notifications.conf import notifications_setting
from notifications.models import Event, Message
from notifications.services.outbox import message_enqueue

_CHUNK = 500


@dataclass(frozen=True)
class ReminderResult:
    members: int
    messages: int


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=programme_zone())


def expiry_reminders_enqueue(
    *, as_of: datetime.date | None = None, now: datetime.datetime | None = None
) -> ReminderResult:
    """Enqueue one `points-expiring` message per member holding points whose last usable day is
    within the next NOTIFICATIONS_EXPIRY_REMINDER_DAYS days of `as_of` (default: today in the
    programme's zone), with the total of those points and the first such day.

    One grouped query finds the members (no loop over all members). A member reminded in the
    last NOTIFICATIONS_EXPIRY_REMINDER_DAYS days is left alone, so a member who earns every day
    is not reminded every day; and the dedupe key `points-expiring:<first day>` makes a second
    run for the same day (or a concurrent one) enqueue nothing new."""
    now = now or timezone.now()
    zone = programme_zone()
    today = timezone.localtime(now, zone).date()
    as_of = as_of or today
    if as_of > today:
        raise ValidationFailed(errors={"as_of": [_("Reminders cannot be sent for a future day.")]})
    window = notifications_setting("EXPIRY_REMINDER_DAYS")
    # A lot expires at the midnight after its last usable day: last day in [as_of, as_of + window]
    # means expiring in [start of as_of + 1, start of as_of + window + 1].
    lower = _day_start(as_of + datetime.timedelta(days=1))
    upper = _day_start(as_of + datetime.timedelta(days=window + 1))
    reminded = Message.objects.filter(
        member_id=OuterRef("member_id"),
        event=Event.POINTS_EXPIRING,
        created_at__gte=_day_start(as_of) - datetime.timedelta(days=window),
    )
    rows = list(
        PointLot.objects.filter(remaining__gt=0, expires_at__gte=lower, expires_at__lte=upper)
        .exclude(member__status=Member.Status.MERGED)
        .filter(~Exists(reminded))
        .values("member_id")
        .annotate(points=Sum("remaining"), first_expiry=Min("expires_at"))
        .order_by("member_id")
    )
    members = messages = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        by_id = Member.objects.select_related("home_store").in_bulk([row["member_id"] for row in chunk])
        for row in chunk:
            member = by_id.get(row["member_id"])
            if member is None:
                continue
            last_day = (timezone.localtime(row["first_expiry"], zone) - datetime.timedelta(microseconds=1)).date()
            created = message_enqueue(
                member=member,
                event=Event.POINTS_EXPIRING,
                context={"expiring_points": row["points"], "expiry_date": last_day},
                dedupe_key=f"points-expiring:{last_day.isoformat()}",
                now=now,
            )
            members += 1 if created else 0
            messages += len(created)
    return ReminderResult(members=members, messages=messages)
