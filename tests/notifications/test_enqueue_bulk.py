"""messages_enqueue_bulk writes exactly what message_enqueue writes, called once per member: every
field of every row (recipient, text, status, reason, send time, queue time...), and the same
sends queued after commit. Each comparison runs message_enqueue member by member in a savepoint
that is rolled back, then the bulk service over the same members in the same database state."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from members.models import Member
from members.selectors import member_resolve
from members.services import member_block, member_merge
from notifications.models import Message
from notifications.selectors import member_language
from notifications.services import bulk as bulk_module
from notifications.services import (
    member_preference_set,
    message_enqueue,
    messages_enqueue_bulk,
    messages_withdraw,
    outbox,
)
from tests.factories import StoreFactory
from tests.notifications.helpers import enrol, make_template, vn

pytestmark = pytest.mark.django_db

NOON = vn(2025, 6, 10, 12)
FIELDS = [f.attname for f in Message._meta.concrete_fields if f.attname not in ("id", "created_at", "updated_at")]
TIER_NAMES = {"vi": "Kim Cương", "en": "Diamond"}


def tier_name(_member_id: int, language: str) -> dict:
    return {"tier_name": TIER_NAMES[language]}


@pytest.fixture
def templates():
    """tier-changed in vi and en (SMS and Zalo in vi only), campaign and birthday in vi, and a
    campaign variant with its own email text."""
    make_template(event="tier-changed", channel="email", subject="Hạng mới", body="Chào {member_name}: {tier_name}")
    make_template(event="tier-changed", channel="email", language="en", subject="New tier",
                  body="Hello {member_name}: {tier_name}, {points_balance} points")  # fmt: skip
    make_template(event="tier-changed", channel="sms", body="{member_name} lên hạng {tier_name}")
    make_template(event="tier-changed", channel="zalo", zalo_template_id="777",
                  zalo_params={"ten": "{member_name}", "hang": "{tier_name}"})  # fmt: skip
    make_template(event="tier-changed", channel="push", subject="Hạng", body="{tier_name}")
    make_template(event="tier-changed", channel="push", language="en", subject="Tier", body="{tier_name}")
    for event, extra in (("campaign", "{campaign_name}"), ("birthday", "{voucher_code}")):
        make_template(event=event, channel="email", subject="Tin", body=f"Email {extra} {{member_name}}")
        make_template(event=event, channel="sms", body=f"SMS {extra} {{store_name}}")
        make_template(event=event, channel="zalo", zalo_template_id="2468", zalo_params={"ten": "{member_name}"})
    make_template(event="campaign", variant="HE", channel="email", subject="Hè", body="Hè {campaign_name}")


@pytest.fixture
def people():
    """Members of every kind the rules tell apart, by name."""
    made = {
        "vi": enrol(name="Lê Thị Vi"),
        "en": enrol(name="Anna Lee"),
        "en_push": enrol(name="Ben Lee"),
        "blocked": enrol(name="Phạm Văn Khóa"),
        "no_email": enrol(name="Đỗ Không Thư", email=""),
        "no_consent": enrol(name="Vũ Chưa Đồng Ý", consents={}),
        "sms_only": enrol(name="Hồ Chỉ Tin Nhắn", consents={"sms": True}),
        "tokyo": enrol(name="Sato Tokyo", home_store=StoreFactory(time_zone="Asia/Tokyo")),
        "hanoi": enrol(name="Ngô Hà Nội", home_store=StoreFactory(name="Phở Hà Thành")),
        "survivor": enrol(name="Người Giữ Lại"),
        "merged": enrol(name="Người Bị Gộp", email="gop@example.vn"),
    }
    member_preference_set(member=made["en"], language="en")
    member_preference_set(member=made["en_push"], language="en", push_token="device-en")
    member_preference_set(member=made["vi"], push_token="device-vi")
    member_preference_set(member=made["survivor"], language="en")
    member_block(member=made["blocked"], reason="Gian lận")
    member_merge(survivor=made["survivor"], merged=made["merged"])
    return {name: Member.objects.get(pk=member.pk) for name, member in made.items()}


def _snapshot(after_pk: int, callbacks_from: int) -> tuple[list, list]:
    """The messages written since `after_pk` (every field but the id and the timestamps) and
    the sends queued for them after commit, as comparable lists."""
    rows = {m["id"]: tuple(m[f] for f in FIELDS) for m in Message.objects.filter(pk__gt=after_pk).values("id", *FIELDS)}
    queued = []
    for _savepoints, callback, robust in connection.run_on_commit[callbacks_from:]:
        assert robust  # a broker that is down never fails the caller
        if callback.func is outbox._dispatch:
            message_ids, due = [callback.args[0]], callback.args[1]
        else:
            assert callback.func is bulk_module._dispatch_many
            message_ids, due = callback.args
        queued += [(rows[pk], due) for pk in message_ids]
    return sorted(rows.values(), key=repr), sorted(queued, key=repr)


def assert_same_as_one_by_one(members, **kwargs):
    """Run message_enqueue for each member (rolled back), then messages_enqueue_bulk; both must
    write and queue exactly the same. Returns the bulk result and what it wrote."""
    members = sorted(members, key=lambda m: m.pk)
    last = Message.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    context, context_for = kwargs.pop("context", None) or {}, kwargs.pop("context_for", None)
    dedupe_key, dedupe_key_for = kwargs.pop("dedupe_key", ""), kwargs.pop("dedupe_key_for", None)
    start = len(connection.run_on_commit)
    with transaction.atomic():
        for member in members:
            fresh = Member.objects.select_related("home_store").get(pk=member.pk)
            values = dict(context)
            if context_for is not None:
                values.update(context_for(member.pk, member_language(member_resolve(fresh))))
            key = dedupe_key_for(member.pk) if dedupe_key_for else dedupe_key
            message_enqueue(member=fresh, context=values, dedupe_key=key, **kwargs)
        expected = _snapshot(last, start)
        transaction.set_rollback(True)
    assert len(connection.run_on_commit) == start  # the rolled-back sends are gone
    result = messages_enqueue_bulk(
        members=[m.pk for m in members],
        context=context,
        context_for=context_for,
        dedupe_key=dedupe_key,
        dedupe_key_for=dedupe_key_for,
        **kwargs,
    )
    written = _snapshot(last, start)
    assert written == expected
    assert expected[0], "the comparison must compare something"
    return result, written


# --- The same rows as message_enqueue -------------------------------------------------------------


def test_tier_changed_in_each_members_language_with_every_skip_rule(templates, people):
    """Transactional: blocked members are told, consent is not needed, no daily cap; the tier's
    name in the member's language; a missing translation falls back to Vietnamese; no address
    skips; a merged record's message goes to the survivor."""
    result, (rows, queued) = assert_same_as_one_by_one(
        people.values(), event="tier-changed", context_for=tier_name, dedupe_key="tier-evaluate:x", now=NOON
    )
    by = {(r[FIELDS.index("member_id")], r[FIELDS.index("channel")]): dict(zip(FIELDS, r, strict=True)) for r in rows}
    en_email = by[(people["en"].pk, "email")]
    assert (en_email["language"], en_email["body"]) == ("en", "Hello Anna Lee: Diamond, 0 points")
    en_sms = by[(people["en"].pk, "sms")]
    assert (en_sms["language"], en_sms["body"]) == ("vi", "Anna Lee lên hạng Diamond")  # vi text, en tier name
    assert by[(people["vi"].pk, "email")]["body"] == "Chào Lê Thị Vi: Kim Cương"
    assert by[(people["blocked"].pk, "email")]["status"] == "pending"
    assert by[(people["no_consent"].pk, "sms")]["status"] == "pending"
    assert by[(people["no_email"].pk, "email")]["skip_reason"] == "no-address"
    assert by[(people["en_push"].pk, "push")]["recipient"] == "device-en"
    assert by[(people["vi"].pk, "zalo")]["zns_params"] == {"ten": "Lê Thị Vi", "hang": "Kim Cương"}
    assert not any(member_id == people["merged"].pk for member_id, _c in by)
    assert sum(1 for member_id, _c in by if member_id == people["survivor"].pk) == 4  # once: the same key
    assert (result.pending, result.skipped, result.existing) == (
        sum(r[FIELDS.index("status")] == "pending" for r in rows),
        sum(r[FIELDS.index("status")] == "skipped" for r in rows),
        4,  # the merged record's four channels: its survivor already has them under the key
    )
    assert result.dispatched == len(queued) == result.pending


