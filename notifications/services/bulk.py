"""`message_enqueue` for many members at once: a campaign run over tens of thousands of members,
the daily tier evaluation telling thousands of members their new tier. The per-member service
costs about nine round trips per member; this one a handful per batch.

It writes exactly the rows `message_enqueue` would write, called once per member, and keeps its
guarantees, using the same rules and helpers (selectors, placeholder parsing and value
formatting, quiet hours, the daily cap) rather than copies of them:
- a merged member stands for their survivor;
- the member's language (`MemberPreference`, default vi) picks the template, falling back to the
  default language; a channel named in `channels` without a template is recorded as skipped;
- the skip rules per channel, in `message_enqueue`'s order: no template, marketing to a blocked
  member, no consent (always for marketing, for transactional events only when
  NOTIFICATIONS_TRANSACTIONAL_REQUIRES_CONSENT), no address, a placeholder without a value, the
  daily marketing cap (marketing only; the members' rows are locked in primary-key order first,
  as `message_enqueue` locks its member, so that the cap holds against concurrent enqueues);
- quiet hours for SMS and Zalo, the send time (`send_at`) and the ETA horizon;
- dedupe keys: a key already used for a member, event and channel writes nothing (counted as
  existing); a concurrent enqueue with the same key that commits first stands (the batch is
  planned again without it);
- the rows are written in the caller's transaction (COPY on PostgreSQL), and the pending ones
  handed to the sender after commit: one `notifications.send_messages` task per batch and send
  time, with the ETA `message_enqueue` would give each message; sends beyond the ETA horizon,
  and batches whose task is lost, are queued by the outbox sweeper, as for any message.

Speed comes from never building model instances or long IN lists: the members are a subquery
(or a short list of ids), rows are plain values, and a template is parsed once per batch."""

from __future__ import annotations

import datetime
import functools
import string
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.rows import rows_insert
from members.models import Member
from notifications.conf import notifications_setting
from notifications.models import MARKETING_EVENTS, Channel, MemberPreference, Message, MessageTemplate
from notifications.rendering import PlaceholderError, format_value, placeholders_in
from notifications.selectors import member_address, member_values, member_zone, template_pick, templates_active
from notifications.services.outbox import (
    _checked_channels,
    _checked_context,
    _checked_event,
    _consent_required,
    _queued_for,
)
from notifications.timing import local_day_bounds, quiet_hours_release
from stores.models import Store

Status = Message.Status
SkipReason = Message.SkipReason

# With at most this many distinct dedupe keys in a batch, the look-up of keys already used
# names them; with more (one key per member), it reads every keyed message of the batch's
# members for the event.
_KEYS_NAMED = 200
# Attempts at writing a batch that a concurrent enqueue with the same dedupe keys beats.
_ATTEMPTS = 3


@dataclass
class BulkMessages:
    """What a bulk enqueue wrote: new messages pending and skipped (with the reason), messages
    left as they were because their dedupe key was already used, and pending messages whose
    send task is queued after commit."""

    pending: int = 0
    skipped: int = 0
    existing: int = 0
    dispatched: int = 0

    @property
    def messages(self) -> int:
        """The messages `message_enqueue` would have returned, summed over the members."""
        return self.pending + self.skipped + self.existing


