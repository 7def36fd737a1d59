"""The domain-event outbox: every change that matters outside the system is written as a
`DomainEvent` row in the same transaction as the change (issue 17), and delivered after commit
by whoever registered a dispatcher (the `webhooks` app), with a periodic sweep for what a dead
broker missed.

The API, for the services of every app:

    record_event(kind=EventKind.POINTS_EARNED, subject_type="ledger_entry", subject_id=entry.pk,
                 member_id=member.pk, payload={...}, occurred_at=entry.occurred_at)

- In the caller's transaction: a rolled-back change leaves no event; a committed one has
  exactly one. Outside a transaction the row is written at once (autocommit).
- `payload` is JSON (Decimal, datetime, date and UUID are written as strings by
  DjangoJSONEncoder); keep it to what a receiver needs (ids, codes, amounts), never secrets.
- `events_collected()`: a block whose events are written together by one `bulk_create` when it
  ends (the sale path: every event of a sale costs one statement in all). An exception inside
  the block drops them, as the transaction's rollback would.
- `record_events_bulk([...EventSpec])`: the set-based twin for the bulk services (expiry,
  evaluate_tiers, campaign issuing, imports): one INSERT per `BULK_CHUNK` events.

A new kind is a new `EventKind` member plus a line in docs/webhooks.md; receivers must ignore
kinds they do not know."""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import DomainEvent

logger = logging.getLogger("loyalty_site.events")

BULK_CHUNK = 1000


class EventKind(models.TextChoices):
    MEMBER_ENROLLED = "member.enrolled", _("Member enrolled")
    MEMBER_CHANGED = "member.changed", _("Member changed")
    POINTS_EARNED = "points.earned", _("Points earned")
    POINTS_SPENT = "points.spent", _("Points spent")
    POINTS_EXPIRED = "points.expired", _("Points expired")
    POINTS_ADJUSTED = "points.adjusted", _("Points adjusted")
    POINTS_REVERSED = "points.reversed", _("Points reversed (refund)")
    TIER_CHANGED = "tier.changed", _("Tier changed")
    VOUCHER_ISSUED = "voucher.issued", _("Voucher issued")
    VOUCHER_USED = "voucher.used", _("Voucher used")
    VOUCHER_VOIDED = "voucher.voided", _("Voucher voided")
    SALE_RECORDED = "sale.recorded", _("Sale recorded")
    SALE_REFUNDED = "sale.refunded", _("Sale refunded")
    ORDER_PLACED = "order.placed", _("Online order placed")
    ORDER_COMPLETED = "order.completed", _("Online order completed")
    ORDER_CANCELLED = "order.cancelled", _("Online order cancelled")
    CONSENT_CHANGED = "consent.changed", _("Consent changed")
    STORE_CREDIT_CHANGED = "store_credit.changed", _("Store credit changed")
    WEBHOOK_TEST = "webhook.test", _("Test event (sent by staff)")


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event to write (the arguments of `record_event`, for `record_events_bulk`)."""

    kind: str
    subject_type: str
    subject_id: object
    member_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime.datetime | None = None


def _row(spec: EventSpec, now: datetime.datetime) -> DomainEvent:
    if spec.kind not in EventKind.values:
        raise ValueError(f"unknown event kind {spec.kind!r}: add it to EventKind")
    return DomainEvent(
        uuid=uuid.uuid4(),
        kind=spec.kind,
        subject_type=spec.subject_type,
        subject_id=str(spec.subject_id),
        member_id=spec.member_id,
        payload=spec.payload,
        occurred_at=spec.occurred_at or now,
        created_at=now,
    )


# --- Collecting (one INSERT for a block's events) ---------------------------------------------

_local = threading.local()


def _collector() -> list[EventSpec] | None:
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def events_collected() -> Iterator[None]:
    """Events recorded inside the block are written together when it ends without an error
    (one `bulk_create`); nested inside another collecting block, they join the outer one. Must
    run inside the transaction of the change (the events are written before it commits).
    Only for a block that fails as a whole: an error caught inside it after a savepoint rolled
    back some of the work would leave that work's events collected (the sale and the refund
    catch none)."""
    stack = _local.__dict__.setdefault("stack", [])
    if stack:
        yield  # the outer block writes them
        return
    stack.append([])
    try:
        yield
    except BaseException:
        stack.pop()  # the change failed: its events go with it
        raise
    _insert(stack.pop())


# --- Writing ----------------------------------------------------------------------------------


def record_event(
    *,
    kind: str,
    subject_type: str,
    subject_id: object,
    member_id: int | None = None,
    payload: dict[str, Any] | None = None,
    occurred_at: datetime.datetime | None = None,
) -> None:
    """Write one event in the caller's transaction (see the module docstring); inside
    `events_collected()` it is written when that block ends."""
    spec = EventSpec(kind, subject_type, subject_id, member_id, payload or {}, occurred_at)
    collecting = _collector()
    if collecting is not None:
        if spec.kind not in EventKind.values:
            raise ValueError(f"unknown event kind {spec.kind!r}: add it to EventKind")
        collecting.append(spec)
        return
    _insert([spec])


def record_events_bulk(events: Iterable[EventSpec]) -> int:
    """The set-based twin of `record_event`: one INSERT per BULK_CHUNK events, in the caller's
    transaction. Returns how many were written."""
    specs = list(events)
    collecting = _collector()
    if collecting is not None:
        collecting.extend(specs)
        return len(specs)
    return _insert(specs)


def _insert(specs: list[EventSpec]) -> int:
    if not specs:
        return 0
    now = timezone.now()
    rows = [_row(spec, now) for spec in specs]
    DomainEvent.objects.bulk_create(rows, batch_size=BULK_CHUNK)
    _dispatch_after_commit()
    return len(rows)


def record_test_event(*, payload: dict[str, Any]) -> DomainEvent:
    """A `webhook.test` event, written already dispatched: it goes only to the endpoint staff
    send it to (the webhooks admin's "send test event"), never to every subscriber."""
    now = timezone.now()
    event = _row(EventSpec(EventKind.WEBHOOK_TEST, "webhook_test", "0", None, payload, now), now)
    event.dispatched_at = now
    event.save(force_insert=True)
    return event


def events_mark_dispatched(*, event_ids: Iterable[int]) -> int:
    """Mark events as fanned out to the webhook endpoints (the only change an event ever gets)."""
    ids = list(event_ids)
    if not ids:
        return 0
    return DomainEvent.objects.filter(pk__in=ids, dispatched_at__isnull=True).update(dispatched_at=timezone.now())


# --- Dispatching after commit -----------------------------------------------------------------

_dispatchers: list[Callable[[], None]] = []


def dispatcher_register(dispatcher: Callable[[], None]) -> None:
    """Have `dispatcher()` called after every commit that wrote events (once per transaction).
    The webhooks app registers its delivery here; a dispatcher must be cheap when there is
    nothing to deliver and must never raise into the committed request (it is run robustly)."""
    if dispatcher not in _dispatchers:
        _dispatchers.append(dispatcher)


def _events_committed() -> None:
    for dispatcher in list(_dispatchers):
        try:
            dispatcher()
        except Exception:  # the change is committed: its answer must not turn into a 500
            logger.exception("domain event dispatcher %r failed; the sweep will deliver", dispatcher)


def _dispatch_after_commit() -> None:
    if not _dispatchers:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _events_committed()
        return
    # Once per transaction, however many events it writes.
    if any(callback is _events_committed for _sids, callback, _robust in connection.run_on_commit):
        return
    transaction.on_commit(_events_committed, robust=True)