def test_transactional_messages_need_consent_when_the_setting_says_so(templates, people, settings):
    settings.NOTIFICATIONS_TRANSACTIONAL_REQUIRES_CONSENT = True
    _result, (rows, _queued) = assert_same_as_one_by_one(
        people.values(), event="tier-changed", context_for=tier_name, now=NOON
    )
    reasons = {(r[FIELDS.index("member_id")], r[FIELDS.index("channel")]): r[FIELDS.index("skip_reason")] for r in rows}
    assert reasons[(people["no_consent"].pk, "email")] == "no-consent"
    assert reasons[(people["sms_only"].pk, "email")] == "no-consent"
    assert reasons[(people["sms_only"].pk, "sms")] == ""
    assert reasons[(people["blocked"].pk, "sms")] == ""  # still not a marketing message


@pytest.mark.parametrize(
    ("now", "hanoi_sms", "tokyo_sms"),
    [
        # Quiet until 08:00 (Tokyo: 08:00 there, 06:00 in Hanoi), beyond the ETA horizon: the
        # sweeper queues them.
        (vn(2025, 6, 10, 22, 30), vn(2025, 6, 11, 8), vn(2025, 6, 11, 6)),
        # Quiet until 08:00 in Hanoi, within the horizon: a send with an ETA; 09:30 in Tokyo.
        (vn(2025, 6, 11, 7, 30), vn(2025, 6, 11, 8), vn(2025, 6, 11, 7, 30)),
        # Hanoi may send; Tokyo (22:30 there) is quiet.
        (vn(2025, 6, 10, 20, 30), vn(2025, 6, 10, 20, 30), vn(2025, 6, 11, 6)),
    ],
)
def test_quiet_hours_and_the_eta_horizon(templates, people, now, hanoi_sms, tokyo_sms):
    _result, (rows, queued) = assert_same_as_one_by_one(
        people.values(), event="tier-changed", context_for=tier_name, dedupe_key="k", now=now
    )
    sms = {
        r[FIELDS.index("member_id")]: r[FIELDS.index("scheduled_at")]
        for r in rows
        if r[FIELDS.index("channel")] == "sms"
    }
    assert (sms[people["vi"].pk], sms[people["tokyo"].pk]) == (hanoi_sms, tokyo_sms)
    assert queued  # email goes now in every case


