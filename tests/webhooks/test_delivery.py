"""Issue 17: delivery to a real receiver (an http.server in a thread) that checks the signature:
retries after a 500 are seen and logged, replay, back-off window, disable after repeated
failure with the admin's alert, SSRF refusals at save and at delivery, redirects not followed,
and a sale's events delivered after its commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from loyalty_site.core.events import EventKind, record_event
from loyalty_site.core.models import DomainEvent
from tests.factories import MemberFactory
from tests.pos.conftest import post
from tests.webhooks.receiver import receiver_running
from webhooks.dispatch import active_cache_clear
from webhooks.models import WebhookDelivery
from webhooks.security import url_refusal
from webhooks.services import (
    deliveries_run,
    deliveries_sweep,
    delivery_replay,
    endpoint_create,
    endpoint_send_test,
    endpoint_update,
    retry_delay,
)

pytestmark = pytest.mark.django_db(transaction=True)
Status = WebhookDelivery.Status


@pytest.fixture(autouse=True)
def _fresh_dispatch_cache():
    active_cache_clear()
    yield
    active_cache_clear()


@pytest.fixture
def receiver():
    with receiver_running() as running:
        yield running


def _endpoint(receiver, **kwargs):
    endpoint, secret = endpoint_create(name="CRM", url=receiver.url, **kwargs)
    receiver.secret = secret
    return endpoint


def _committed_event(member_id: int = 7) -> None:
    with transaction.atomic():
        record_event(
            kind=EventKind.POINTS_EARNED,
            subject_type="ledger_entry",
            subject_id=member_id,
            member_id=member_id,
            payload={"points": 5},
        )


def test_delivered_after_commit_signed_with_the_documented_headers(receiver):
    endpoint = _endpoint(receiver)
    _committed_event()  # eager Celery: delivered by the after-commit task
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.signature_ok
    assert got.headers["X-Loyalty-Event"] == "points.earned"
    event = DomainEvent.objects.get(kind="points.earned")
    assert got.json["id"] == str(event.uuid) == got.headers["X-Loyalty-Event-Id"]
    assert got.json["data"] == {"points": 5} and got.json["member_id"] == 7
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert got.headers["X-Loyalty-Delivery"] == str(delivery.pk)
    assert delivery.status == Status.SUCCEEDED and delivery.status_code == 200 and delivery.duration_ms is not None
    assert DomainEvent.objects.get(pk=event.pk).dispatched_at is not None


def test_a_rolled_back_change_sends_nothing(receiver):
    _endpoint(receiver)
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(kind=EventKind.POINTS_EARNED, subject_type="ledger_entry", subject_id=1)
        raise RuntimeError
    deliveries_sweep()
    assert receiver.received == [] and not DomainEvent.objects.exists()


def test_a_500_is_retried_and_every_attempt_logged(receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0  # the retry is due at once
    endpoint = _endpoint(receiver)
    receiver.statuses = [500]
    _committed_event()
    assert [r.signature_ok for r in receiver.received] == [True, True]
    assert receiver.received[0].json["id"] == receiver.received[1].json["id"]  # the same event
    assert receiver.received[0].headers["X-Loyalty-Delivery"] != receiver.received[1].headers["X-Loyalty-Delivery"]
    attempts = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("attempt"))
    assert [(a.attempt, a.status, a.status_code) for a in attempts] == [
        (1, Status.FAILED, 500),
        (2, Status.SUCCEEDED, 200),
    ]
    assert attempts[0].response_excerpt == "receiver says no" and "500" in attempts[0].error
    endpoint.refresh_from_db()
    assert endpoint.failure_count == 0 and endpoint.is_active


def test_the_next_attempt_waits_for_its_back_off(receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    endpoint = _endpoint(receiver)
    receiver.statuses = [500]
    _committed_event()
    deliveries_run()
    assert len(receiver.received) == 1  # the retry is not due yet
    retry = WebhookDelivery.objects.get(endpoint=endpoint, attempt=2)
    failed = WebhookDelivery.objects.get(endpoint=endpoint, attempt=1)
    assert retry.status == Status.PENDING
    assert 29 <= (retry.next_attempt_at - failed.attempted_at).total_seconds() <= 31
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 30)] == [30, 60, 120, 6 * 3600]


def test_given_up_after_the_retry_window(receiver, settings):
    settings.WEBHOOK_RETRY_HOURS = 0
    endpoint = _endpoint(receiver)
    receiver.statuses = [500]
    _committed_event()
    assert [(d.attempt, d.status) for d in WebhookDelivery.objects.filter(endpoint=endpoint)] == [(1, Status.ABANDONED)]


def test_replay_delivers_the_event_again(receiver):
    endpoint = _endpoint(receiver)
    _committed_event()
    first = WebhookDelivery.objects.get(endpoint=endpoint)
    replay = delivery_replay(delivery=first)  # outside a transaction: queued and run at once (eager)
    assert len(receiver.received) == 2 and receiver.received[1].json == receiver.received[0].json
    replay.refresh_from_db()
    assert replay.status == Status.SUCCEEDED and replay.replay_of_id == first.pk and replay.attempt == 1


def test_test_event_goes_to_that_endpoint_only(receiver):
    endpoint = _endpoint(receiver)
    with receiver_running() as other:
        _, other.secret = endpoint_create(name="Other", url=other.url)
        endpoint_send_test(endpoint=endpoint)
        assert other.received == []
    assert receiver.kinds() == ["webhook.test"] and receiver.received[0].signature_ok


def test_endpoint_gets_only_its_kinds_and_only_events_after_it_was_set_up(receiver):
    _committed_event(member_id=1)  # before any endpoint
    _endpoint(receiver, event_kinds=["sale.recorded"])
    _committed_event(member_id=2)
    deliveries_sweep()
    assert receiver.received == []
    assert not DomainEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_disabled_after_repeated_failures_with_an_alert_then_switched_on_again(receiver, settings, admin_client):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    endpoint = _endpoint(receiver)
    receiver.statuses = [500] * 10
    _committed_event()
    assert len(receiver.received) == 3
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None and "3" in endpoint.disabled_reason
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).count() == 1  # kept
    page = admin_client.get("/admin/")
    assert b'id="webhook-alert"' in page.content and b"CRM" in page.content

    receiver.statuses = []
    endpoint_update(endpoint=endpoint, name="CRM", url=receiver.url, event_kinds=[], is_active=True)
    deliveries_sweep()
    assert len(receiver.received) == 4 and receiver.received[-1].signature_ok
    assert b'id="webhook-alert"' not in admin_client.get("/admin/").content


def test_redirects_are_not_followed(receiver):
    endpoint = _endpoint(receiver)
    receiver.statuses = [302]
    _committed_event()
    first = WebhookDelivery.objects.get(endpoint=endpoint, attempt=1)
    assert first.status == Status.FAILED and first.status_code == 302
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://user:pw@93.184.216.34/hook",
        "http:///nohost",
    ],
)
def test_private_or_odd_addresses_are_refused_in_production(settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    assert url_refusal(url) is not None


def test_a_public_address_is_accepted(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    assert url_refusal("https://93.184.216.34/hook") is None


def test_the_address_is_checked_again_at_delivery(receiver, settings):
    endpoint = _endpoint(receiver)  # saved while loopback was allowed
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    _committed_event()
    assert receiver.received == []
    attempt = WebhookDelivery.objects.get(endpoint=endpoint, attempt=1)
    assert attempt.status == Status.FAILED and attempt.status_code is None and "127.0.0.1" in attempt.error


def test_a_sale_is_delivered_once_after_its_commit(receiver, pho):
    member = MemberFactory(points=100)
    _endpoint(receiver, event_kinds=["sale.recorded", "points.earned", "points.spent"])
    body = {
        "receipt_number": "WH-1",
        "member": member.pk,
        "lines": [{"sku": "PHO", "name": "Phở", "category": "pho", "quantity": 1, "unit_price": 60000}],
        "points_to_redeem": 10,
    }
    assert post(pho, "/api/pos/v1/sales", body, key="wh-1").status_code == 201
    assert post(pho, "/api/pos/v1/sales", body, key="wh-1").status_code == 201  # replayed: nothing new
    deliveries_sweep()
    assert sorted(receiver.kinds()) == ["points.earned", "points.spent", "sale.recorded"]
    assert all(r.signature_ok for r in receiver.received)


def test_two_workers_at_once_deliver_each_event_once(receiver, monkeypatch):
    from tests.conftest import run_in_threads
    from webhooks import dispatch, services

    _endpoint(receiver)
    monkeypatch.setattr(dispatch, "any_endpoint_active", lambda: False)  # as if the broker missed them all
    monkeypatch.setattr(services, "FAN_OUT_BATCH", 4)  # small batches: the workers take turns
    monkeypatch.setattr(services, "CLAIM_BATCH", 3)
    with transaction.atomic():
        for n in range(30):
            record_event(kind=EventKind.SALE_RECORDED, subject_type="sale", subject_id=n)

    attempted = run_in_threads(2, lambda _index: deliveries_run().attempted)
    ids = [r.json["id"] for r in receiver.received]
    assert all(isinstance(n, int) for n in attempted), attempted
    assert len(ids) == 30 and len(set(ids)) == 30 and sum(attempted) == 30
    assert WebhookDelivery.objects.filter(status=Status.SUCCEEDED).count() == 30


def test_a_dead_broker_fails_nothing_and_the_sweep_delivers(receiver, monkeypatch):
    from kombu.exceptions import OperationalError

    from loyalty_site.core.dispatch import broker_backoff_reset
    from loyalty_site.core.schedules import declared_schedules
    from webhooks import tasks

    _endpoint(receiver)

    def broker_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.deliver, "delay", broker_down)
    try:
        _committed_event()  # the change commits; its delivery could not be queued
        assert receiver.received == []
        assert DomainEvent.objects.filter(dispatched_at__isnull=True).count() == 1
        tasks.sweep()  # the beat task, every minute
    finally:
        broker_backoff_reset()
    assert receiver.kinds() == ["points.earned"]
    sweep = next(s for s in declared_schedules() if s.task == "webhooks.sweep")
    assert sweep.minute == "*"


def test_the_deploy_check_warns_when_private_receivers_are_allowed(settings):
    from webhooks.checks import private_receivers_refused

    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    assert [w.id for w in private_receivers_refused(None)] == ["webhooks.W001"]
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    assert private_receivers_refused(None) == []
