"""Sending from the outbox: claims, retries with backoff (transient vs permanent), the sweeper,
scheduled sending, resending, and no double send under concurrent workers. The SMS and push
channels talk to a real HTTP server on 127.0.0.1."""

import datetime

import pytest
from django.core import mail
from django.db import transaction

from members.services import member_consent_set
from notifications.errors import MessageNotResendable
from notifications.models import Message
from notifications.services import (
    SweepResult,
    member_preference_set,
    message_enqueue,
    message_resend,
    message_send,
    outbox_sweep,
)
from notifications.services.outbox import _finish
from tests.conftest import run_in_threads
from tests.notifications.helpers import Reply, enrol, make_template, push_settings, sms_settings, vn

NOON = vn(2025, 6, 10, 12)
S = datetime.timedelta(seconds=1)


@pytest.fixture
def sms_gateway(gateway, settings):
    settings.NOTIFICATIONS_CHANNELS = {"sms": sms_settings(f"{gateway.url}/sms", timeout=0.3)}
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 4
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 150
    make_template(event="points-earned", channel="sms", body="{member_name} +{points_earned} điểm")
    return gateway


def _sms_message(now=NOON, **kwargs) -> Message:
    [message] = message_enqueue(
        member=enrol(name="Vũ Thị Lan"), event="points-earned", context={"points_earned": 85}, now=now, **kwargs
    )
    assert message.status == "pending"
    return message


@pytest.mark.django_db
def test_a_sent_message_records_the_provider_id_and_time(sms_gateway):
    sms_gateway.reply(200, {"CodeResult": "100", "SMSID": "esms-1"})
    message = message_send(message_id=_sms_message().pk, now=NOON)
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 1, "esms-1")
    assert message.sent_at == NOON and message.last_error == ""
    assert sms_gateway.requests[0].body["Content"] == "Vũ Thị Lan +85 điểm"
    assert sms_gateway.requests[0].body["RequestId"] == f"loyalty-msg-{message.pk}"
    # Sending again does nothing: it is no longer pending.
    assert message_send(message_id=message.pk, now=NOON + 10 * S).status == "sent"
    assert len(sms_gateway.requests) == 1


@pytest.mark.django_db
def test_transient_failures_retry_with_exponential_backoff_then_succeed(sms_gateway):
    message = _sms_message()
    sms_gateway.reply(503, {"error": "busy"})
    message = message_send(message_id=message.pk, now=NOON)
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.scheduled_at == NOON + 60 * S and "HTTP 503" in message.last_error

    # Not due yet: nothing is sent.
    assert message_send(message_id=message.pk, now=NOON + 59 * S).attempts == 1
    assert len(sms_gateway.requests) == 1

    sms_gateway.reply(200, {"CodeResult": "100"}, delay=1.0)  # slower than the 0.3 s timeout
    message = message_send(message_id=message.pk, now=NOON + 60 * S)
    assert (message.status, message.attempts) == ("pending", 2)
    assert message.scheduled_at == NOON + 180 * S  # 60 s + 2 x 60 s
    assert "timed out" in message.last_error

    sms_gateway.reply(200, {"CodeResult": "103", "ErrorMessage": "Balance not enough"})
    message = message_send(message_id=message.pk, now=NOON + 180 * S)
    assert message.scheduled_at == NOON + 330 * S  # capped at 150 s (4 x 60 would be 240)

    sms_gateway.reply(200, {"CodeResult": "100", "SMSID": "esms-ok"})
    message = message_send(message_id=message.pk, now=NOON + 330 * S)
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 4, "esms-ok")
    assert message.last_error == ""
    # Every attempt carried the same RequestId, so the gateway can refuse a duplicate delivery.
    assert {r.body["RequestId"] for r in sms_gateway.requests} == {f"loyalty-msg-{message.pk}"}


@pytest.mark.django_db
def test_retries_are_bounded(sms_gateway):
    message = _sms_message()
    sms_gateway.reply(500, {"error": "down"}, times=4)
    now = NOON
    for attempt in range(1, 5):
        message = message_send(message_id=message.pk, now=now)
        assert message.attempts == attempt
        now = message.scheduled_at
    assert message.status == "failed"
    assert "gave up after 4 attempts" in message.last_error
    assert len(sms_gateway.requests) == 4


@pytest.mark.django_db
def test_a_rejected_number_fails_at_once_without_retrying(sms_gateway):
    sms_gateway.reply(200, {"CodeResult": "108", "ErrorMessage": "Phone number is not in correct format"})
    message = message_send(message_id=_sms_message().pk, now=NOON)
    assert (message.status, message.attempts) == ("failed", 1)
    assert message.last_error.startswith("rejected number: gateway code 108")
    assert message_send(message_id=message.pk, now=NOON + 3600 * S).status == "failed"
    assert len(sms_gateway.requests) == 1


