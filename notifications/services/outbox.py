"""The outbox: enqueueing, sending, retrying, sweeping and resending messages.

Life of a message: `message_enqueue` writes it (pending, or skipped with the reason) in the
caller's transaction and, after commit, queues the `notifications.send_message` task;
`message_send` claims it with one atomic UPDATE (pending -> sending, attempts + 1), sends it
through the channel's backend outside any transaction, and records the outcome only if its
claim still holds (`attempts` is the claim token). A transient failure puts it back to pending
with an exponential backoff; a permanent one, or the last attempt, fails it. `outbox_sweep`
(every minute) queues due messages whose task was lost and takes back claims of workers that
died."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.dispatch import broker_publish, commit_callback
from members.models import Member
from members.selectors import member_resolve
from members.services import members_lock
from notifications.channels import (
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
    channel_backend,
)
from notifications.conf import notifications_setting
from notifications.errors import MessageNotResendable
from notifications.models import MARKETING_EVENTS, URGENT_EVENTS, Channel, Event, Message
from notifications.rendering import PLACEHOLDERS
from notifications.rules import EXISTING, Enqueue, Recipient, message_decide, queued_for, recipient_facts
from notifications.selectors import (
    marketing_messages_on_day,
    member_language,
    member_preference,
    member_values,
    member_zone,
    programme_zone,
    templates_active,
)
from notifications.timing import quiet_hours_release, retry_delay
from notifications.unsubscribe import unsubscribe_url

logger = logging.getLogger("notifications.outbox")

Status = Message.Status
SkipReason = Message.SkipReason


# --- Dispatching --------------------------------------------------------------------------------


def _dispatch(message_id: int, due: datetime.datetime) -> None:
    from notifications.tasks import send_message

    # A broker that is down: logged, and the sweeper queues the message again later.
    if due <= timezone.now():
        broker_publish(lambda: send_message.delay(message_id), what=f"message {message_id}")
    else:
        broker_publish(lambda: send_message.apply_async((message_id,), eta=due), what=f"message {message_id}")


def _dispatch_after_commit(message_id: int, due: datetime.datetime) -> None:
    # robust: a broker that is down must not fail the caller's committed work; the sweeper
    # queues the message again later.
    # commit_callback, not a bare functools.partial: Django's log of a failed robust callback reads
    # its __qualname__, and the AttributeError escaped as a 500 after the commit.
    transaction.on_commit(commit_callback(_dispatch, message_id, due), robust=True)


# --- Enqueueing ---------------------------------------------------------------------------------


def _checked_event(event: str) -> str:
    if event not in Event.values:
        raise ValueError(f"unknown notification event {event!r}; one of {Event.values}")
    return str(event)


def _checked_context(context: dict | None) -> dict:
    context = dict(context or {})
    unknown = sorted(set(context) - set(PLACEHOLDERS))
    if unknown:
        raise ValueError(f"unknown placeholder values {unknown}; the placeholders are {sorted(PLACEHOLDERS)}")
    return context


def _checked_channels(channels: Iterable[str] | None) -> list[str] | None:
    if channels is None:
        return None
    channels = list(dict.fromkeys(channels))
    unknown = [c for c in channels if c not in Channel.values]
    if unknown:
        raise ValueError(f"unknown channels {unknown}; one of {Channel.values}")
    return channels


def _checked_key(dedupe_key: str | None) -> str:
    dedupe_key = (dedupe_key or "").strip()
    if len(dedupe_key) > 200:
        raise ValueError("dedupe_key is longer than 200 characters")
    return dedupe_key


class _StoredCounts:
    """What `message_enqueue` knows of a member's marketing messages on a day: a count in the
    database each time (the member's row is locked, and each message is written before the
    next channel is decided, so the count includes it)."""

    def __init__(self, member: Member) -> None:
        self.member = member

    def count(self, member_id: int, day: tuple[datetime.datetime, datetime.datetime]) -> int:
        return marketing_messages_on_day(member=self.member, start=day[0], end=day[1])

    def add(self, member_id: int, day: tuple[datetime.datetime, datetime.datetime]) -> None:
        pass


def message_enqueue(
    *,
    member: Member,
    event: str,
    context: dict | None = None,
    send_at: datetime.datetime | None = None,
    channels: Iterable[str] | None = None,
    marketing: bool | None = None,
    dedupe_key: str | None = None,
    variant: str = "",
    now: datetime.datetime | None = None,
) -> list[Message]:
    """Write the messages for `event` to `member`, one per channel, in the caller's
    transaction, and send them after commit (at `send_at` if later). Returns the messages,
    pending or skipped; see the `notifications.services` docstring for every argument."""
    event = _checked_event(event)
    context = _checked_context(context)
    wanted = _checked_channels(channels)
    dedupe_key = _checked_key(dedupe_key)
    now = now or timezone.now()
    member = member_resolve(member)
    if marketing is None:
        marketing = event in MARKETING_EVENTS
    preference = member_preference(member)
    language = member_language(member, preference)
    templates = templates_active(event=event, variant=variant)
    if wanted is None:
        wanted = [c for c in Channel.values if any(channel == c for channel, _lang in templates)]
    enqueue = Enqueue.start(event=event, marketing=marketing, templates=templates, send_at=send_at, now=now)
    values = {**member_values(member), **{k: v for k, v in context.items() if v is not None}}

    messages: list[Message] = []
    with transaction.atomic():
        if marketing and wanted:
            # Serialises concurrent enqueues for this member, so the daily cap holds; and the
            # locked row is the truth about the member's status and consents.
            locked = members_lock(member_ids=[member.pk])[member.pk]
            locked.home_store = member.home_store
            member = locked
        recipient = recipient_facts(member, preference, channels=wanted, language=language, zone=member_zone(member))
        sent = _StoredCounts(member)
        for channel in wanted:
            existing = None
            if dedupe_key:
                existing = Message.objects.filter(
                    member=member, event=event, channel=channel, dedupe_key=dedupe_key
                ).first()
            decision = message_decide(
                enqueue=enqueue,
                recipient=recipient,
                channel=channel,
                values=values,
                dedupe_key=dedupe_key,
                key_used=existing is not None,
                sent=sent,
            )
            if decision.outcome == EXISTING:
                messages.append(existing)
                continue
            row = dict(decision.row)
            del row["member_id"], row["template_id"]
            template = enqueue.template(channel, language)
            message = Message(member=member, template=template.template if template else None, **row)
            try:
                # No full_clean(): every field was computed above from checked input, and the
                # database enforces what matters under concurrency (the dedupe key, the checks);
                # a campaign enqueues thousands of these.
                with transaction.atomic():
                    message.save(force_insert=True)
            except IntegrityError:
                if not dedupe_key:
                    raise
                # Enqueued by a concurrent caller with the same key: theirs stands.
                messages.append(Message.objects.get(member=member, event=event, channel=channel, dedupe_key=dedupe_key))
                continue
            if message.queued_at is not None:
                _dispatch_after_commit(message.pk, message.queued_at)
            messages.append(message)
    return messages


def message_enqueue_first(
    *,
    member: Member,
    event: str,
    context: dict,
    channels: Iterable[str],
    dedupe_key: str,
    now: datetime.datetime | None = None,
) -> Message | None:
    """One transactional message for `event` on the first of `channels` that can carry it (the
    others are tried in order while one is skipped); the pending message, or None when no
    channel can. For the one-time codes: one message, never two."""
    for channel in channels:
        messages = message_enqueue(
            member=member,
            event=event,
            context=context,
            channels=[channel],
            marketing=False,
            dedupe_key=dedupe_key,
            now=now,
        )
        pending = [m for m in messages if m.status == Status.PENDING]
        if pending:
            return pending[0]
    return None


class _NothingSent:
    """A phone that is not a member has no marketing count (its messages are transactional)."""

    def count(self, member_id, day) -> int:
        return 0

    def add(self, member_id, day) -> None:
        pass


def message_enqueue_to_phone(
    *,
    phone: str,
    event: str,
    context: dict | None = None,
    language: str = "",
    now: datetime.datetime | None = None,
) -> Message:
    """Write one transactional SMS for `event` to `phone` (E.164), a number that belongs to no
    member, in the caller's transaction, and send it after commit. Only for the sign-in code
    that proves a phone before its owner enrols on the member pages: the same rules as
    `message_enqueue` (templates, missing data, quiet hours for non-urgent events), with no
    member, so no consent, block or daily cap to apply. Returns the message, pending or skipped
    (no template, missing data)."""
    event = _checked_event(event)
    context = _checked_context(context)
    now = now or timezone.now()
    templates = templates_active(event=event)
    enqueue = Enqueue.start(event=event, marketing=False, templates=templates, send_at=None, now=now)
    recipient = Recipient(
        member_id=None,
        blocked=False,
        consents={Channel.SMS: None},
        addresses={Channel.SMS: phone},
        language=language or notifications_setting("DEFAULT_LANGUAGE"),
        zone=programme_zone(),
    )
    decision = message_decide(
        enqueue=enqueue,
        recipient=recipient,
        channel=Channel.SMS,
        values={k: v for k, v in context.items() if v is not None},
        dedupe_key="",
        key_used=False,
        sent=_NothingSent(),
    )
    row = dict(decision.row)
    del row["member_id"], row["template_id"]
    template = enqueue.template(Channel.SMS, recipient.language)
    with transaction.atomic():
        message = Message.objects.create(member=None, template=template.template if template else None, **row)
        if message.queued_at is not None:
            _dispatch_after_commit(message.pk, message.queued_at)
    return message


# --- Sending ------------------------------------------------------------------------------------


def _outgoing(message: Message) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=message.pk,
        channel=message.channel,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        zns_template_id=message.zns_template_id,
        zns_params=dict(message.zns_params or {}),
        language=message.language,
        tracking_id=f"loyalty-msg-{message.pk}",
        unsubscribe_url=(
            unsubscribe_url(member_id=message.member_id, channel=message.channel) if message.marketing else ""
        ),
    )


def _finish(message: Message, attempt: int, **fields) -> bool:
    """Record the outcome of attempt `attempt`, only if this worker's claim still holds."""
    updated = Message.objects.filter(pk=message.pk, status=Status.SENDING, attempts=attempt).update(
        **fields, updated_at=timezone.now()
    )
    if not updated:
        logger.warning("message %s: claim of attempt %s was taken back before it finished", message.pk, attempt)
    return bool(updated)


