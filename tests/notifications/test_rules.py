"""One rule chain, one renderer: `notifications.rules.message_decide` on its own (no database),
the renderer both enqueues use, and single and bulk enqueue compared row by row over every
rule (the statements each path costs: test_enqueue_statements.py)."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from members.models import Member
from members.services import member_block
from notifications.models import Channel, Language, MessageTemplate
from notifications.rendering import CompiledTemplate, PlaceholderError, placeholders_in
from notifications.rules import EXISTING, HOLD, QUEUE, SKIP, Enqueue, Recipient, message_decide
from notifications.services import member_preference_set, message_enqueue
from notifications.unsubscribe import unsubscribe_url
from tests.factories import StoreFactory
from tests.notifications.helpers import enrol, make_template, vn
from tests.notifications.test_enqueue_bulk import FIELDS, assert_same_as_one_by_one

VN = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
NOON = vn(2025, 6, 10, 12)
CHANNELS = ["email", "sms", "zalo", "push"]


# --- The renderer -------------------------------------------------------------------------------


def _template(pk, channel, language="vi", **fields) -> MessageTemplate:
    return MessageTemplate(pk=pk, event="birthday", channel=channel, language=language, **fields)


VALUES = {"member_name": "Ngô Thị Lan", "points_balance": 1250, "voucher_code": "ABCD-EFGH",
          "voucher_name": "Quà", "voucher_expires_at": datetime.date(2030, 1, 31), "store_name": None}  # fmt: skip


def test_the_renderer_formats_in_the_templates_language_and_lists_what_is_missing():
    body = "{{code}} {voucher_code} until {voucher_expires_at}, {points_balance} points at {store_name}"
    email = _template(1, Channel.EMAIL, Language.EN, subject="Hi {member_name}", body=body)
    rendered = CompiledTemplate(email).render(VALUES, VN)
    assert rendered.subject == "Hi Ngô Thị Lan"
    assert rendered.body == "{code} ABCD-EFGH until 31 Jan 2030, 1,250 points at "
    assert (rendered.missing, rendered.error) == (["store_name"], "")
    assert (rendered.zns_template_id, rendered.zns_params) == ("", {})

    params = {"name": "{member_name}", "code": "{voucher_code}", "han": "{voucher_expires_at}"}
    zalo = _template(2, Channel.ZALO, body="{points_balance} điểm", zalo_template_id="123", zalo_params=params)
    rendered = CompiledTemplate(zalo).render(VALUES, VN)
    assert (rendered.body, rendered.zns_template_id, rendered.missing) == ("1.250 điểm", "123", [])
    assert rendered.zns_params == {"name": "Ngô Thị Lan", "code": "ABCD-EFGH", "han": "31/01/2030"}


def test_a_template_that_does_not_parse_renders_nothing_but_the_error():
    broken = _template(3, Channel.ZALO, body="Sai {ngoac", zalo_template_id="9", zalo_params={"a": "{member_name}"})
    rendered = CompiledTemplate(broken).render(VALUES, VN)
    assert rendered.error
    assert (rendered.subject, rendered.body, rendered.zns_template_id, rendered.zns_params) == ("", "", "", {})
    with pytest.raises(PlaceholderError):  # parsing errors are not cached: raised every time
        placeholders_in("Sai {ngoac")


def test_one_compiled_template_renders_each_members_own_values():
    """Formatted values are cached per compiled template; a cache hit must never leak one
    member's value into another's message."""
    body = "{member_name}: {points_balance} đến {voucher_expires_at}"
    compiled = CompiledTemplate(_template(4, Channel.SMS, body=body))
    first = compiled.render({**VALUES, "points_balance": 10}, VN)
    second = compiled.render({**VALUES, "member_name": "An", "points_balance": 2000000}, VN)
    again = compiled.render({**VALUES, "points_balance": 10}, VN)
    assert (first.body, second.body) == ("Ngô Thị Lan: 10 đến 31/01/2030", "An: 2.000.000 đến 31/01/2030")
    assert again.body == first.body
    assert compiled.render({**VALUES, "voucher_expires_at": None}, VN).missing == ["voucher_expires_at"]


def test_an_edited_text_is_parsed_again():
    template = _template(5, Channel.SMS, body="A {member_name}")
    assert CompiledTemplate(template).render(VALUES, VN).body == "A Ngô Thị Lan"
    template.body = "B {voucher_code}"
    assert CompiledTemplate(template).render(VALUES, VN).body == "B ABCD-EFGH"


def test_the_long_subject_is_cut_to_the_column():
    rendered = CompiledTemplate(_template(6, Channel.EMAIL, subject="{member_name}" + "x" * 250, body="b")).render(
        VALUES, VN
    )
    assert len(rendered.subject) == 200


# --- The chain on its own -----------------------------------------------------------------------


class Counts:
    """A SentOnDay that records what the chain asked."""

    def __init__(self, already: int = 0) -> None:
        self.already, self.asked, self.added = already, [], []

    def count(self, member_id, day):
        self.asked.append((member_id, day))
        return self.already + sum(1 for added in self.added if added == (member_id, day))

    def add(self, member_id, day):
        self.added.append((member_id, day))


TEMPLATES = {
    ("email", "vi"): _template(11, Channel.EMAIL, subject="Quà", body="Chào {member_name} {voucher_code}"),
    ("email", "en"): _template(12, Channel.EMAIL, Language.EN, subject="Gift", body="Hi {member_name} {voucher_code}"),
    ("sms", "vi"): _template(13, Channel.SMS, body="{member_name}: {voucher_code}"),
}


def _recipient(**overrides) -> Recipient:
    fields = {
        "member_id": 7,
        "blocked": False,
        "consents": dict.fromkeys(CHANNELS, NOON),
        "addresses": {"email": "lan@example.vn", "sms": "+84931000001", "zalo": "+84931000001", "push": ""},
        "language": "vi",
        "zone": VN,
    }
    return Recipient(**{**fields, **overrides})


NO_CONSENT = dict.fromkeys(CHANNELS)
NO_ADDRESS = dict.fromkeys(CHANNELS, "")


def _decide(*, marketing=True, now=NOON, recipient=None, channel="email", values=None, sent=None, key_used=False):
    enqueue = Enqueue.start(event="birthday", marketing=marketing, templates=TEMPLATES, send_at=None, now=now)
    return message_decide(
        enqueue=enqueue,
        recipient=recipient or _recipient(),
        channel=channel,
        values={**VALUES, "member_name": "Lan"} if values is None else values,
        dedupe_key="k",
        key_used=key_used,
        sent=sent if sent is not None else Counts(),
    )


def test_a_message_that_passes_every_rule_is_queued_rendered_in_the_members_language():
    decision = _decide(recipient=_recipient(language="en"))
    assert decision.outcome == QUEUE
    row = decision.row
    assert (row["status"], row["language"], row["template_id"]) == ("pending", "en", 12)
    # A marketing email: the text, then the member's one-click unsubscribe link, in English.
    link = unsubscribe_url(member_id=row["member_id"], channel="email", at=NOON)
    assert row["body"] == f"Hi Lan ABCD-EFGH\n\n--\nTo stop receiving these emails, unsubscribe in one click: {link}"
    assert (row["scheduled_at"], row["queued_at"], row["recipient"], row["dedupe_key"]) == (
        NOON, NOON, "lan@example.vn", "k"
    )  # fmt: skip


def test_a_used_key_decides_nothing_else():
    sent = Counts()
    assert (_decide(key_used=True, sent=sent).outcome, _decide(key_used=True).row) == (EXISTING, None)
    assert sent.asked == sent.added == []


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"channel": "push"}, "no-template"),
        # blocked comes before consent and address
        ({"recipient": _recipient(blocked=True, consents=NO_CONSENT, addresses=NO_ADDRESS)}, "member-blocked"),
        # consent comes before the address
        ({"recipient": _recipient(consents=NO_CONSENT, addresses=NO_ADDRESS)}, "no-consent"),
        ({"recipient": _recipient(addresses=NO_ADDRESS)}, "no-address"),
        ({"values": {"member_name": "Lan"}}, "missing-data"),
        ({"sent": Counts(already=2)}, "daily-cap"),
    ],
)
def test_each_rule_skips_in_its_order_and_the_cap_is_counted_last(kwargs, reason):
    sent = kwargs.pop("sent", Counts())
    decision = _decide(sent=sent, **kwargs)
    assert (decision.outcome, decision.row["status"], decision.row["skip_reason"]) == (SKIP, "skipped", reason)
    assert decision.row["queued_at"] is None
    assert sent.added == []  # a skipped message never counts against the cap
    assert bool(sent.asked) == (reason == "daily-cap")  # no count read for what an earlier rule skipped


def test_transactional_messages_skip_the_marketing_rules(settings):
    blocked_without_consent = _recipient(blocked=True, consents=dict.fromkeys(CHANNELS))
    sent = Counts(already=99)
    decision = _decide(marketing=False, recipient=blocked_without_consent, sent=sent)
    assert (decision.outcome, sent.asked) == (QUEUE, [])
    settings.NOTIFICATIONS_TRANSACTIONAL_REQUIRES_CONSENT = True
    assert _decide(marketing=False, recipient=blocked_without_consent).row["skip_reason"] == "no-consent"


def test_quiet_hours_hold_sms_to_the_morning_and_the_cap_counts_that_day():
    night = vn(2025, 6, 10, 22)
    sent = Counts()
    decision = _decide(channel="sms", now=night, sent=sent)
    assert (decision.outcome, decision.row["scheduled_at"]) == (HOLD, vn(2025, 6, 11, 8))
    assert decision.row["queued_at"] is None  # beyond the ETA horizon: the sweeper queues it
    assert sent.asked == sent.added == [(7, (vn(2025, 6, 11), vn(2025, 6, 12)))]
    assert _decide(channel="email", now=night).outcome == QUEUE


def test_the_cap_counts_the_messages_decided_before():
    sent = Counts(already=1)
    first, second = _decide(sent=sent), _decide(channel="sms", sent=sent)
    assert (first.outcome, second.row["skip_reason"]) == (QUEUE, "daily-cap")


# --- Single and bulk, the same rows ---------------------------------------------------------------


@pytest.fixture
def matrix_templates():
    """campaign (marketing) and points-earned (transactional): email and push in vi and en,
    SMS and Zalo in vi only."""
    for event, text in (("campaign", "{campaign_name}"), ("points-earned", "+{points_earned}")):
        for language in ("vi", "en"):
            make_template(event=event, channel="email", language=language, subject=f"S {language}",
                          body=f"{language} {text} {{member_name}} {{points_balance}}")  # fmt: skip
            make_template(event=event, channel="push", language=language, subject="P", body=f"{language} {text}")
        make_template(event=event, channel="sms", body=f"SMS {text} {{member_name}}")
        make_template(event=event, channel="zalo", zalo_template_id="55", zalo_params={"ten": "{member_name}"})


@pytest.fixture
def crowd():
    """One member per fact the rules tell apart."""
    made = {
        "vi": enrol(name="Lê Thị Vi"),
        "en": enrol(name="Anna Lee"),
        "en_no_token": enrol(name="Ben Lee"),
        "no_email": enrol(name="Đỗ Không Thư", email=""),
        "no_consent": enrol(name="Vũ Chưa Đồng Ý", consents={}),
        "sms_only": enrol(name="Hồ Chỉ Tin Nhắn", consents={"sms": True}),
        "email_push": enrol(name="Trịnh Thư Đẩy", consents={"email": True, "push": True}),
        "blocked": enrol(name="Phạm Văn Khóa"),
        "capped": enrol(name="Lý Đủ Tin"),
        "half": enrol(name="Mai Nửa Chừng"),
        "repeat": enrol(name="Đinh Lặp Lại"),
    }
    made["tokyo"] = enrol(name="Sato Tokyo", home_store=StoreFactory(time_zone="Asia/Tokyo"))
    for name in ("vi", "no_email", "sms_only", "email_push", "capped", "half", "repeat", "tokyo"):
        member_preference_set(member=made[name], push_token=f"device-{name}")
    member_preference_set(member=made["en"], language="en", push_token="device-en")
    member_preference_set(member=made["en_no_token"], language="en")
    member_block(member=made["blocked"], reason="Gian lận")
    return {name: Member.objects.get(pk=member.pk) for name, member in made.items()}


def _earlier_today(member, count, now):
    for i in range(count):
        message_enqueue(member=member, event="campaign", context={"campaign_name": "Sáng"}, channels=["email"],
                        dedupe_key=f"morning-{i}", now=now - datetime.timedelta(hours=1))  # fmt: skip


SCENARIOS = {
    "marketing at noon": ("campaign", NOON, False),
    "marketing at night": ("campaign", vn(2025, 6, 10, 22, 30), False),
    "transactional at noon, consent required": ("points-earned", NOON, True),
    "transactional at night": ("points-earned", vn(2025, 6, 10, 22, 30), False),
}


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_single_and_bulk_write_the_same_rows_under_every_rule(matrix_templates, crowd, settings, scenario):
    """consent on and off per channel, quiet hours, the daily cap reached (and half reached), a
    dedupe key already used, missing addresses, each language: message_enqueue member by member
    (rolled back) and messages_enqueue_bulk write the same Message rows, field by field, and
    queue the same sends."""
    event, now, consent_required = SCENARIOS[scenario]
    settings.NOTIFICATIONS_MARKETING_DAILY_CAP = 2
    settings.NOTIFICATIONS_TRANSACTIONAL_REQUIRES_CONSENT = consent_required
    context = {"campaign_name": "Hè"} if event == "campaign" else {"points_earned": 40}
    _earlier_today(crowd["capped"], 2, now)
    _earlier_today(crowd["half"], 1, now)
    message_enqueue(member=crowd["repeat"], event=event, context=context, channels=["email"], dedupe_key="matrix",
                    now=now)  # fmt: skip

    result, (rows, queued) = assert_same_as_one_by_one(
        crowd.values(), event=event, context=context, dedupe_key="matrix", now=now
    )

    by = {(crowd_name(crowd, r), r[FIELDS.index("channel")]): dict(zip(FIELDS, r, strict=True)) for r in rows}
    reason = {key: row["skip_reason"] for key, row in by.items()}
    # What the comparison covered, so that it cannot pass by comparing nothing in particular:
    assert result.existing == 1 and ("repeat", "email") not in by  # the key already used
    assert {row["language"] for row in by.values()} == {"vi", "en"}
    assert (by[("en", "email")]["language"], by[("en", "sms")]["language"]) == ("en", "vi")  # vi text for SMS
    assert reason[("no_email", "email")] == reason[("en_no_token", "push")] == "no-address"
    assert queued and result.dispatched == len(queued) == sum(row["queued_at"] is not None for row in by.values())
    quiet = now.hour >= 21
    assert (by[("vi", "sms")]["scheduled_at"] > now) == quiet
    assert by[("vi", "email")]["scheduled_at"] == now
    if event == "campaign":
        assert reason[("no_consent", "email")] == reason[("sms_only", "zalo")] == "no-consent"
        assert (reason[("email_push", "email")], reason[("email_push", "sms")]) == ("", "no-consent")
        assert reason[("blocked", "email")] == "member-blocked"
        assert reason[("capped", "email")] == "daily-cap"
        # The half-capped member gets one more today: at night SMS and Zalo go out tomorrow.
        half = [reason[("half", channel)] for channel in CHANNELS]
        assert half == (["", "", "", "daily-cap"] if quiet else ["", "daily-cap", "daily-cap", "daily-cap"])
    else:
        assert reason[("blocked", "email")] == reason[("capped", "email")] == ""
        assert (reason[("no_consent", "email")] == "no-consent") == consent_required


def crowd_name(crowd, row) -> str:
    member_id = row[FIELDS.index("member_id")]
    return next(name for name, member in crowd.items() if member.pk == member_id)