@pytest.mark.django_db
def test_a_retry_that_would_land_in_the_quiet_hours_waits_for_the_morning(sms_gateway):
    message = _sms_message(now=vn(2025, 6, 10, 20, 59, 30))
    sms_gateway.reply(503, {})
    message = message_send(message_id=message.pk, now=vn(2025, 6, 10, 20, 59, 30))
    assert message.scheduled_at == vn(2025, 6, 11, 8, 0)
    assert message.queued_at is None  # beyond the ETA horizon: the sweeper queues it when due


@pytest.mark.django_db
def test_a_message_found_due_during_the_quiet_hours_is_not_sent_before_8(sms_gateway):
    message = _sms_message(now=vn(2025, 6, 10, 20, 50))
    message = message_send(message_id=message.pk, now=vn(2025, 6, 10, 21, 40))  # a late worker
    assert (message.status, message.attempts) == ("pending", 0)
    assert message.scheduled_at == vn(2025, 6, 11, 8, 0)
    assert sms_gateway.requests == []


@pytest.mark.django_db
def test_marketing_consent_withdrawn_before_sending_skips_the_message(sms_gateway):
    make_template(event="campaign", channel="sms", body="Ưu đãi {campaign_name}")
    member = enrol()
    [message] = message_enqueue(
        member=member, event="campaign", context={"campaign_name": "Hè"}, send_at=NOON + 3600 * S, now=NOON
    )
    member_consent_set(member=member, channel="sms", given=False, source="staff")
    message = message_send(message_id=message.pk, now=NOON + 3600 * S)
    assert (message.status, message.skip_reason) == ("skipped", "no-consent")
    assert sms_gateway.requests == []


# --- Scheduled sending and the sweeper ----------------------------------------------------------


@pytest.mark.django_db
def test_a_scheduled_message_is_sent_when_due_by_the_sweeper():
    make_template(event="campaign", channel="email", subject="Khai trương", body="Mời {member_name}")
    member = enrol(name="Hồ Quang Hiếu", email="hieu@example.vn")
    send_at = vn(2025, 6, 20, 9, 0)
    [message] = message_enqueue(
        member=member, event="campaign", context={"campaign_name": "x"}, send_at=send_at, now=NOON
    )
    assert message.scheduled_at == send_at and message.queued_at is None

    assert message_send(message_id=message.pk, now=NOON).status == "pending"  # not due
    assert outbox_sweep(now=send_at - S).dispatched == 0
    # Due: the sweeper queues it; the task (eager here) sends it.
    assert outbox_sweep(now=send_at).dispatched == 1
    message.refresh_from_db()
    assert message.status == "sent"
    [email] = mail.outbox
    assert (email.to, email.subject) == (["hieu@example.vn"], "Khai trương")
    # A marketing email: its text, then the one-click unsubscribe link (tests/notifications/test_unsubscribe.py).
    assert email.body.startswith("Mời Hồ Quang Hiếu\n") and "/m/unsubscribe/" in email.body
    assert outbox_sweep(now=send_at + 3600 * S).dispatched == 0


@pytest.mark.django_db
def test_the_sweeper_queues_again_a_due_message_whose_task_was_lost(settings):
    settings.NOTIFICATIONS_REDISPATCH_AFTER_SECONDS = 300
    make_template(event="points-earned", channel="email", subject="Điểm", body="+{points_earned}")
    # Queued at noon, but the commit hook never ran here: as if the broker had lost the task.
    [message] = message_enqueue(member=enrol(), event="points-earned", context={"points_earned": 1}, now=NOON)
    assert message.queued_at == NOON
    # Within the redispatch delay the task may still be on its way: left alone.
    assert outbox_sweep(now=NOON + 299 * S).dispatched == 0
    assert outbox_sweep(now=NOON + 301 * S).dispatched == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_sweeper_takes_back_a_crashed_claim_and_the_late_worker_cannot_overwrite_it(settings):
    settings.NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = 300
    make_template(event="points-earned", channel="email", subject="+", body="+{points_earned}")
    [message] = message_enqueue(
        member=enrol(), event="points-earned", context={"points_earned": 1}, send_at=NOON + 7200 * S, now=NOON
    )
    # A worker claimed it at 14:00 and died before recording anything.
    claimed_at = NOON + 7200 * S
    Message.objects.filter(pk=message.pk).update(status="sending", claimed_at=claimed_at, attempts=1)
    assert outbox_sweep(now=claimed_at + 299 * S) == SweepResult(reclaimed=0, failed=0, dispatched=0)
    # Taken back, then queued by the same sweep; the (eager) task sends it as attempt 2.
    assert outbox_sweep(now=claimed_at + 301 * S) == SweepResult(reclaimed=1, failed=0, dispatched=1)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1
    # The dead worker's claim (attempt 1) no longer holds: a late outcome of it is ignored.
    assert _finish(message, 1, status="failed", last_error="late") is False
    message.refresh_from_db()
    assert message.status == "sent"