def _send_time_skip_reason(message: Message) -> str | None:
    """Marketing rules that may have changed since the message was enqueued."""
    if not message.marketing:
        return None
    member = Member.objects.get(pk=message.member_id)
    if member.status == Member.Status.BLOCKED:
        return SkipReason.MEMBER_BLOCKED
    if member.consent_given_at(message.channel) is None:
        return SkipReason.NO_CONSENT
    return None


def message_send(*, message_id: int, now: datetime.datetime | None = None) -> Message | None:
    """Send one message if it is pending and due. Safe to call any number of times, from any
    number of workers at once: only the worker whose claim succeeds sends."""
    clock_given = now is not None
    now = now or timezone.now()
    message = Message.objects.select_related("member__home_store").filter(pk=message_id).first()
    if message is None or message.status != Status.PENDING or message.scheduled_at > now:
        return message
    zone = member_zone(message.member) if message.member_id else programme_zone()
    release = now if message.event in URGENT_EVENTS else quiet_hours_release(now, zone, message.channel)
    if release > now:
        # Due during quiet hours (a retry, a late sweep): wait for the morning.
        queued = queued_for(release, now)
        if (
            Message.objects.filter(pk=message.pk, status=Status.PENDING).update(
                scheduled_at=release, queued_at=queued, updated_at=now
            )
            and queued is not None
        ):
            _dispatch_after_commit(message.pk, queued)
        message.refresh_from_db()
        return message

    claimed = Message.objects.filter(pk=message.pk, status=Status.PENDING, scheduled_at__lte=now).update(
        status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        message.refresh_from_db()
        return message
    message.refresh_from_db()
    attempt = message.attempts

    reason = _send_time_skip_reason(message)
    if reason is not None:
        _finish(message, attempt, status=Status.SKIPPED, skip_reason=reason)
        message.refresh_from_db()
        return message

    try:
        result = channel_backend(message.channel).send(_outgoing(message))
    except PermanentSendError as exc:
        _finish(message, attempt, status=Status.FAILED, last_error=exc.reason)
    except TransientSendError as exc:
        _retry_or_fail(message, attempt, exc.reason, zone=zone, now=now if clock_given else None)
    except Exception as exc:  # a broken backend must not leave the claim behind
        logger.exception("message %s: the %s backend raised", message.pk, message.channel)
        reason = f"{exc.__class__.__name__}: {exc}"
        _retry_or_fail(message, attempt, reason, zone=zone, now=now if clock_given else None)
    else:
        _finish(
            message,
            attempt,
            status=Status.SENT,
            sent_at=now if clock_given else timezone.now(),
            provider_message_id=result.provider_message_id[:100],
            last_error="",
        )
    message.refresh_from_db()
    return message


def _retry_or_fail(message: Message, attempt: int, reason: str, *, zone, now: datetime.datetime | None) -> None:
    now = now or timezone.now()
    max_attempts = notifications_setting("MAX_ATTEMPTS")
    if attempt >= max_attempts:
        _finish(
            message,
            attempt,
            status=Status.FAILED,
            last_error=f"{reason} (gave up after {attempt} attempts)",
        )
        return
    retry_at = quiet_hours_release(now + retry_delay(attempt), zone, message.channel)
    queued = queued_for(retry_at, now)
    kept = _finish(message, attempt, status=Status.PENDING, scheduled_at=retry_at, queued_at=queued, last_error=reason)
    if kept and queued is not None:
        _dispatch_after_commit(message.pk, queued)


# --- Sweeping and resending ---------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    reclaimed: int
    failed: int
    dispatched: int


def outbox_sweep(*, now: datetime.datetime | None = None) -> SweepResult:
    """Take back claims of workers that died, and queue every due pending message whose task
    never ran (a broker outage, a lost ETA, a send time beyond the ETA horizon). Set-based;
    queues at most NOTIFICATIONS_SWEEP_BATCH messages per run, oldest first."""
    now = now or timezone.now()
    stale = Message.objects.filter(
        status=Status.SENDING,
        claimed_at__lt=now - datetime.timedelta(seconds=notifications_setting("CLAIM_TIMEOUT_SECONDS")),
    )
    max_attempts = notifications_setting("MAX_ATTEMPTS")
    lost = "The worker sending it stopped before finishing."
    failed = stale.filter(attempts__gte=max_attempts).update(
        status=Status.FAILED, last_error=f"{lost} (gave up after {max_attempts} attempts)", updated_at=now
    )
    reclaimed = stale.filter(attempts__lt=max_attempts).update(
        status=Status.PENDING, scheduled_at=now, queued_at=None, last_error=lost, updated_at=now
    )
    redispatch_before = now - datetime.timedelta(seconds=notifications_setting("REDISPATCH_AFTER_SECONDS"))
    due_ids = list(
        Message.objects.filter(status=Status.PENDING, scheduled_at__lte=now)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=redispatch_before))
        .order_by("scheduled_at", "pk")
        .values_list("pk", flat=True)[: notifications_setting("SWEEP_BATCH")]
    )
    if due_ids:
        Message.objects.filter(pk__in=due_ids, status=Status.PENDING).update(queued_at=now)
    dispatched = 0
    for message_id in due_ids:
        try:
            _dispatch(message_id, now)
        except DatabaseError:
            raise
        except Exception:  # the broker is down: the next sweep tries again
            logger.exception("outbox sweep: could not queue message %s", message_id)
            break
        dispatched += 1
    if reclaimed or failed or dispatched:
        logger.info("outbox sweep: %s reclaimed, %s failed, %s queued", reclaimed, failed, dispatched)
    return SweepResult(reclaimed=reclaimed, failed=failed, dispatched=dispatched)


def message_resend(*, message: Message, now: datetime.datetime | None = None) -> Message:
    """Send a failed message again, from a fresh count of attempts. Anything else is refused
    (MessageNotResendable) and left unchanged."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, status=Status.FAILED).update(
            status=Status.PENDING,
            attempts=0,
            scheduled_at=now,
            queued_at=now,
            claimed_at=None,
            last_error="",
            updated_at=now,
        )
        if not updated:
            status = Message.objects.filter(pk=message.pk).values_list("status", flat=True).first()
            raise MessageNotResendable(
                _("Message %(id)s is %(status)s: only failed messages can be sent again.")
                % {"id": message.pk, "status": Status(status).label if status else "?"}
            )
        _dispatch_after_commit(message.pk, now)
    message.refresh_from_db()
    return message
