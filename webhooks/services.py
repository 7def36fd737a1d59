"""Webhook endpoints and deliveries: the only writer of this app's tables (issue 17).

Flow: services of every app write `DomainEvent` rows in their own transactions
(`loyalty_site.core.events`). After such a commit `webhooks.dispatch` queues the
`webhooks.deliver` task; the beat task `webhooks.sweep` runs the same work every minute for what
a dead broker missed and for the retries that are due. `deliveries_run()`:
1. fans out: each event not yet dispatched becomes one pending delivery per active endpoint that
   subscribes to its kind and existed when the event was recorded, and is marked dispatched
   (also when no endpoint wants it), in one transaction (rows locked with
   SKIP LOCKED on PostgreSQL, so two workers never fan out one event twice);
2. claims the due deliveries (pending, due, endpoint active) by marking them `sending`;
3. POSTs each one (signed, short timeouts, redirects never followed, the address checked again)
   and records the attempt: success; or failure, with the next attempt as a new row due after an
   exponential back-off, until `WEBHOOK_RETRY_HOURS` after the first attempt (then abandoned).
   `WEBHOOK_DISABLE_AFTER_FAILURES` failed attempts in a row disable the endpoint, with a banner
   in the admin (`webhooks.context_processors`) until staff switch it on again.
A claim older than `CLAIM_STALE` (a worker killed mid-request) is put back by the sweep."""

from __future__ import annotations

import datetime
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter

from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.events import EventKind, events_mark_dispatched, record_test_event
from loyalty_site.core.models import DomainEvent
from webhooks.dispatch import active_cache_clear
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.security import url_check, url_refusal
from webhooks.signing import secret_generate, signature

logger = logging.getLogger("webhooks")

Status = WebhookDelivery.Status
FAN_OUT_BATCH = 500
CLAIM_BATCH = 100
CLAIM_STALE = datetime.timedelta(minutes=5)
EXCERPT_BYTES = 2048
USER_AGENT = "loyalty-webhooks/1"

SUBSCRIBABLE = [kind for kind in EventKind.values if kind != EventKind.WEBHOOK_TEST]


# --- Endpoints --------------------------------------------------------------------------------


def _kinds_checked(event_kinds) -> list[str]:
    kinds = sorted(set(event_kinds or []))
    unknown = [kind for kind in kinds if kind not in SUBSCRIBABLE]
    if unknown:
        raise ValidationFailed(
            errors={"event_kinds": [_("Unknown event kind: %(kinds)s.") % {"kinds": ", ".join(unknown)}]}
        )
    return kinds


def _name_checked(name) -> str:
    name = " ".join(str(name or "").split())
    if not name or len(name) > 100:
        raise ValidationFailed(errors={"name": [_("Give the endpoint a name of 1 to 100 characters.")]})
    return name


def endpoint_create(
    *, name: str, url: str, event_kinds=None, is_active: bool = True, by=None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint with a generated signing secret, returned once (the admin shows it once).
    Refused with nothing written: ValidationFailed for a blank name, a URL that is not http(s) or
    not public (`webhooks.security`), an unknown event kind."""
    endpoint = WebhookEndpoint(
        name=_name_checked(name),
        url=url_check(url),
        event_kinds=_kinds_checked(event_kinds),
        is_active=bool(is_active),
        secret=secret_generate(),
        created_by=by,
    )
    endpoint.save(force_insert=True)
    transaction.on_commit(active_cache_clear)
    return endpoint, endpoint.secret


def endpoint_update(
    *, endpoint: WebhookEndpoint, name: str, url: str, event_kinds=None, is_active: bool
) -> WebhookEndpoint:
    """Change an endpoint (same refusals as `endpoint_create`). Switching a disabled endpoint on
    again clears its failures and the admin's alert; its pending deliveries then go out."""
    fields = {"name": _name_checked(name), "url": url_check(url), "event_kinds": _kinds_checked(event_kinds)}
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        for field, value in fields.items():
            setattr(locked, field, value)
        if is_active and not locked.is_active:
            locked.failure_count = 0
            locked.disabled_at = None
            locked.disabled_reason = ""
        locked.is_active = bool(is_active)
        locked.save()
    active_cache_clear()
    return locked


def endpoint_secret_rotate(*, endpoint: WebhookEndpoint) -> str:
    """A new signing secret, returned once; deliveries from now on are signed with it."""
    secret = secret_generate()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=secret, updated_at=timezone.now())
    endpoint.secret = secret
    return secret


def endpoint_send_test(*, endpoint: WebhookEndpoint, by=None) -> WebhookDelivery:
    """Send a `webhook.test` event to this endpoint only (delivered like any other, after
    commit; retried the same way)."""
    with transaction.atomic():
        event = record_test_event(
            payload={"endpoint": endpoint.name, "sent_by": getattr(by, "username", ""), "message": "test"}
        )
        delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint)
    _deliver_soon()
    return delivery


