"""message_enqueue: the rules (consent, quiet hours, caps, blocked members, addresses), the
schedule, idempotency, and writing in the caller's transaction."""

import datetime

import pytest
from django.db import transaction

from members.services import member_block
from notifications.models import Message
from notifications.services import member_preference_set, message_enqueue
from tests.factories import StoreFactory
from tests.notifications.helpers import enrol, make_template, utc, vn

pytestmark = pytest.mark.django_db

NOON = vn(2025, 6, 10, 12)  # a Tuesday, 05:00 UTC


@pytest.fixture
def templates():
    """One template per channel for a transactional and a marketing event."""
    made = {}
    for event, extra in (("points-earned", "+{points_earned}"), ("campaign", "{campaign_name}")):
        made[(event, "email")] = make_template(event=event, channel="email", subject="Tin", body=f"Email {extra}")
        made[(event, "sms")] = make_template(event=event, channel="sms", body=f"SMS {extra}")
        made[(event, "zalo")] = make_template(
            event=event, channel="zalo", zalo_template_id="2468", zalo_params={"ten": "{member_name}"}
        )
        made[(event, "push")] = make_template(event=event, channel="push", subject="Tin", body=f"Push {extra}")
    return made


def _by_channel(messages):
    return {m.channel: m for m in messages}


def _campaign(member, *, now=NOON, channels=("email",), **kwargs):
    return message_enqueue(
        member=member, event="campaign", context={"campaign_name": "Hè"}, channels=list(channels), now=now, **kwargs
    )


# --- What is written --------------------------------------------------------------------------


def test_one_row_per_channel_with_an_active_template_rendered_and_pending(templates):
    member = enrol(name="Đỗ Hải Yến", email="yen@example.vn")
    member_preference_set(member=member, push_token="device-abc")
    messages = _by_channel(
        message_enqueue(member=member, event="points-earned", context={"points_earned": 40}, now=NOON)
    )
    assert set(messages) == {"email", "sms", "zalo", "push"}
    assert all(m.status == Message.Status.PENDING and m.scheduled_at == NOON for m in messages.values())
    assert messages["email"].recipient == "yen@example.vn" and messages["email"].body == "Email +40"
    assert messages["sms"].recipient == member.phone
    assert messages["zalo"].zns_template_id == "2468" and messages["zalo"].zns_params == {"ten": "Đỗ Hải Yến"}
    assert messages["push"].recipient == "device-abc"
    assert not any(m.marketing for m in messages.values())
    assert Message.objects.count() == 4


def test_an_explicit_channel_without_a_template_is_recorded_as_skipped():
    make_template(event="tier-changed", channel="email", subject="Hạng", body="{tier_name}")
    messages = _by_channel(
        message_enqueue(member=enrol(), event="tier-changed", context={"tier_name": "VIP"}, channels=["email", "sms"])
    )
    assert messages["email"].status == Message.Status.PENDING
    assert (messages["sms"].status, messages["sms"].skip_reason) == ("skipped", "no-template")


def test_a_placeholder_without_a_value_skips_the_message_with_the_names(templates):
    [message] = message_enqueue(member=enrol(), event="points-earned", channels=["sms"], now=NOON)
    assert (message.status, message.skip_reason, message.skip_detail) == ("skipped", "missing-data", "{points_earned}")


def test_no_address_skips(templates):
    member = enrol(email="")
    messages = _by_channel(message_enqueue(member=member, event="points-earned", context={"points_earned": 1}))
    assert messages["email"].skip_reason == "no-address"
    assert messages["push"].skip_reason == "no-address"  # no device token
    assert messages["sms"].status == "pending"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"event": "points-lost"}, "unknown notification event"),
        ({"event": "points-earned", "context": {"points": 5}}, "unknown placeholder values"),
        ({"event": "points-earned", "channels": ["fax"]}, "unknown channels"),
        ({"event": "points-earned", "dedupe_key": "x" * 201}, "longer than 200"),
    ],
)
def test_programming_errors_are_refused_and_nothing_is_written(templates, kwargs, error):
    member = enrol()
    with pytest.raises(ValueError, match=error):
        message_enqueue(member=member, **kwargs)
    assert not Message.objects.exists()


