"""Telling many members their new tier (`notify_many`, used by the daily evaluation and the
recompute) writes exactly what `notify_tier_changed` writes for each of them, in a few queries
per chunk: the tier's name in the member's language, blocked members told (a transactional
message), merged records not told, no address skipped, quiet hours, the dedupe key."""

from __future__ import annotations

import datetime
import types
import zoneinfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from members.models import Member
from members.services import member_block, member_merge
from notifications.models import Message, MessageTemplate
from notifications.services import bulk as bulk_module
from notifications.services import member_preference_set, outbox, template_save
from tests.tiers.conftest import enrol, spend, tier_messages
from tiers.services import common, tiers_evaluate

pytestmark = pytest.mark.django_db

FIELDS = [f.attname for f in Message._meta.concrete_fields if f.attname not in ("id", "created_at", "updated_at")]


@pytest.fixture
def texts(tier_changed_template):
    """tier-changed by email in vi (the tiers fixture) and en, and by SMS in vi only."""
    for channel, language, subject, body in (
        ("email", "en", "Your new tier", "Hello {member_name}, your tier is now {tier_name}."),
        ("sms", "vi", "", "{member_name}: hang moi {tier_name}"),
    ):
        template_save(
            template=MessageTemplate(
                event="tier-changed", channel=channel, language=language, subject=subject, body=body
            )
        )


@pytest.fixture
def crowd(tiers):
    made = {
        "vi": enrol(name="Trần Văn Việt", email="viet@example.vn"),
        "en": enrol(name="Emma Nguyen", email="emma@example.vn"),
        "blocked": enrol(name="Lò Văn Khóa", email="khoa@example.vn"),
        "no_email": enrol(name="Mai Không Thư"),
        "survivor": enrol(name="Người Giữ Lại", email="giu@example.vn"),
        "merged": enrol(name="Người Bị Gộp", email="gop@example.vn"),
    }
    member_preference_set(member=made["en"], language="en")
    member_block(member=made["blocked"], reason="Kiểm tra")
    member_merge(survivor=made["survivor"], merged=made["merged"])
    return {name: Member.objects.get(pk=m.pk) for name, m in made.items()}