def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Deliver the event of `delivery` to its endpoint again, as a new first attempt (staff's
    "replay"): whatever became of the earlier attempts, the receiver gets it once more."""
    now = timezone.now()
    replay = WebhookDelivery.objects.create(
        event_id=delivery.event_id,
        endpoint_id=delivery.endpoint_id,
        first_attempt_at=now,
        next_attempt_at=now,
        replay_of=delivery,
    )
    _deliver_soon()
    return replay


def _deliver_soon() -> None:
    from loyalty_site.core.dispatch import task_enqueue_after_commit
    from webhooks.tasks import deliver

    task_enqueue_after_commit(deliver)


# --- Fan-out and claims -----------------------------------------------------------------------


def _skip_locked(queryset):
    if connection.features.has_select_for_update_skip_locked:
        # `of=self`: a claim joins the endpoint, whose row must not be locked (a second worker
        # would then skip every delivery of that endpoint instead of sharing them).
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset  # SQLite: writers are serialised by the database (BEGIN IMMEDIATE)


def events_fan_out(*, batch: int | None = None) -> int:
    """One batch of undispatched events, oldest first, becomes pending deliveries (see the
    module docstring); returns how many events were dispatched."""
    now = timezone.now()
    with transaction.atomic():
        events = list(
            _skip_locked(DomainEvent.objects.filter(dispatched_at__isnull=True).order_by("pk")).values_list(
                "pk", "kind", "created_at"
            )[: batch or FAN_OUT_BATCH]
        )
        if not events:
            return 0
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    event_id=pk, endpoint=endpoint, first_attempt_at=now, next_attempt_at=now, created_at=now
                )
                for pk, kind, created_at in events
                for endpoint in endpoints
                # An endpoint receives the events recorded after it was set up, never the past.
                if endpoint.wants(kind) and created_at >= endpoint.created_at
            ],
            batch_size=1000,
        )
        events_mark_dispatched(event_ids=[pk for pk, _kind, _at in events])
    return len(events)


def deliveries_claim(*, batch: int | None = None) -> list[int]:
    """Mark up to `batch` due deliveries as being sent; their ids, oldest first."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            _skip_locked(
                WebhookDelivery.objects.filter(
                    status=Status.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
                ).order_by("next_attempt_at", "pk")
            ).values_list("pk", flat=True)[: batch or CLAIM_BATCH]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids, status=Status.PENDING).update(
                status=Status.SENDING, claimed_at=now
            )
    return ids


def deliveries_unclaim_stale() -> int:
    """Put back the claims of a worker that died mid-request."""
    return WebhookDelivery.objects.filter(status=Status.SENDING, claimed_at__lt=timezone.now() - CLAIM_STALE).update(
        status=Status.PENDING, claimed_at=None
    )


@dataclass
class RunResult:
    dispatched: int = 0
    attempted: int = 0
    succeeded: int = 0


def deliveries_run(*, seconds: float = 50.0) -> RunResult:
    """Fan out and deliver what is due, for at most about `seconds` (a task stays short)."""
    result = RunResult()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        dispatched = events_fan_out()
        result.dispatched += dispatched
        ids = deliveries_claim()
        result.attempted += len(ids)
        result.succeeded += deliveries_send(delivery_ids=ids)
        if not ids and not dispatched:
            break
    return result


def deliveries_sweep() -> RunResult:
    deliveries_unclaim_stale()
    return deliveries_run()


# --- One attempt ------------------------------------------------------------------------------

_session = requests.Session()
# One pooled keep-alive connection per sending thread and host.
_session.mount("http://", HTTPAdapter(pool_maxsize=32))
_session.mount("https://", HTTPAdapter(pool_maxsize=32))


def event_body(event: DomainEvent) -> bytes:
    """The JSON body of every delivery of `event` (docs/webhooks.md)."""
    document = {
        "id": str(event.uuid),
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "created_at": event.created_at,
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "member_id": event.member_id,
        "data": event.payload,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()


def _headers(delivery: WebhookDelivery, event: DomainEvent, body: bytes, secret: str) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Loyalty-Event": event.kind,
        "X-Loyalty-Event-Id": str(event.uuid),
        "X-Loyalty-Delivery": str(delivery.pk),
        "X-Loyalty-Timestamp": str(timestamp),
        "X-Loyalty-Signature": signature(secret, timestamp, body),
    }


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, str]:
    """(status code, response excerpt, error)."""
    refusal = url_refusal(url)
    if refusal is not None:
        return None, "", refusal
    try:
        response = _session.post(
            url,
            data=body,
            headers=headers,
            timeout=(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, settings.WEBHOOK_TIMEOUT_SECONDS),
            allow_redirects=False,  # never followed, to another host or any other
            stream=True,
        )
    except requests.RequestException as exc:
        return None, "", f"{type(exc).__name__}: {exc}"[:300]
    try:
        excerpt = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
    except (requests.RequestException, OSError, ValueError):
        excerpt = b""
    finally:
        response.close()
    return response.status_code, excerpt.decode("utf-8", "replace")[:500], ""