class _Compiled:
    """A template parsed once: rendering it for one member is a join of preformatted values
    (what `notifications.selectors.template_render` does, without parsing the text again for
    every message)."""

    def __init__(self, template: MessageTemplate):
        self.template = template
        self.error = ""
        parts = {"subject": template.subject, "body": template.body}
        if template.channel == Channel.ZALO and isinstance(template.zalo_params, dict):
            parts.update({f"zns:{name}": value for name, value in template.zalo_params.items()})
        self.parts: dict[str, list[tuple[str, str | None]]] = {}
        used: list[str] = []
        try:
            for key, text in parts.items():
                used += placeholders_in(text)
                self.parts[key] = [(literal, name) for literal, name, _s, _c in string.Formatter().parse(text or "")]
        except PlaceholderError as exc:
            self.error = str(exc)
        self.used = list(dict.fromkeys(used))
        self._formatted: dict[tuple, str] = {}

    def _format(self, value, language: str, zone) -> str:
        # Dates and amounts repeat from member to member (the voucher's last day, the tier's
        # name): formatted once each.
        if isinstance(value, str):
            return value
        key = (type(value), value, language, zone)
        text = self._formatted.get(key)
        if text is None:
            text = self._formatted[key] = format_value(value, language=language, zone=zone)
        return text

    def render(self, values: dict, zone) -> tuple[dict[str, str], list[str]]:
        if self.error:
            return {}, []
        missing = [n for n in self.used if values.get(n) is None or values.get(n) == ""]
        language = self.template.language
        formatted = {n: self._format(values.get(n), language, zone) for n in self.used}
        texts = {
            key: "".join(literal + (formatted[name] if name is not None else "") for literal, name in pieces)
            for key, pieces in self.parts.items()
        }
        return texts, missing


@dataclass
class _MemberView:
    """What the notifications selectors read of a member, loaded as plain values."""

    pk: int
    name: str
    phone: str
    email: str
    status: str
    points_balance: int
    home_store_id: int | None
    merged_into_id: int | None
    home_store: Store | None
    consents: dict[str, datetime.datetime | None]

    def consent_given_at(self, channel: str) -> datetime.datetime | None:
        return self.consents[channel]


@dataclass
class _PreferenceView:
    language: str
    push_token: str


def _members_queryset(members: QuerySet[Member] | Iterable[int]) -> QuerySet[Member]:
    if isinstance(members, QuerySet):
        return members
    return Member.objects.filter(pk__in=list(dict.fromkeys(members)))


def _survivors(requested) -> dict[int, int]:
    """The merged members among `requested` (a subquery of ids), each with the live record that
    stands for it (as `members.selectors.member_resolve` follows the chain). Usually empty: one
    query."""
    into = dict(Member.objects.filter(pk__in=requested, merged_into__isnull=False).values_list("pk", "merged_into_id"))
    frontier = set(into.values()) - set(into)
    while frontier:
        further = dict(
            Member.objects.filter(pk__in=frontier, merged_into__isnull=False).values_list("pk", "merged_into_id")
        )
        into.update(further)
        frontier = set(further.values()) - set(into)
    resolved = {}
    for member_id in into:
        current, seen = member_id, set()
        while current in into and current not in seen:
            seen.add(current)
            current = into[current]
        resolved[member_id] = current
    return resolved


def _members_load(recipients: QuerySet[Member], *, lock: bool) -> dict[int, _MemberView]:
    consent_fields = [f"consent_{c}_at" for c in Member.CONSENT_CHANNELS]
    fields = ["pk", "name", "phone", "email", "status", "points_balance", "home_store_id", "merged_into_id"]
    queryset = recipients.order_by("pk")
    if lock:
        # As message_enqueue does for marketing (through members_lock: same lock, same order),
        # so that the daily cap holds against concurrent enqueues, and the rows read are the
        # truth about the members' status and consents.
        queryset = queryset.select_for_update(no_key=True)
    rows = list(queryset.values_list(*fields, *consent_fields))
    store_ids = {row[6] for row in rows if row[6] is not None}
    stores = {store.pk: store for store in Store.objects.filter(pk__in=store_ids)} if store_ids else {}
    views = {}
    for row in rows:
        consents = dict(zip(Member.CONSENT_CHANNELS, row[len(fields) :], strict=True))
        views[row[0]] = _MemberView(*row[: len(fields)], home_store=stores.get(row[6]), consents=consents)
    return views


