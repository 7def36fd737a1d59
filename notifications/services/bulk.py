"""`message_enqueue` for many members at once: a campaign run over tens of thousands of members,
the daily tier evaluation telling thousands of members their new tier. The per-member service
costs about nine round trips per member; this one a handful per batch.

It writes exactly the rows `message_enqueue` would write, called once per member, because
every row is decided by the same rule chain (`notifications.rules.message_decide`: dedupe key,
template, blocked member, consent, address, missing data, quiet hours, daily cap) and rendered by
the same renderer (`notifications.rendering.CompiledTemplate`); only the reads of the facts it
needs and the writes are set-based here:
- a merged member stands for their survivor;
- the member's language (`MemberPreference`, default vi) picks the template, falling back to the
  default language; a channel named in `channels` without a template is recorded as skipped;
- the members, their preferences and the keys already used are read once per batch; for
  marketing, the members' rows are locked in primary-key order first, as `message_enqueue`
  locks its member, so that the daily cap holds against concurrent enqueues, and the marketing
  messages already going to them are counted in one grouped query per local day;
- a key already used writes nothing (counted as existing); a concurrent enqueue with the same
  key that commits first stands (the batch is planned again without it);
- the rows are written in the caller's transaction (COPY on PostgreSQL), and the pending ones
  handed to the sender after commit: one `notifications.send_messages` task per batch and send
  time, with the ETA `message_enqueue` would give each message; sends beyond the ETA horizon,
  and batches whose task is lost, are queued by the outbox sweeper, as for any message.

Speed comes from never building model instances or long IN lists: the members are a subquery
(or a short list of ids), rows are plain values, a template is compiled once per batch, and
each zone's and channel's send time is computed once."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from loyalty_site.core.dispatch import broker_publish, commit_callback
from loyalty_site.core.rows import rows_insert
from members.models import Member
from notifications.conf import notifications_setting
from notifications.models import MARKETING_EVENTS, Channel, MemberPreference, Message
from notifications.rules import EXISTING, Enqueue, Recipient, message_decide, recipient_facts
from notifications.selectors import member_values, member_zone, templates_active
from notifications.services.outbox import _checked_channels, _checked_context, _checked_event, _checked_key
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


class _BatchCounts:
    """The marketing messages going to each member of the batch on a local day (what
    `notifications.selectors.marketing_messages_on_day` counts), for the rule chain: one grouped
    query per distinct day, the first time a message of that day reaches the cap (one or two
    days in practice), then counted on in memory as the batch's messages are decided."""

    def __init__(self, recipients) -> None:
        self.recipients = recipients
        self.counts: dict[tuple[int, datetime.datetime], int] = {}
        self.days: set[datetime.datetime] = set()

    def _load(self, start: datetime.datetime, end: datetime.datetime) -> None:
        rows = (
            Message.objects.filter(
                member_id__in=self.recipients,
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
            self.counts[(member_id, start)] = n
        self.days.add(start)

    def count(self, member_id: int, day: tuple[datetime.datetime, datetime.datetime]) -> int:
        if day[0] not in self.days:
            self._load(*day)
        return self.counts.get((member_id, day[0]), 0)

    def add(self, member_id: int, day: tuple[datetime.datetime, datetime.datetime]) -> None:
        self.counts[(member_id, day[0])] = self.counts.get((member_id, day[0]), 0) + 1


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
    result = BulkMessages()
    templates = templates_active(event=event, variant=variant)
    enqueue = Enqueue.start(event=event, marketing=marketing, templates=templates, send_at=send_at, now=now)
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

        zones: dict[int | None, zoneinfo.ZoneInfo] = {}
        facts: dict[int, Recipient] = {}

        def drafts() -> tuple[list[dict], int]:
            """The rows to write, decided by the rule chain, and how many keys were already used."""
            used = _keys_used(recipient_ids, event=event, channels=wanted, keys=keys)
            sent = _BatchCounts(recipient_ids)
            rows: list[dict] = []
            existing = 0
            for member, language, values, key in plans:
                recipient = facts.get(member.pk)
                if recipient is None:
                    if member.home_store_id not in zones:
                        zones[member.home_store_id] = member_zone(member)
                    recipient = facts[member.pk] = recipient_facts(
                        member,
                        preferences.get(member.pk),
                        channels=wanted,
                        language=language,
                        zone=zones[member.home_store_id],
                    )
                for channel in wanted:
                    decision = message_decide(
                        enqueue=enqueue,
                        recipient=recipient,
                        channel=channel,
                        values=values,
                        dedupe_key=key,
                        key_used=bool(key) and (member.pk, channel, key) in used,
                        sent=sent,
                    )
                    if decision.outcome == EXISTING:
                        existing += 1
                        continue
                    rows.append(decision.row)
                    if key:
                        used.add((member.pk, channel, key))  # a survivor asked for twice
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
                # commit_callback: a partial Django can name when it logs a failure (else a 500).
                transaction.on_commit(commit_callback(_dispatch_many, message_ids, queued_at), robust=True)
    return result


def _dispatch_many(message_ids: list[int], due: datetime.datetime) -> None:
    from notifications.tasks import send_messages

    what = f"{len(message_ids)} messages"
    if due <= timezone.now():
        broker_publish(lambda: send_messages.delay(message_ids), what=what)
    else:
        broker_publish(lambda: send_messages.apply_async((message_ids,), eta=due), what=what)


def messages_withdraw(*, member_ids: list[int], event: str, dedupe_key: str, now: datetime.datetime) -> int:
    """Delete the messages `messages_enqueue_bulk` wrote in the current transaction (at `now`)
    for these members and key, e.g. when what they announce turned out to be refused before the
    commit. Returns how many pending ones were withdrawn (a send queued for them finds
    nothing)."""
    written = Message.objects.filter(member_id__in=member_ids, event=event, dedupe_key=dedupe_key, created_at=now)
    pending = written.filter(status=Status.PENDING).count()
    written.delete()
    return pending