@pytest.mark.django_db
def test_a_claim_stuck_on_the_last_attempt_fails(settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    make_template(event="points-earned", channel="email", subject="+", body="+{points_earned}")
    [message] = message_enqueue(member=enrol(), event="points-earned", context={"points_earned": 1}, now=NOON)
    Message.objects.filter(pk=message.pk).update(status="sending", claimed_at=NOON, attempts=2)
    assert outbox_sweep(now=NOON + 3600 * S).failed == 1
    message.refresh_from_db()
    assert message.status == "failed" and "gave up after 2 attempts" in message.last_error


# --- Resending ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_message_can_be_sent_again_from_a_fresh_count(sms_gateway, django_capture_on_commit_callbacks):
    sms_gateway.reply(200, {"CodeResult": "101", "ErrorMessage": "Authorize Failed"})
    message = message_send(message_id=_sms_message().pk, now=NOON)
    assert message.status == "failed"
    with django_capture_on_commit_callbacks() as callbacks:
        message = message_resend(message=message, now=NOON + 600 * S)
    assert (message.status, message.attempts, message.last_error) == ("pending", 0, "")
    assert message.scheduled_at == NOON + 600 * S and len(callbacks) == 1
    message = message_send(message_id=message.pk, now=NOON + 600 * S)
    assert (message.status, message.attempts) == ("sent", 1)


@pytest.mark.django_db
def test_only_failed_messages_can_be_resent_and_a_refusal_changes_nothing(sms_gateway):
    message = message_send(message_id=_sms_message().pk, now=NOON)
    assert message.status == "sent"
    before = Message.objects.values().get(pk=message.pk)
    with pytest.raises(MessageNotResendable):
        message_resend(message=message)
    assert Message.objects.values().get(pk=message.pk) == before


# --- Concurrency --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_send_the_same_message_twice(gateway, settings):
    settings.NOTIFICATIONS_CHANNELS = {"push": push_settings(f"{gateway.url}/push", timeout=5)}
    gateway.default = Reply(200, {"id": "push-1"}, delay=0.3)  # a slow provider widens the race
    make_template(event="points-earned", channel="push", subject="Điểm", body="+{points_earned}")
    member = enrol()
    member_preference_set(member=member, push_token="device-1")
    due = NOON + 7200 * S  # beyond the ETA horizon: nothing is queued at commit
    [message] = message_enqueue(
        member=member, event="points-earned", context={"points_earned": 5}, send_at=due, now=NOON
    )

    results = run_in_threads(4, lambda _i: message_send(message_id=message.pk, now=due))
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(gateway.requests) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 1, "push-1")


@pytest.mark.django_db(transaction=True)
def test_concurrent_enqueues_with_one_dedupe_key_write_one_message():
    make_template(event="points-expiring", channel="email", subject="Sắp hết hạn", body="{expiring_points}")
    member = enrol()

    def enqueue(_i):
        with transaction.atomic():
            return message_enqueue(
                member=member,
                event="points-expiring",
                context={"expiring_points": 10},
                dedupe_key="points-expiring:2025-07-01",
                send_at=NOON + 7200 * S,
                now=NOON,
            )

    results = run_in_threads(4, enqueue)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert Message.objects.count() == 1
    assert {r[0].pk for r in results} == {Message.objects.get().pk}


@pytest.mark.django_db(transaction=True)
def test_concurrent_marketing_enqueues_respect_the_daily_cap(settings):
    settings.NOTIFICATIONS_MARKETING_DAILY_CAP = 1
    make_template(event="campaign", channel="email", subject="Ưu đãi", body="{campaign_name}")
    member = enrol()

    def enqueue(i):
        with transaction.atomic():
            return message_enqueue(
                member=member, event="campaign", context={"campaign_name": f"C{i}"}, send_at=NOON + 7200 * S, now=NOON
            )

    results = run_in_threads(4, enqueue)
    assert not [r for r in results if isinstance(r, BaseException)], results
    statuses = sorted(Message.objects.values_list("status", flat=True))
    assert statuses == ["pending", "skipped", "skipped", "skipped"]