def test_a_requested_send_time(templates, people):
    assert_same_as_one_by_one(
        people.values(), event="tier-changed", context_for=tier_name, send_at=NOON + datetime.timedelta(minutes=30),
        now=NOON,
    )  # fmt: skip


def test_a_placeholder_without_a_value_and_a_channel_without_a_template(templates, people):
    def only_some(member_id: int, language: str) -> dict:
        return tier_name(member_id, language) if member_id % 2 else {}

    _result, (rows, _queued) = assert_same_as_one_by_one(
        people.values(), event="tier-changed", context_for=only_some, now=NOON
    )
    assert any(r[FIELDS.index("skip_reason")] == "missing-data" for r in rows)
    _result, (rows, _queued) = assert_same_as_one_by_one(
        people.values(), event="campaign", context={"campaign_name": "Hè"}, channels=["email", "push"], now=NOON
    )
    assert {r[FIELDS.index("skip_reason")] for r in rows if r[FIELDS.index("channel")] == "push"} == {"no-template"}


def test_marketing_consent_blocked_members_and_the_daily_cap(templates, people, settings):
    settings.NOTIFICATIONS_MARKETING_DAILY_CAP = 2
    # Earlier today: the cap is reached for one member, half reached for another.
    for _ in range(2):
        message_enqueue(member=people["vi"], event="campaign", context={"campaign_name": "Sáng"}, channels=["email"],
                        now=NOON - datetime.timedelta(hours=2))  # fmt: skip
    message_enqueue(member=people["hanoi"], event="campaign", context={"campaign_name": "Sáng"}, channels=["email"],
                    now=NOON - datetime.timedelta(hours=2))  # fmt: skip
    _result, (rows, _queued) = assert_same_as_one_by_one(
        people.values(), event="campaign", context={"campaign_name": "Hè"}, variant="HE", now=NOON
    )
    reasons = {(r[FIELDS.index("member_id")], r[FIELDS.index("channel")]): r[FIELDS.index("skip_reason")] for r in rows}
    assert reasons[(people["vi"].pk, "email")] == "daily-cap"
    assert [reasons[(people["hanoi"].pk, c)] for c in ("email", "sms", "zalo")] == ["", "daily-cap", "daily-cap"]
    assert reasons[(people["blocked"].pk, "email")] == "member-blocked"
    assert reasons[(people["sms_only"].pk, "email")] == "no-consent"
    assert all(r[FIELDS.index("marketing")] for r in rows)