def test_a_merged_member_stands_for_the_survivor(templates):
    from members.services import member_merge

    survivor, merged = enrol(name="Người giữ lại"), enrol(name="Người bị gộp", email="gop@example.vn")
    member_merge(survivor=survivor, merged=merged)
    merged.refresh_from_db()
    [message] = message_enqueue(member=merged, event="points-earned", context={"points_earned": 1}, channels=["email"])
    assert message.member_id == survivor.pk


# --- Consent ----------------------------------------------------------------------------------


def test_marketing_needs_consent_on_the_channel(templates):
    member = enrol(consents={"email": True, "sms": False})
    messages = _by_channel(_campaign(member, channels=["email", "sms", "zalo"]))
    assert messages["email"].status == "pending" and messages["email"].marketing
    assert (messages["sms"].status, messages["sms"].skip_reason) == ("skipped", "no-consent")
    assert messages["zalo"].skip_reason == "no-consent"


def test_transactional_messages_ignore_consent_unless_the_setting_says_otherwise(templates, settings):
    member = enrol(consents={})
    [message] = message_enqueue(member=member, event="points-earned", context={"points_earned": 3}, channels=["sms"])
    assert message.status == "pending"
    settings.NOTIFICATIONS_TRANSACTIONAL_REQUIRES_CONSENT = True
    [message] = message_enqueue(member=member, event="points-earned", context={"points_earned": 3}, channels=["sms"])
    assert message.skip_reason == "no-consent"


def test_birthday_is_marketing_by_default_and_a_caller_can_say_otherwise():
    make_template(event="birthday", channel="sms", body="Chúc mừng {member_name}")
    member = enrol(consents={})
    [default] = message_enqueue(member=member, event="birthday", now=NOON)
    [transactional] = message_enqueue(member=member, event="birthday", marketing=False, now=NOON)
    assert (default.marketing, default.skip_reason) == (True, "no-consent")
    assert (transactional.marketing, transactional.status) == (False, "pending")


def test_blocked_members_get_no_marketing_but_still_transactional_messages(templates):
    member = enrol()
    member_block(member=member, reason="gian lận")
    [marketing] = _campaign(member)
    [transactional] = message_enqueue(
        member=member, event="points-earned", context={"points_earned": 2}, channels=["email"]
    )
    assert (marketing.status, marketing.skip_reason) == ("skipped", "member-blocked")
    assert transactional.status == "pending"


# --- Quiet hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_time", "expected_utc"),
    [
        (vn(2025, 6, 10, 22, 30), utc(2025, 6, 11, 1, 0)),  # 22:30 -> 08:00 next day (01:00 UTC)
        (vn(2025, 6, 10, 21, 0), utc(2025, 6, 11, 1, 0)),  # quiet from 21:00 sharp
        (vn(2025, 6, 11, 0, 15), utc(2025, 6, 11, 1, 0)),  # after midnight -> 08:00 the same day
        (vn(2025, 6, 11, 7, 59), utc(2025, 6, 11, 1, 0)),
        (vn(2025, 6, 11, 8, 0), utc(2025, 6, 11, 1, 0)),  # 08:00 is allowed
        (vn(2025, 6, 10, 20, 59), utc(2025, 6, 10, 13, 59)),  # not yet quiet
    ],
)
def test_sms_and_zalo_wait_for_8_in_the_morning_store_time(templates, local_time, expected_utc):
    member = enrol(home_store=StoreFactory(time_zone="Asia/Ho_Chi_Minh"))
    messages = _by_channel(
        message_enqueue(member=member, event="points-earned", context={"points_earned": 9}, now=local_time)
    )
    for channel in ("sms", "zalo"):
        messages[channel].refresh_from_db()
        assert messages[channel].scheduled_at == expected_utc
        assert messages[channel].scheduled_at.utcoffset() == datetime.timedelta(0)  # stored in UTC
    assert messages["email"].scheduled_at == local_time  # email has no quiet hours