def _marketing_counts(
    recipients, windows: set[tuple[datetime.datetime, datetime.datetime]]
) -> dict[tuple[int, datetime.datetime], int]:
    """Marketing messages going to each member in each local-day window (what
    `notifications.selectors.marketing_messages_on_day` counts): one grouped query per distinct
    window (one or two in practice)."""
    counts: dict[tuple[int, datetime.datetime], int] = {}
    for start, end in windows:
        rows = (
            Message.objects.filter(
                member_id__in=recipients,
                marketing=True,
                status__in=[Status.PENDING, Status.SENDING, Status.SENT],
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


def _checked_key(dedupe_key: str | None) -> str:
    dedupe_key = (dedupe_key or "").strip()
    if len(dedupe_key) > 200:
        raise ValueError("dedupe_key is longer than 200 characters")
    return dedupe_key


def _keys_used(recipients, *, event: str, channels: list[str], keys: set[str]) -> set[tuple[int, str, str]]:
    """(member, channel, dedupe key) of the messages already written with one of `keys`."""
    if not keys:
        return set()
    used = Message.objects.filter(member_id__in=recipients, event=event, channel__in=channels)
    used = used.filter(dedupe_key__in=sorted(keys)) if len(keys) <= _KEYS_NAMED else used.exclude(dedupe_key="")
    return set(used.order_by().values_list("member_id", "channel", "dedupe_key"))


def messages_enqueue_bulk(
    *,
    members: QuerySet[Member] | Iterable[int],
    event: str,
    context: dict | None = None,
    context_for: Callable[[int, str], dict] | None = None,
    dedupe_key: str = "",
    dedupe_key_for: Callable[[int], str] | None = None,
    send_at: datetime.datetime | None = None,
    channels: Iterable[str] | None = None,
    marketing: bool | None = None,
    variant: str = "",
    now: datetime.datetime | None = None,
) -> BulkMessages:
    """Write the messages for `event` to every member of `members` (a queryset, used as a
    subquery, or member ids), one per channel, in the caller's transaction, and send them after
    commit: what `message_enqueue` does called for each member (see the module docstring and
    `notifications.services`), set-based. Returns the counts.

    `context` holds the placeholder values every member gets; `context_for(member_id, language)`
    those of one member (it overrides `context`), given the member's message language (vi or
    en), e.g. a tier's name in that language. `dedupe_key` is the key of every member's
    messages; `dedupe_key_for(member_id)` one member's (give one or the other). The ids given
    to both callables are those of `members`, also for a merged member, whose messages go to
    their survivor. A programming error (unknown event, channel or placeholder, a key longer
    than 200 characters) raises ValueError, and nothing is written."""
    event = _checked_event(event)
    common = _checked_context(context)
    wanted = _checked_channels(channels)
    if dedupe_key and dedupe_key_for is not None:
        raise ValueError("give dedupe_key or dedupe_key_for, not both")
    dedupe_key = _checked_key(dedupe_key)
    now = now or timezone.now()
    marketing = event in MARKETING_EVENTS if marketing is None else marketing
    requested_at = max(send_at, now) if send_at is not None else now
    result = BulkMessages()
    templates = templates_active(event=event, variant=variant)
    if wanted is None:
        wanted = [c for c in Channel.values if any(channel == c for channel, _lang in templates)]
    if not wanted:
        return result
    default_language = notifications_setting("DEFAULT_LANGUAGE")
    queryset = _members_queryset(members)
    requested = queryset.order_by().values("pk")

    with transaction.atomic():
        survivors = _survivors(requested)
        if survivors:
            recipients = Member.objects.filter(Q(pk__in=requested) | Q(pk__in=set(survivors.values())))
            # A survivor is a recipient in its own right only when it was asked for.
            asked = set(Member.objects.filter(pk__in=requested).values_list("pk", flat=True))
        else:
            recipients = Member.objects.filter(pk__in=requested)
            asked = None
        views = _members_load(recipients, lock=marketing)
        order = [pk for pk in views if asked is None or pk in asked]
        if not order:
            return result
        recipient_ids = recipients.order_by().values("pk")
        preferences = {
            member_id: _PreferenceView(language, push_token)
            for member_id, language, push_token in MemberPreference.objects.filter(
                member_id__in=recipient_ids
            ).values_list("member_id", "language", "push_token")
        }

        # Per requested member: the record the messages go to, its language, values and key.
        plans: list[tuple[_MemberView, str, dict, str]] = []
        for member_id in order:
            member = views[survivors.get(member_id, member_id)]
            preference = preferences.get(member.pk)
            language = preference.language if preference is not None else default_language
            values = dict(common)
            if context_for is not None:
                values.update(_checked_context(context_for(member_id, language)))
            key = _checked_key(dedupe_key_for(member_id)) if dedupe_key_for is not None else dedupe_key
            values = {**member_values(member), **{k: v for k, v in values.items() if v is not None}}
            plans.append((member, language, values, key))
        keys = {key for _m, _l, _v, key in plans if key}

        compiled: dict[int, _Compiled] = {}
        picked: dict[tuple[str, str], MessageTemplate | None] = {}
        zones: dict[int | None, zoneinfo.ZoneInfo] = {}
        timing: dict[tuple, tuple] = {}

        def drafts() -> tuple[list[dict], int]:
            """The rows to write, with every rule applied, and how many keys were already used."""
            used = _keys_used(recipient_ids, event=event, channels=wanted, keys=keys)
            rows: list[dict] = []
            existing = 0
            for member, language, values, key in plans:
                if member.home_store_id not in zones:
                    zones[member.home_store_id] = member_zone(member)
                zone = zones[member.home_store_id]
                preference = preferences.get(member.pk)
                for channel in wanted:
                    if key and (member.pk, channel, key) in used:
                        existing += 1
                        continue
                    if (channel, language) not in picked:
                        picked[(channel, language)] = template_pick(templates, channel=channel, language=language)
                    template = picked[(channel, language)]
                    if template is not None and template.pk not in compiled:
                        compiled[template.pk] = _Compiled(template)
                    rows.append(
                        _draft(
                            member=member,
                            event=event,
                            channel=channel,
                            template=template,
                            compiled=compiled[template.pk] if template else None,
                            language=language,
                            values=values,
                            marketing=marketing,
                            dedupe_key=key,
                            preference=preference,
                            zone=zone,
                            requested_at=requested_at,
                            timing=timing,
                        )
                    )
                    if key:
                        used.add((member.pk, channel, key))  # a survivor asked for twice
            _daily_cap_apply(rows, recipient_ids, marketing=marketing)
            for row in rows:
                row.pop("_day", None)
                if row["status"] == Status.PENDING:
                    row["queued_at"] = _queued_for(row["scheduled_at"], now)
            return rows, existing

        for attempt in range(1, _ATTEMPTS + 1):
            rows, result.existing = drafts()
            if not keys:
                rows_insert(Message, rows, now=now)
                break
            try:
                # A savepoint: a concurrent enqueue that wrote one of these keys first fails only
                # this insert; the batch is planned again and theirs stands.
                with transaction.atomic():
                    rows_insert(Message, rows, now=now)
                break
            except IntegrityError:
                if attempt == _ATTEMPTS:
                    raise
        result.pending = sum(1 for row in rows if row["status"] == Status.PENDING)
        result.skipped = len(rows) - result.pending
        if any(row.get("queued_at") is not None for row in rows):
            due: dict[datetime.datetime, list[int]] = {}
            for pk, queued_at in Message.objects.filter(
                member_id__in=recipient_ids,
                event=event,
                created_at=now,
                status=Status.PENDING,
                queued_at__isnull=False,
            ).values_list("pk", "queued_at"):
                due.setdefault(queued_at, []).append(pk)
            for queued_at, message_ids in sorted(due.items()):
                result.dispatched += len(message_ids)
                # robust: a broker that is down must not fail the caller's committed work; the
                # sweeper queues the messages again later.
                transaction.on_commit(functools.partial(_dispatch_many, message_ids, queued_at), robust=True)
    return result


def _daily_cap_apply(rows: list[dict], recipients, *, marketing: bool) -> None:
    """Skip the pending marketing rows over NOTIFICATIONS_MARKETING_DAILY_CAP per member and
    store-local day, counting what is already going to each member that day and the rows before
    them (message_enqueue writes the channels one after another and counts each time)."""
    cap = notifications_setting("MARKETING_DAILY_CAP")
    if not marketing or cap <= 0:
        return
    pending = [row for row in rows if row["status"] == Status.PENDING]
    counts = _marketing_counts(recipients, {row["_day"] for row in pending})
    for row in pending:
        key = (row["member_id"], row["_day"][0])
        if counts.get(key, 0) >= cap:
            _skip(row, SkipReason.DAILY_CAP, _("%(cap)d per day") % {"cap": cap})
        else:
            counts[key] = counts.get(key, 0) + 1


def _skip(row: dict, reason: str, detail: str = "") -> dict:
    row.update(status=Status.SKIPPED, skip_reason=reason, skip_detail=detail[:300], queued_at=None)
    return row


def _draft(
    *,
    member,
    event,
    channel,
    template,
    compiled,
    language,
    values,
    marketing,
    dedupe_key,
    preference,
    zone,
    requested_at,
    timing,
) -> dict:
    """The outbox row for one channel with the per-member rules of `message_enqueue` (its
    `_message_build`), in its order; the daily cap is applied afterwards, for the whole batch."""
    row = {
        "member_id": member.pk,
        "event": event,
        "channel": channel,
        "language": template.language if template else language,
        "template_id": template.pk if template else None,
        "marketing": marketing,
        "dedupe_key": dedupe_key,
        "scheduled_at": requested_at,
        "recipient": member_address(member, channel, preference),
        "status": Status.PENDING,
        "skip_reason": "",
        "zns_params": {},
    }
    if template is None:
        return _skip(row, SkipReason.NO_TEMPLATE)
    texts, missing = compiled.render(values, zone)
    row["subject"] = texts.get("subject", "")[:200]
    row["body"] = texts.get("body", "")
    if template.channel == Channel.ZALO:
        row["zns_template_id"] = template.zalo_template_id
        row["zns_params"] = {key[4:]: text for key, text in texts.items() if key.startswith("zns:")}
    if marketing and member.status == Member.Status.BLOCKED:
        return _skip(row, SkipReason.MEMBER_BLOCKED)
    if _consent_required(marketing) and member.consent_given_at(channel) is None:
        return _skip(row, SkipReason.NO_CONSENT)
    if not row["recipient"]:
        return _skip(row, SkipReason.NO_ADDRESS)
    if compiled.error or missing:
        return _skip(row, SkipReason.MISSING_DATA, compiled.error or ", ".join("{" + n + "}" for n in missing))
    # The same for every member of a zone and channel: computed once (`timing` is the cache).
    key = (zone.key, channel)
    if key not in timing:
        scheduled_at = quiet_hours_release(requested_at, zone, channel)
        timing[key] = (scheduled_at, local_day_bounds(scheduled_at, zone))
    row["scheduled_at"], row["_day"] = timing[key]
    return row


def _dispatch_many(message_ids: list[int], due: datetime.datetime) -> None:
    from notifications.tasks import send_messages

    if due <= timezone.now():
        send_messages.delay(message_ids)
    else:
        send_messages.apply_async((message_ids,), eta=due)


def messages_withdraw(*, member_ids: list[int], event: str, dedupe_key: str, now: datetime.datetime) -> int:
    """Delete the messages `messages_enqueue_bulk` wrote in the current transaction (at `now`)
    for these members and key, e.g. when what they announce turned out to be refused before the
    commit. Returns how many pending ones were withdrawn (a send queued for them finds
    nothing)."""
    written = Message.objects.filter(member_id__in=member_ids, event=event, dedupe_key=dedupe_key, created_at=now)
    pending = written.filter(status=Status.PENDING).count()
    written.delete()
    return pending