def test_the_cap_counts_the_day_the_message_goes_out(templates, people, settings):
    settings.NOTIFICATIONS_MARKETING_DAILY_CAP = 1
    assert_same_as_one_by_one(
        people.values(), event="birthday", context={"voucher_code": "ABCD-EFGH"}, now=vn(2025, 6, 10, 22)
    )


def test_a_marketing_event_sent_as_transactional(templates, people):
    _result, (rows, _queued) = assert_same_as_one_by_one(
        people.values(), event="campaign", context={"campaign_name": "Thử"}, marketing=False, now=NOON
    )
    assert not any(r[FIELDS.index("marketing")] for r in rows)


def test_keys_already_used_write_nothing_and_per_member_keys(templates, people):
    vi = people["vi"]
    message_enqueue(member=vi, event="birthday", context={"voucher_code": "X"}, dedupe_key=f"v:{vi.pk}",
                    channels=["email"], now=NOON)  # fmt: skip
    result, _written = assert_same_as_one_by_one(
        people.values(),
        event="birthday",
        context_for=lambda member_id, _language: {"voucher_code": f"CODE-{member_id}"},
        dedupe_key_for=lambda member_id: f"v:{member_id}",
        now=NOON,
    )
    assert result.existing == 1


# --- Idempotency, the caller's transaction, programming errors --------------------------------


def test_running_again_with_the_same_key_writes_nothing_new(templates, people, django_capture_on_commit_callbacks):
    members = [people["vi"].pk, people["en"].pk]
    kwargs = {"event": "tier-changed", "context_for": tier_name, "dedupe_key": "d", "now": NOON}
    with django_capture_on_commit_callbacks() as callbacks:
        first = messages_enqueue_bulk(members=members, **kwargs)
    count = Message.objects.count()
    with django_capture_on_commit_callbacks() as again:
        second = messages_enqueue_bulk(members=members, **kwargs)
    assert (first.pending, second.pending, second.skipped, second.existing) == (7, 0, 0, first.messages)
    assert Message.objects.count() == count and len(callbacks) == 1 and again == []


def test_a_concurrent_enqueue_with_the_same_key_stands(templates, people, monkeypatch):
    """The keys were read before another caller wrote one: the insert fails in its savepoint,
    the batch is planned again, and the other caller's message stands."""
    theirs = message_enqueue(member=people["vi"], event="tier-changed", context={"tier_name": "Theirs"},
                             dedupe_key="race", channels=["email"], now=NOON)[0]  # fmt: skip
    real, calls = bulk_module._keys_used, []

    def stale_first(*args, **kwargs):
        calls.append(1)
        return set() if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(bulk_module, "_keys_used", stale_first)
    result = messages_enqueue_bulk(
        members=[people["vi"].pk, people["en"].pk], event="tier-changed", context_for=tier_name, dedupe_key="race"
    )
    assert len(calls) == 2 and result.existing == 1
    assert Message.objects.get(member=people["vi"], channel="email", dedupe_key="race").pk == theirs.pk
    assert Message.objects.filter(dedupe_key="race").count() == 8