def test_quiet_hours_follow_the_members_home_store_zone(templates):
    tokyo = enrol(home_store=StoreFactory(time_zone="Asia/Tokyo"))
    # 22:30 in Hanoi is 00:30 in Tokyo: quiet there until 08:00 Tokyo = 06:00 Hanoi.
    [sms] = message_enqueue(
        member=tokyo, event="points-earned", context={"points_earned": 1}, channels=["sms"], now=vn(2025, 6, 10, 22, 30)
    )
    assert sms.scheduled_at == vn(2025, 6, 11, 6, 0)
    # 20:30 in Hanoi is 22:30 in Tokyo: quiet there already.
    [sms] = message_enqueue(
        member=tokyo, event="points-earned", context={"points_earned": 1}, channels=["sms"], now=vn(2025, 6, 10, 20, 30)
    )
    assert sms.scheduled_at == vn(2025, 6, 11, 6, 0)


def test_a_requested_send_time_in_the_quiet_hours_moves_too(templates):
    [sms] = message_enqueue(
        member=enrol(),
        event="points-earned",
        context={"points_earned": 1},
        channels=["sms"],
        send_at=vn(2025, 6, 12, 23, 0),
        now=NOON,
    )
    assert sms.scheduled_at == vn(2025, 6, 13, 8, 0)


def test_quiet_hours_are_configurable(templates, settings):
    settings.NOTIFICATIONS_QUIET_HOURS_START = "22:00"
    settings.NOTIFICATIONS_QUIET_HOURS_END = "07:00"
    settings.NOTIFICATIONS_QUIET_HOURS_CHANNELS = ["sms", "zalo", "push"]
    member = enrol()
    member_preference_set(member=member, push_token="t")
    messages = _by_channel(
        message_enqueue(member=member, event="points-earned", context={"points_earned": 1}, now=vn(2025, 6, 10, 21, 30))
    )
    assert messages["sms"].scheduled_at == vn(2025, 6, 10, 21, 30)
    messages = _by_channel(
        message_enqueue(member=member, event="points-earned", context={"points_earned": 1}, now=vn(2025, 6, 10, 22, 30))
    )
    assert messages["push"].scheduled_at == vn(2025, 6, 11, 7, 0)


# --- The daily marketing cap --------------------------------------------------------------------


def test_marketing_over_the_daily_cap_is_skipped_with_the_reason(templates, settings):
    settings.NOTIFICATIONS_MARKETING_DAILY_CAP = 2
    member = enrol()
    first = _campaign(member, now=vn(2025, 6, 10, 9))
    second = _campaign(member, now=vn(2025, 6, 10, 15))
    [third] = _campaign(member, now=vn(2025, 6, 10, 23, 59))
    assert [m.status for m in first + second] == ["pending", "pending"]
    assert (third.status, third.skip_reason) == ("skipped", "daily-cap")
    [next_day] = _campaign(member, now=vn(2025, 6, 11, 0, 1))
    assert next_day.status == "pending"
    # Transactional messages neither count nor are capped.
    [receipt] = message_enqueue(
        member=member, event="points-earned", context={"points_earned": 1}, channels=["email"], now=vn(2025, 6, 10, 16)
    )
    assert receipt.status == "pending"


def test_the_cap_counts_store_local_days_not_utc_days(templates, settings):
    settings.NOTIFICATIONS_MARKETING_DAILY_CAP = 1
    member = enrol()
    # 23:30 and 00:30 Hanoi are 16:30 and 17:30 UTC on the same UTC day, but two store days.
    [late] = _campaign(member, now=vn(2025, 6, 10, 23, 30))
    [early] = _campaign(member, now=vn(2025, 6, 11, 0, 30))
    assert (late.status, early.status) == ("pending", "pending")
    [again] = _campaign(member, now=vn(2025, 6, 11, 10))
    assert again.skip_reason == "daily-cap"