def _clock(monkeypatch, hour: int) -> datetime.datetime:
    """Both services read the same fixed time (the store-local `hour`:30 on a June day)."""
    moment = datetime.datetime(2025, 6, 10, hour, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"))
    clock = types.SimpleNamespace(now=lambda: moment)
    monkeypatch.setattr(outbox, "timezone", clock)
    monkeypatch.setattr(bulk_module, "timezone", clock)
    return moment


def _written(after_pk: int) -> list[tuple]:
    rows = Message.objects.filter(pk__gt=after_pk).values(*FIELDS)
    return sorted((tuple(r[f] for f in FIELDS) for r in rows), key=repr)


def _one_by_one_then_bulk(member_ids: list[int], tier, key: str) -> tuple[list, list, int, int]:
    """notify_tier_changed for each member (rolled back), then notify_many: what each wrote and
    the count each returned."""
    last = Message.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with transaction.atomic():
        returned = 0
        for member_id in member_ids:
            member = Member.objects.select_related("home_store").get(pk=member_id)
            returned += len(common.notify_tier_changed(member=member, tier=tier, dedupe_key=key))
        expected = _written(last)
        transaction.set_rollback(True)
    written = common.notify_many(member_ids, tier=tier, dedupe_key=key)
    return _written(last), expected, written, returned


def test_notify_many_writes_what_notify_tier_changed_writes(tiers, texts, crowd, monkeypatch):
    _clock(monkeypatch, 12)
    ids = sorted(m.pk for m in crowd.values())
    rows, expected, written, returned = _one_by_one_then_bulk(ids, tiers["DIAMOND"], "tier-evaluate:x:VIP:DIAMOND")
    assert rows == expected and written == returned == len(rows) == 10  # five members told, two channels
    by = {(r[FIELDS.index("member_id")], r[FIELDS.index("channel")]): dict(zip(FIELDS, r, strict=True)) for r in rows}
    assert by[(crowd["en"].pk, "email")]["body"] == "Hello Emma Nguyen, your tier is now Diamond."
    assert by[(crowd["en"].pk, "sms")]["body"] == "Emma Nguyen: hang moi Diamond"  # no en SMS: vi text
    assert by[(crowd["vi"].pk, "email")]["body"].endswith("bây giờ là Kim Cương.")
    assert by[(crowd["blocked"].pk, "email")]["status"] == "pending"  # transactional: still told
    assert by[(crowd["no_email"].pk, "email")]["skip_reason"] == "no-address"
    assert not any(member_id == crowd["merged"].pk for member_id, _channel in by)
    assert sum(member_id == crowd["survivor"].pk for member_id, _channel in by) == 2  # told once, as itself


@pytest.mark.parametrize("hour", [22, 7, 12])
def test_quiet_hours_as_notify_tier_changed(tiers, texts, crowd, monkeypatch, hour):
    moment = _clock(monkeypatch, hour)
    ids = sorted(m.pk for m in crowd.values())
    rows, expected, _written, _returned = _one_by_one_then_bulk(ids, tiers["VIP"], "k")
    assert rows == expected
    sms = {r[FIELDS.index("scheduled_at")] for r in rows if r[FIELDS.index("channel")] == "sms"}
    assert (sms == {moment}) == (hour == 12)


def test_the_same_key_twice_writes_nothing_new(tiers, texts, crowd):
    ids = sorted(m.pk for m in crowd.values())
    first = common.notify_many(ids, tier=tiers["VIP"], dedupe_key="tier-evaluate:d")
    count = Message.objects.count()
    assert common.notify_many(ids, tier=tiers["VIP"], dedupe_key="tier-evaluate:d") == first == 10
    assert Message.objects.count() == count


def test_a_chunk_costs_a_few_queries_whatever_its_size(tiers, texts, monkeypatch):
    monkeypatch.setattr(common, "NOTIFY_CHUNK", 500)
    few = [enrol(email=f"a{i}@example.vn").pk for i in range(3)]
    many = [enrol(email=f"b{i}@example.vn").pk for i in range(60)]
    with CaptureQueriesContext(connection) as small:
        common.notify_many(few, tier=tiers["VIP"], dedupe_key="q")
    with CaptureQueriesContext(connection) as large:
        common.notify_many(many, tier=tiers["VIP"], dedupe_key="q")
    assert len(large) == len(small) <= 12
    assert Message.objects.count() == 2 * 63


def test_chunks_keep_memory_flat(tiers, texts, monkeypatch):
    monkeypatch.setattr(common, "NOTIFY_CHUNK", 2)
    calls = []
    real = common.messages_enqueue_bulk
    monkeypatch.setattr(common, "messages_enqueue_bulk", lambda **kw: calls.append(1) or real(**kw))
    ids = [enrol(email=f"c{i}@example.vn").pk for i in range(5)]
    assert common.notify_many(ids, tier=tiers["VIP"], dedupe_key="c") == 10
    assert len(calls) == 3


def test_the_evaluation_tells_each_member_in_their_language_once(tiers, texts):
    vi, en = enrol(email="vi@example.vn"), enrol(email="en@example.vn")
    member_preference_set(member=en, language="en")
    blocked = enrol(email="blocked@example.vn")
    for i, member in enumerate((vi, en, blocked)):
        spend(member, 21_000_000, f"sale:{i}", days_ago=390)
    member_block(member=blocked, reason="Kiểm tra")
    before = Message.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    first = tiers_evaluate()
    again = tiers_evaluate()

    assert first.moves == {("DIAMOND", "VIP"): 3} and first.messages == 6
    told = [m for m in tier_messages() if m.pk > before]
    assert [m.body for m in told if m.member_id == en.pk and m.channel == "email"] == [
        "Hello Nguyễn Thị Lan, your tier is now VIP."
    ]
    assert [(m.language, m.body) for m in told if m.member_id == vi.pk and m.channel == "sms"] == [
        ("vi", "Nguyễn Thị Lan: hang moi VIP")
    ]
    assert {m.status for m in told if m.member_id == blocked.pk} == {"pending"}  # transactional
    assert len(told) == 6
    assert (again.downgraded, again.messages) == (0, 0)
    assert Message.objects.filter(pk__gt=before).count() == 6  # the second run wrote nothing
