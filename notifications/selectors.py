"""Reads of the notifications app. Nothing here writes."""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member
from notifications.conf import notifications_setting
from notifications.models import (
    Channel,
    Language,
    MemberPreference,
    Message,
    MessageTemplate,
    PushSubscription,
    ZaloConnection,
)
from notifications.rendering import CompiledTemplate, Rendered
from notifications.zalo_tokens import TokenUnreadable, token_decrypt

# --- Members ------------------------------------------------------------------------------------


def programme_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def member_zone(member: Member) -> zoneinfo.ZoneInfo:
    """The zone of the member's clock rules: the home store's, else the programme's."""
    if member.home_store_id and member.home_store is not None:
        return member.home_store.zone
    return programme_zone()


def member_preference(member: Member) -> MemberPreference | None:
    return MemberPreference.objects.filter(member_id=member.pk).first()


def member_language(member: Member, preference: MemberPreference | None = None) -> str:
    preference = preference or member_preference(member)
    return preference.language if preference is not None else notifications_setting("DEFAULT_LANGUAGE")


def member_address(member: Member, channel: str, preference: MemberPreference | None = None) -> str:
    """Where a message on `channel` goes: the email, the phone (E.164) or the push address
    (`MemberPreference.push_token`: the endpoint of the member's latest web push subscription,
    or a device token of the HTTP push service); "" when the member has none."""
    if channel == Channel.EMAIL:
        return member.email or ""
    if channel in (Channel.SMS, Channel.ZALO):
        return member.phone or ""
    if channel == Channel.PUSH:
        return preference.push_token if preference is not None else ""
    raise ValueError(f"unknown channel {channel!r}")


def push_subscription_active(*, endpoint: str) -> PushSubscription | None:
    if not endpoint:
        return None
    return PushSubscription.objects.filter(endpoint=endpoint, disabled_at__isnull=True).first()


def member_values(member: Member) -> dict[str, object]:
    """The placeholder values that come from the member."""
    return {
        "member_name": member.name,
        "points_balance": member.points_balance,
        "store_name": member.home_store.name if member.home_store_id and member.home_store else None,
    }


# --- Templates ----------------------------------------------------------------------------------


def templates_active(*, event: str, variant: str = "") -> dict[tuple[str, str], MessageTemplate]:
    """The active templates of an event's variant by (channel, language); a variant without its
    own template for a channel falls back to the event's default text (blank variant)."""
    found: dict[tuple[str, str], MessageTemplate] = {}
    variants = [variant, ""] if variant else [""]
    for template in MessageTemplate.objects.filter(event=event, variant__in=variants, is_active=True):
        key = (template.channel, template.language)
        if key not in found or template.variant == variant:
            found[key] = template
    return found


def template_pick(
    templates: dict[tuple[str, str], MessageTemplate], *, channel: str, language: str
) -> MessageTemplate | None:
    """The template in the member's language, else in the default language, else in any."""
    for wanted in (language, notifications_setting("DEFAULT_LANGUAGE"), *Language.values):
        if (channel, wanted) in templates:
            return templates[(channel, wanted)]
    return None


def template_render(*, template: MessageTemplate, values: dict[str, object], zone: zoneinfo.ZoneInfo) -> Rendered:
    """The template's text with `values`, formatted in the template's language. Placeholders
    without a value (None or "") are listed in `missing` and rendered empty. For one rendering
    (a preview); an enqueue compiles each template once (`CompiledTemplate`) for all its
    members."""
    return CompiledTemplate(template).render(values, zone)


def sample_values(*, member: Member | None, now: datetime.datetime | None = None) -> dict[str, object]:
    """Values for a preview: the member's own where there is a member, examples for the rest."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    values: dict[str, object] = {
        "member_name": "Nguyễn Thị Minh Anh",
        "points_balance": 1250,
        "store_name": "Phở Hà Thành Hoàn Kiếm",
        "points_earned": 85,
        "tier_name": "VIP",
        "voucher_code": "BDAY20-7QK2M",
        "voucher_name": "Quà sinh nhật -20 %",
        "voucher_expires_at": today + datetime.timedelta(days=30),
        "expiring_points": 320,
        "expiry_date": today + datetime.timedelta(days=30),
        "campaign_name": _("Sample campaign"),
    }
    if member is not None:
        values.update({k: v for k, v in member_values(member).items() if v not in (None, "")})
    return values


# --- The outbox ---------------------------------------------------------------------------------


def marketing_messages_on_day(*, member: Member, start: datetime.datetime, end: datetime.datetime) -> int:
    """Marketing messages going to the member between `start` and `end` (skipped and failed
    ones do not count: they never reached the member)."""
    return Message.objects.filter(
        member_id=member.pk,
        marketing=True,
        status__in=[Message.Status.PENDING, Message.Status.SENDING, Message.Status.SENT],
        scheduled_at__gte=start,
        scheduled_at__lt=end,
    ).count()


@dataclass(frozen=True)
class ChannelCounts:
    channel: str
    label: str
    counts: dict[str, int]
    total: int


SUMMARY_LATEST = 10_000


def message_delivery_counts(queryset: QuerySet[Message], *, latest: int = SUMMARY_LATEST) -> list[ChannelCounts]:
    """Messages per channel and status among the `latest` newest of `queryset`, for the outbox's
    summary (one grouped query). Bounded: grouping the whole outbox, millions of rows at a chain's
    size, read it all on every page (issue 18); the newest are read through the time index."""
    newest = queryset.order_by("-created_at", "-pk").values("pk")[:latest]
    grouped = Message.objects.filter(pk__in=newest).order_by().values("channel", "status").annotate(n=Count("pk"))
    table: dict[str, dict[str, int]] = {}
    for row in grouped:
        table.setdefault(row["channel"], {})[row["status"]] = row["n"]
    labels = dict(Channel.choices)
    return [
        ChannelCounts(
            channel=channel,
            label=str(labels.get(channel, channel)),
            counts={status: table[channel].get(status, 0) for status in Message.Status.values},
            total=sum(table[channel].values()),
        )
        for channel in Channel.values
        if channel in table
    ]


# --- Zalo OA tokens ---------------------------------------------------------------------------


def zalo_access_token() -> str:
    """The current Zalo access token kept by the renewal (`notifications.services.zalo`), or ""
    when none is stored or it cannot be read."""
    stored = ZaloConnection.objects.filter(pk=ZaloConnection.SINGLETON_PK).values_list(
        "access_token_encrypted", flat=True
    )
    try:
        return token_decrypt(stored.first() or "")
    except TokenUnreadable:
        return ""


def zalo_renewal_alert() -> str:
    """What the admin banner says when renewing the Zalo access token failed (and no renewal
    succeeded since), or ""."""
    connection = ZaloConnection.objects.filter(pk=ZaloConnection.SINGLETON_PK).first()
    if connection is None or not connection.is_failing:
        return ""
    if connection.access_expires_at is not None and connection.access_expires_at > timezone.now():
        return _(
            "Renewing the Zalo access token failed (%(count)d times in a row): %(error)s. The current token "
            "expires at %(expires)s; after that Zalo messages stop until a renewal succeeds."
        ) % {
            "count": connection.failures,
            "error": connection.last_error,
            "expires": timezone.localtime(connection.access_expires_at).strftime("%d/%m/%Y %H:%M"),
        }
    return _(
        "Renewing the Zalo access token failed (%(count)d times in a row): %(error)s. Zalo messages cannot be "
        "sent: check the app id and secret key, or enter a new refresh token."
    ) % {"count": connection.failures, "error": connection.last_error}
