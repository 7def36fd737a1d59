"""Set-based variants of `vouchers.services.voucher_issue` and
`notifications.services.message_enqueue`, for campaign runs that serve tens of thousands of
members at once (the per-member services cost some twenty queries per member: a birthday
campaign over a million members would take many minutes).

They keep the invariants of the services they stand in for, and use those apps' own rules
(selectors, code generator, rendering, quiet hours, daily cap) rather than copies of them:
- vouchers: the reward's row is locked (`FOR NO KEY UPDATE`, like `voucher_issue`) while its
  issuing window, stock and per-member limit are checked and `issued_count` moves by `F()`; the
  `issued_count <= stock` constraint stays the backstop; codes come from
  `vouchers.codes.voucher_code_generate` and are checked free before the insert; each voucher
  carries the caller's idempotency reference, and vouchers already issued under a reference are
  returned instead of issued again;
- messages: the same skip rules in the same order as `message_enqueue` (template, blocked
  member, consent, address, missing placeholder, daily marketing cap) with the members' rows
  locked for the cap, the same quiet hours, and the same dedupe key constraint (ON CONFLICT DO
  NOTHING). Pending messages are handed to the sender in one task per batch after commit; a
  lost task is picked up by the outbox sweeper, as for any message.

They belong in the vouchers and notifications apps; until those apps offer bulk services, they
live here, used only by `campaigns.services.campaign_runs`."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed
from members.models import Member
from members.selectors import programme_zone
from members.services import members_lock
from notifications.conf import notifications_setting
from notifications.models import MARKETING_EVENTS, Channel, Event, MemberPreference, Message
from notifications.rendering import PLACEHOLDERS
from notifications.selectors import (
    member_address,
    member_values,
    member_zone,
    template_pick,
    template_render,
    templates_active,
)
from notifications.timing import local_day_bounds, quiet_hours_release
from vouchers.codes import voucher_code_generate
from vouchers.models import Reward, Voucher
from vouchers.selectors import Refusal, limit_period_start, reward_is_active, voucher_expires_at

# --- Vouchers ---------------------------------------------------------------------------------


@dataclass
class BulkIssue:
    """Vouchers by member id (new ones and those already issued under the same reference), and
    the members refused with the reason (`member-limit`, `out-of-stock`, `member-inactive`)."""

    vouchers: dict[int, Voucher] = field(default_factory=dict)
    new: int = 0
    refused: dict[int, str] = field(default_factory=dict)


def _free_codes(count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        wanted = {voucher_code_generate() for _ in range(count - len(codes))}
        wanted -= codes
        taken = set(Voucher.objects.filter(code__in=wanted).values_list("code", flat=True))
        codes |= wanted - taken
    return list(codes)


def reward_refusal_now(reward: Reward, *, at: datetime.datetime, zone: zoneinfo.ZoneInfo) -> Refusal | None:
    """What stops `reward` being issued to anybody now (window, validity, stock), or None."""
    if not reward_is_active(reward=reward, at=at):
        return Refusal("not-active", _("Reward %(code)s cannot be issued at this time.") % {"code": reward.code})
    if voucher_expires_at(reward=reward, issued_at=at, zone=zone) <= at:
        return Refusal("not-active", _("Vouchers of reward %(code)s are no longer valid.") % {"code": reward.code})
    if reward.stock is not None and reward.issued_count >= reward.stock:
        return Refusal("out-of-stock", _("Reward %(code)s is out of stock.") % {"code": reward.code})
    return None


def vouchers_issue_bulk(
    *,
    reward: Reward,
    member_ids: list[int],
    reference_for: Callable[[int], str],
    channel: str = Voucher.Channel.CAMPAIGN,
    reason: str = "",
    issued_by=None,
    now: datetime.datetime | None = None,
) -> BulkIssue:
    """Issue one voucher of `reward` to each member, without points, in the caller's
    transaction. A reward that cannot be issued at all raises RewardUnavailable (nothing
    written); members over the per-member limit, beyond the stock left, or not active are
    refused one by one."""
    now = now or timezone.now()
    zone = programme_zone()
    result = BulkIssue()
    if not member_ids:
        return result
    with transaction.atomic():
        locked = Reward.objects.select_for_update(no_key=True).get(pk=reward.pk)
        references = {member_id: reference_for(member_id) for member_id in member_ids}
        for voucher in Voucher.objects.filter(reference__in=list(references.values())):
            if references.get(voucher.member_id) == voucher.reference and voucher.reward_id == locked.pk:
                result.vouchers[voucher.member_id] = voucher
        wanted = [m for m in member_ids if m not in result.vouchers]
        if not wanted:
            return result
        refusal = reward_refusal_now(locked, at=now, zone=zone)
        if refusal is not None and refusal.reason != "out-of-stock":
            raise refusal.error()
        active = set(
            Member.objects.filter(pk__in=wanted, status=Member.Status.ACTIVE).values_list("pk", flat=True)
        )
        for member_id in wanted:
            if member_id not in active:
                result.refused[member_id] = "member-inactive"
        wanted = [m for m in wanted if m in active]
        if locked.limit_per_member is not None and wanted:
            held = Voucher.objects.filter(reward_id=locked.pk, member_id__in=wanted).exclude(
                status=Voucher.Status.VOID
            )
            start = limit_period_start(period=locked.limit_period, at=now, zone=zone)
            if start is not None:
                held = held.filter(issued_at__gte=start)
            counts = dict(held.order_by().values("member_id").annotate(n=Count("pk")).values_list("member_id", "n"))
            for member_id in wanted:
                if counts.get(member_id, 0) >= locked.limit_per_member:
                    result.refused[member_id] = "member-limit"
            wanted = [m for m in wanted if m not in result.refused]
        if locked.stock is not None:
            left = max(0, locked.stock - locked.issued_count)
            for member_id in wanted[left:]:
                result.refused[member_id] = "out-of-stock"
            wanted = wanted[:left]
        if not wanted:
            return result
        expires_at = voucher_expires_at(reward=locked, issued_at=now, zone=zone)
        codes = _free_codes(len(wanted))
        vouchers = [
            Voucher(
                code=code,
                reward=locked,
                member_id=member_id,
                channel=channel,
                issued_at=now,
                issued_by=issued_by,
                reason=reason[:300],
                reference=references[member_id],
                expires_at=expires_at,
            )
            for member_id, code in zip(wanted, codes, strict=True)
        ]
        # Every row differs only in member, code and reference: validating one validates the
        # shape of all (a full_clean per row would cost more than the insert).
        try:
            vouchers[0].full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise ValidationFailed(errors=exc.message_dict) from exc
        Voucher.objects.bulk_create(vouchers, batch_size=2000)
        Reward.objects.filter(pk=locked.pk).update(issued_count=F("issued_count") + len(vouchers))
        for voucher in vouchers:
            result.vouchers[voucher.member_id] = voucher
        result.new = len(vouchers)
    return result


# --- Messages ---------------------------------------------------------------------------------


@dataclass
class BulkMessages:
    pending: int = 0
    skipped: int = 0
    existing: int = 0
    pending_ids: list[int] = field(default_factory=list)


def _consent_required(marketing: bool) -> bool:
    return marketing or notifications_setting("TRANSACTIONAL_REQUIRES_CONSENT")


def _marketing_counts(
    member_ids: list[int], windows: set[tuple[datetime.datetime, datetime.datetime]]
) -> dict[tuple[int, datetime.datetime], int]:
    """Marketing messages going to each member in each local-day window: one grouped query per
    distinct window (one or two in practice)."""
    counts: dict[tuple[int, datetime.datetime], int] = {}
    for start, end in windows:
        rows = (
            Message.objects.filter(
                member_id__in=member_ids,
                marketing=True,
                status__in=[Message.Status.PENDING, Message.Status.SENDING, Message.Status.SENT],
                scheduled_at__gte=start,
                scheduled_at__lt=end,
            )
            .order_by()
            .values("member_id")
            .annotate(n=Count("pk"))
            .values_list("member_id", "n")
        )
        for member_id, n in rows:
            counts[(member_id, start)] = n
    return counts


def messages_enqueue_bulk(
    *,
    member_ids: list[int],
    event: str,
    context_for: Callable[[int], dict],
    dedupe_key_for: Callable[[int], str],
    marketing: bool | None = None,
    variant: str = "",
    channels: Iterable[str] | None = None,
    now: datetime.datetime | None = None,
) -> BulkMessages:
    """`message_enqueue` for many members at once, in the caller's transaction (see the module
    docstring). A dedupe key already used for a member, event and channel writes nothing."""
    if event not in Event.values:
        raise ValueError(f"unknown notification event {event!r}")
    now = now or timezone.now()
    marketing = event in MARKETING_EVENTS if marketing is None else marketing
    result = BulkMessages()
    if not member_ids:
        return result
    templates = templates_active(event=event, variant=variant)
    wanted = list(channels) if channels is not None else [
        c for c in Channel.values if any(channel == c for channel, _lang in templates)
    ]
    if not wanted:
        return result
    with transaction.atomic():
        if marketing:
            # As message_enqueue does, one member at a time: the daily cap must hold.
            members_lock(member_ids=member_ids)
        members = list(Member.objects.filter(pk__in=member_ids).select_related("home_store").order_by("pk"))
        preferences = _preferences(members)
        existing = set(
            Message.objects.filter(
                member_id__in=member_ids,
                event=event,
                channel__in=wanted,
                dedupe_key__in={dedupe_key_for(m) for m in member_ids},
            ).values_list("member_id", "channel")
        )
        drafts: list[tuple[Message, datetime.datetime, datetime.datetime]] = []
        default_language = notifications_setting("DEFAULT_LANGUAGE")
        for member in members:
            preference = preferences.get(member.pk)
            language = preference.language if preference is not None else default_language
            zone = member_zone(member)
            values = {**member_values(member), **{k: v for k, v in context_for(member.pk).items() if v is not None}}
            unknown = set(values) - set(PLACEHOLDERS)
            if unknown:
                raise ValueError(f"unknown placeholder values {sorted(unknown)}")
            for channel in wanted:
                if (member.pk, channel) in existing:
                    result.existing += 1
                    continue
                message = _draft(
                    member=member,
                    event=event,
                    channel=channel,
                    template=template_pick(templates, channel=channel, language=language),
                    language=language,
                    values=values,
                    marketing=marketing,
                    dedupe_key=dedupe_key_for(member.pk),
                    preference=preference,
                    zone=zone,
                    now=now,
                )
                start, end = local_day_bounds(message.scheduled_at, zone)
                drafts.append((message, start, end))
        cap = notifications_setting("MARKETING_DAILY_CAP")
        if marketing and cap > 0:
            pending_drafts = [d for d in drafts if d[0].status == Message.Status.PENDING]
            counts = _marketing_counts(member_ids, {(start, end) for _m, start, end in pending_drafts})
            for message, start, _end in pending_drafts:
                key = (message.member_id, start)
                if counts.get(key, 0) >= cap:
                    _skip(message, Message.SkipReason.DAILY_CAP, f"{cap}")
                else:
                    counts[key] = counts.get(key, 0) + 1
        messages = [d[0] for d in drafts]
        for message in messages:
            if message.status == Message.Status.PENDING:
                message.queued_at = now if message.scheduled_at <= now else None
        # No ignore_conflicts: the keys already used were left out above (under the members'
        # locks for marketing), and the pks of the new rows are needed to send them.
        Message.objects.bulk_create(messages, batch_size=2000)
        result.skipped = sum(1 for m in messages if m.status == Message.Status.SKIPPED)
        result.pending = sum(1 for m in messages if m.status == Message.Status.PENDING)
        result.pending_ids = [m.pk for m in messages if m.queued_at is not None]
        if result.pending_ids:
            ids = list(result.pending_ids)
            transaction.on_commit(lambda: _dispatch(ids), robust=True)
    return result


def _preferences(members: list[Member]) -> dict[int, MemberPreference]:
    return {p.member_id: p for p in MemberPreference.objects.filter(member_id__in=[m.pk for m in members])}


def _skip(message: Message, reason: str, detail: str = "") -> Message:
    message.status, message.skip_reason, message.skip_detail = Message.Status.SKIPPED, reason, detail[:300]
    message.queued_at = None
    return message


def _draft(
    *, member, event, channel, template, language, values, marketing, dedupe_key, preference, zone, now
) -> Message:
    """The outbox row for one channel with the per-member rules of `message_enqueue` (the
    daily cap is applied afterwards, for the whole batch)."""
    message = Message(
        member=member,
        event=event,
        channel=channel,
        language=template.language if template else language,
        template=template,
        marketing=marketing,
        dedupe_key=dedupe_key,
        scheduled_at=now,
        recipient=member_address(member, channel, preference),
    )
    if template is None:
        return _skip(message, Message.SkipReason.NO_TEMPLATE)
    rendered = template_render(template=template, values=values, zone=zone)
    message.subject, message.body = rendered.subject, rendered.body
    message.zns_template_id, message.zns_params = rendered.zns_template_id, rendered.zns_params
    if marketing and member.status == Member.Status.BLOCKED:
        return _skip(message, Message.SkipReason.MEMBER_BLOCKED)
    if _consent_required(marketing) and member.consent_given_at(channel) is None:
        return _skip(message, Message.SkipReason.NO_CONSENT)
    if not message.recipient:
        return _skip(message, Message.SkipReason.NO_ADDRESS)
    if rendered.error or rendered.missing:
        return _skip(
            message,
            Message.SkipReason.MISSING_DATA,
            rendered.error or ", ".join("{" + n + "}" for n in rendered.missing),
        )
    message.scheduled_at = quiet_hours_release(now, zone, channel)
    message.status = Message.Status.PENDING
    return message


def _dispatch(message_ids: list[int]) -> None:
    from campaigns.tasks import send_messages

    send_messages.delay(message_ids)