def test_the_cap_counts_the_day_a_message_goes_out_and_ignores_skipped_ones(templates, settings):
    settings.NOTIFICATIONS_MARKETING_DAILY_CAP = 1
    member = enrol(consents={"email": True, "sms": True})
    # Enqueued at 22:00 on the 10th, the SMS goes out on the 11th at 08:00: it counts there.
    [sms] = _campaign(member, now=vn(2025, 6, 10, 22), channels=["sms"])
    assert sms.scheduled_at == vn(2025, 6, 11, 8)
    [same_evening] = _campaign(member, now=vn(2025, 6, 10, 22, 5))
    [next_morning] = _campaign(member, now=vn(2025, 6, 11, 9))
    assert (same_evening.status, next_morning.skip_reason) == ("pending", "daily-cap")
    # Skipped messages (no consent here) never count.
    settings.NOTIFICATIONS_MARKETING_DAILY_CAP = 1
    other = enrol(consents={"email": True})
    _campaign(other, now=vn(2025, 6, 12, 9), channels=["zalo"])
    [email] = _campaign(other, now=vn(2025, 6, 12, 10))
    assert email.status == "pending"


def test_a_cap_of_zero_means_no_cap(templates, settings):
    settings.NOTIFICATIONS_MARKETING_DAILY_CAP = 0
    member = enrol()
    assert all(_campaign(member)[0].status == "pending" for _ in range(5))


# --- Scheduling, idempotency, the caller's transaction --------------------------------------------


def test_sending_is_queued_after_commit_only(templates, django_capture_on_commit_callbacks):
    member = enrol()
    with django_capture_on_commit_callbacks() as callbacks:
        messages = message_enqueue(
            member=member, event="points-earned", context={"points_earned": 1}, channels=["email"]
        )
    assert len(callbacks) == 1 and messages[0].queued_at is not None


def test_a_rolled_back_caller_leaves_no_message_and_queues_nothing(templates, django_capture_on_commit_callbacks):
    member = enrol()
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        message_enqueue(member=member, event="points-earned", context={"points_earned": 1})
        raise RuntimeError("the sale failed")
    assert not Message.objects.exists()
    assert callbacks == []


def test_a_send_time_within_the_eta_horizon_gets_an_eta_and_a_later_one_waits_for_the_sweeper(
    templates, django_capture_on_commit_callbacks
):
    member = enrol()
    with django_capture_on_commit_callbacks() as callbacks:
        [soon] = _campaign(member, send_at=NOON + datetime.timedelta(minutes=30))
        [later] = _campaign(member, send_at=NOON + datetime.timedelta(days=2))
    assert soon.scheduled_at == soon.queued_at == NOON + datetime.timedelta(minutes=30)
    assert later.scheduled_at == NOON + datetime.timedelta(days=2) and later.queued_at is None
    assert len(callbacks) == 1
    [past] = _campaign(enrol(), send_at=NOON - datetime.timedelta(hours=3))
    assert past.scheduled_at == NOON


def test_the_same_dedupe_key_enqueues_nothing_twice(templates, django_capture_on_commit_callbacks):
    member = enrol()
    with django_capture_on_commit_callbacks() as callbacks:
        first = message_enqueue(
            member=member, event="points-earned", context={"points_earned": 1}, dedupe_key="sale:42", now=NOON
        )
        second = message_enqueue(
            member=member, event="points-earned", context={"points_earned": 1}, dedupe_key="sale:42", now=NOON
        )
    assert [m.pk for m in first] == [m.pk for m in second]
    assert Message.objects.count() == len(first) == 4  # push is written too, skipped: no device token
    assert len(callbacks) == 3  # the pending ones of the first call only
    # Another key, another event or another member is another message.
    message_enqueue(member=member, event="points-earned", context={"points_earned": 1}, dedupe_key="sale:43")
    assert Message.objects.count() == 8