def retry_delay(attempt: int) -> datetime.timedelta:
    """After the `attempt`-th failure: base × 2^(attempt-1), at most 6 hours."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** min(attempt - 1, 20)
    return datetime.timedelta(seconds=min(seconds, 6 * 3600))


@dataclass
class Outcome:
    delivery: WebhookDelivery
    ok: bool
    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int


def _send(delivery: WebhookDelivery) -> Outcome:
    """The HTTP part of an attempt (no database: it runs in the sending threads)."""
    endpoint, event = delivery.endpoint, delivery.event
    body = event_body(event)
    started = time.perf_counter()
    status_code, excerpt, error = _post(endpoint.url, body, _headers(delivery, event, body, endpoint.secret))
    duration_ms = round((time.perf_counter() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    if not ok and not error:
        error = _("The receiver answered HTTP %(status)s.") % {"status": status_code}
    return Outcome(delivery, ok, status_code, excerpt, error, duration_ms)


def deliveries_send(*, delivery_ids: list[int]) -> int:
    """Send claimed deliveries, `WEBHOOK_DELIVERY_CONCURRENCY` at a time (threads that only do
    HTTP), then record every attempt: the successes with one UPDATE, each failure with its
    retry. Returns how many succeeded. Deliveries of one endpoint may then arrive out of order
    (docs/webhooks.md: receivers order by `occurred_at` and deduplicate on the event id)."""
    deliveries = list(
        WebhookDelivery.objects.select_related("event", "endpoint")
        .filter(pk__in=delivery_ids, status=Status.SENDING)
        .order_by("pk")
    )
    if not deliveries:
        return 0
    workers = max(1, min(settings.WEBHOOK_DELIVERY_CONCURRENCY, len(deliveries)))
    if workers == 1:
        outcomes = [_send(delivery) for delivery in deliveries]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(_send, deliveries))
    succeeded = [outcome for outcome in outcomes if outcome.ok]
    _successes_record(succeeded)
    for outcome in outcomes:
        if not outcome.ok:
            _failure_record(
                outcome.delivery,
                status_code=outcome.status_code,
                excerpt=outcome.excerpt,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
    return len(succeeded)


def delivery_attempt(*, delivery_id: int) -> bool:
    """Send one claimed delivery and record the attempt; True when the receiver answered 2xx."""
    return deliveries_send(delivery_ids=[delivery_id]) == 1


def _successes_record(outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    now = timezone.now()
    rows = []
    for outcome in outcomes:
        row = outcome.delivery
        row.status, row.attempted_at, row.status_code = Status.SUCCEEDED, now, outcome.status_code
        row.response_excerpt, row.error, row.duration_ms = outcome.excerpt, "", outcome.duration_ms
        rows.append(row)
    endpoints = {outcome.delivery.endpoint_id: outcome.delivery.endpoint for outcome in outcomes}
    stale = now - datetime.timedelta(minutes=1)
    with transaction.atomic():
        WebhookDelivery.objects.bulk_update(
            rows, ["status", "attempted_at", "status_code", "response_excerpt", "error", "duration_ms"]
        )
        for endpoint in endpoints.values():
            # Most successes write nothing more: only a failure streak to end, or an old "last success".
            if endpoint.failure_count or endpoint.last_success_at is None or endpoint.last_success_at < stale:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failure_count=0, last_success_at=now)


def _failure_record(delivery: WebhookDelivery, *, status_code, excerpt: str, error: str, duration_ms: int) -> None:
    now = timezone.now()
    endpoint = delivery.endpoint
    fields = {
        "attempted_at": now,
        "status_code": status_code,
        "response_excerpt": excerpt,
        "error": error[:300],
        "duration_ms": duration_ms,
    }
    with transaction.atomic():
        due = now + retry_delay(delivery.attempt)
        retried = due <= delivery.first_attempt_at + datetime.timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.FAILED if retried else Status.ABANDONED, **fields
        )
        if retried:
            WebhookDelivery.objects.create(
                event_id=delivery.event_id,
                endpoint_id=endpoint.pk,
                attempt=delivery.attempt + 1,
                first_attempt_at=delivery.first_attempt_at,
                next_attempt_at=due,
                replay_of=delivery.replay_of,
                created_at=now,
            )
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failure_count=F("failure_count") + 1)
        failures = WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("failure_count", flat=True).get()
        if failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES:
            reason = _("%(count)d failed deliveries in a row; the last: %(error)s") % {
                "count": failures,
                "error": error,
            }
            disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
                is_active=False, disabled_at=now, disabled_reason=reason[:300]
            )
            if disabled:
                logger.error("webhook endpoint %s (%s) disabled: %s", endpoint.pk, endpoint.name, reason)