def test_a_conflict_that_persists_is_raised(templates, people, monkeypatch):
    message_enqueue(member=people["vi"], event="tier-changed", context={"tier_name": "X"}, dedupe_key="race",
                    channels=["email"], now=NOON)  # fmt: skip
    monkeypatch.setattr(bulk_module, "_keys_used", lambda *a, **k: set())
    with pytest.raises(IntegrityError):
        messages_enqueue_bulk(members=[people["vi"].pk], event="tier-changed", context_for=tier_name, dedupe_key="race")


def test_a_rolled_back_caller_leaves_no_message_and_queues_nothing(
    templates, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        messages_enqueue_bulk(members=[people["vi"].pk], event="tier-changed", context_for=tier_name)
        raise RuntimeError("the evaluation failed")
    assert not Message.objects.exists() and callbacks == []


def test_one_send_task_per_batch_and_send_time(templates, people, django_capture_on_commit_callbacks, monkeypatch):
    from notifications.tasks import send_messages

    sent = []
    monkeypatch.setattr(send_messages, "delay", lambda ids: sent.append((None, sorted(ids))))
    monkeypatch.setattr(send_messages, "apply_async", lambda args, eta: sent.append((eta, sorted(args[0]))))
    members = [people["vi"].pk, people["en"].pk]
    with django_capture_on_commit_callbacks(execute=True):
        result = messages_enqueue_bulk(members=members, event="tier-changed", context_for=tier_name, now=NOON)
    assert sent == [(None, sorted(Message.objects.filter(status="pending").values_list("pk", flat=True)))]
    assert result.dispatched == 7

    sent.clear()
    Message.objects.all().delete()
    now = vn(2030, 6, 11, 7, 30)  # ahead of the clock; SMS and Zalo wait for 08:00, within the ETA horizon
    with django_capture_on_commit_callbacks(execute=True):
        messages_enqueue_bulk(members=members, event="tier-changed", context_for=tier_name, now=now)
    pending = Message.objects.filter(status="pending")
    assert sent == [
        (now, sorted(pending.filter(channel__in=["email", "push"]).values_list("pk", flat=True))),
        (vn(2030, 6, 11, 8), sorted(pending.filter(channel__in=["sms", "zalo"]).values_list("pk", flat=True))),
    ]


def test_the_members_may_be_a_queryset(templates, people):
    result = messages_enqueue_bulk(
        members=Member.objects.filter(name__startswith="Anna"), event="tier-changed", context_for=tier_name
    )
    assert set(Message.objects.values_list("member_id", flat=True)) == {people["en"].pk}
    assert result.messages == 4
    assert messages_enqueue_bulk(members=[], event="tier-changed", context_for=tier_name).messages == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"event": "points-lost"}, "unknown notification event"),
        ({"event": "tier-changed", "context": {"points": 5}}, "unknown placeholder values"),
        ({"event": "tier-changed", "context_for": lambda _m, _l: {"tier": "VIP"}}, "unknown placeholder values"),
        ({"event": "tier-changed", "channels": ["fax"]}, "unknown channels"),
        ({"event": "tier-changed", "dedupe_key": "x" * 201}, "longer than 200"),
        ({"event": "tier-changed", "dedupe_key_for": lambda _m: "x" * 201}, "longer than 200"),
        ({"event": "tier-changed", "dedupe_key": "a", "dedupe_key_for": lambda _m: "b"}, "not both"),
    ],
)
def test_programming_errors_are_refused_and_nothing_is_written(templates, people, kwargs, error):
    with pytest.raises(ValueError, match=error):
        messages_enqueue_bulk(members=[people["vi"].pk], **kwargs)
    assert not Message.objects.exists()


def test_withdrawing_what_was_written_in_the_transaction(templates, people):
    now = NOON
    messages_enqueue_bulk(members=[people["vi"].pk, people["en"].pk], event="campaign",
                          context={"campaign_name": "Hè"}, dedupe_key="c:1", now=now)  # fmt: skip
    pending = Message.objects.filter(member=people["vi"], status="pending").count()
    withdrawn = messages_withdraw(member_ids=[people["vi"].pk], event="campaign", dedupe_key="c:1", now=now)
    assert withdrawn == pending > 0
    assert set(Message.objects.values_list("member_id", flat=True)) == {people["en"].pk}
