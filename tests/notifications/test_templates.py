"""Templates: placeholders checked when saving (nothing saved on refusal), rendering in
Vietnamese and English, and the demo templates."""

import datetime

import pytest
from django.utils import translation

from loyalty_site.core.errors import ValidationFailed
from notifications.demo import TEMPLATES, demo_notifications_load
from notifications.models import MemberPreference, MessageTemplate
from notifications.rendering import EVENT_PLACEHOLDERS, PLACEHOLDERS, format_value, placeholders_in
from notifications.services import member_preference_set, message_enqueue, template_preview, template_save
from tests.notifications.helpers import VN, enrol, make_template, vn

pytestmark = pytest.mark.django_db


def _refused(**fields) -> dict:
    before = MessageTemplate.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        make_template(**fields)
    assert MessageTemplate.objects.count() == before
    return caught.value.errors


def test_an_unknown_placeholder_is_refused_with_a_clear_message_and_nothing_is_saved():
    with translation.override("en"):
        errors = _refused(event="points-earned", channel="sms", body="Bạn có {member_nam} điểm")
    assert errors["body"] == [
        "Unknown placeholder {member_nam}. Available for this event: {member_name}, {points_balance}, "
        "{store_name}, {points_earned}, {tier_name}."
    ]


@pytest.mark.parametrize(
    "body",
    [
        "{member_name.__class__}",  # attribute access
        "{member_name[0]}",  # indexing
        "{points_earned:>10}",  # a format spec
        "{member_name!r}",  # a conversion
        "{}",  # positional
        "Xin chào {member_name",  # unbalanced
        "Xin chào member_name}",
    ],
)
def test_anything_but_a_plain_placeholder_is_refused(body):
    errors = _refused(event="points-earned", channel="sms", body=body)
    assert errors["body"]


def test_a_placeholder_of_another_event_is_refused():
    errors = _refused(event="tier-changed", channel="email", subject="Hạng mới", body="Mã {voucher_code}")
    assert "{voucher_code}" in errors["body"][0]


def test_each_channel_needs_its_parts():
    assert "subject" in _refused(event="birthday", channel="email", body="Chúc mừng {member_name}")
    assert "body" in _refused(event="birthday", channel="sms", body="  ")
    errors = _refused(event="birthday", channel="zalo", body="x", zalo_params={})
    assert set(errors) == {"zalo_template_id", "zalo_params"}
    errors = _refused(event="birthday", channel="zalo", zalo_template_id="123", zalo_params={"name": "{nope}"})
    assert "{nope}" in errors["zalo_params"][0]
    errors = _refused(event="birthday", channel="zalo", zalo_template_id="123", zalo_params={"n": 5})
    assert errors["zalo_params"]


def test_a_second_template_for_the_same_event_channel_and_language_is_refused():
    make_template(event="birthday", channel="sms", body="Chúc mừng sinh nhật {member_name}")
    errors = _refused(event="birthday", channel="sms", body="Lần hai")
    assert errors
    assert MessageTemplate.objects.count() == 1


def test_literal_braces_are_written_doubled():
    template = make_template(event="points-earned", channel="sms", body="{{KM}} +{points_earned}")
    assert placeholders_in(template.body) == ["points_earned"]
    member = enrol()
    [message] = message_enqueue(
        member=member, event="points-earned", context={"points_earned": 5}, now=vn(2025, 6, 10, 12)
    )
    assert message.body == "{KM} +5"


def test_every_event_offers_the_member_placeholders_and_only_known_ones():
    for event, names in EVENT_PLACEHOLDERS.items():
        assert set(names) <= set(PLACEHOLDERS)
        if event == "sign-in-code":  # also sent to phones that are no member's yet: the code only
            assert names == ("one_time_code",)
        else:
            assert {"member_name", "points_balance", "store_name"} <= set(names)


def test_values_are_formatted_for_the_language():
    assert format_value(1250000, language="vi", zone=VN) == "1.250.000"
    assert format_value(1250000, language="en", zone=VN) == "1,250,000"
    assert format_value(datetime.date(2025, 12, 31), language="vi", zone=VN) == "31/12/2025"
    assert format_value(datetime.date(2025, 12, 31), language="en", zone=VN) == "31 Dec 2025"
    # 17:30 UTC on the 31st is already the 1st in Hanoi.
    moment = datetime.datetime(2025, 12, 31, 17, 30, tzinfo=datetime.UTC)
    assert format_value(moment, language="vi", zone=VN) == "01/01/2026"


def test_a_member_gets_the_template_of_their_language_and_vietnamese_when_theirs_is_missing():
    demo_notifications_load()
    context = {"points_earned": 1200}
    now = vn(2025, 6, 10, 12)
    vi_member = enrol(name="Lê Văn Bình")
    en_member = enrol(name="John Smith")
    member_preference_set(member=en_member, language="en")

    vi_msgs = {m.channel: m for m in message_enqueue(member=vi_member, event="points-earned", context=context, now=now)}
    en_msgs = {m.channel: m for m in message_enqueue(member=en_member, event="points-earned", context=context, now=now)}
    assert vi_msgs["email"].language == "vi"
    assert vi_msgs["email"].subject == "Bạn vừa nhận 1.200 điểm"
    assert vi_msgs["sms"].body.startswith("Lê Văn Bình ơi, bạn vừa được cộng 1.200 điểm.")
    assert en_msgs["email"].language == "en"
    assert en_msgs["email"].subject == "You earned 1,200 points"
    assert en_msgs["sms"].body.startswith("John Smith, you earned 1,200 points.")

    MessageTemplate.objects.filter(event="points-earned", language="en", channel="sms").update(is_active=False)
    again = {m.channel: m for m in message_enqueue(member=en_member, event="points-earned", context=context, now=now)}
    assert again["sms"].language == "vi" and "bạn vừa được cộng" in again["sms"].body
    assert again["email"].language == "en"


def test_a_variant_falls_back_to_the_events_default_text():
    make_template(event="campaign", channel="email", subject="Ưu đãi", body="Chung cho {member_name}")
    make_template(event="campaign", variant="TET", channel="email", subject="Tết", body="Tết {campaign_name}")
    member = enrol()
    now = vn(2025, 6, 10, 12)
    [tet] = message_enqueue(member=member, event="campaign", variant="TET", context={"campaign_name": "2026"}, now=now)
    [other] = message_enqueue(member=member, event="campaign", variant="HE", now=now)
    assert tet.subject == "Tết" and tet.body.startswith("Tết 2026\n")  # then the unsubscribe link
    assert other.body.startswith("Chung cho Trần Thị Thu\n")


def test_preview_renders_for_a_member_or_with_example_values():
    template = make_template(
        event="points-expiring",
        channel="email",
        subject="{expiring_points} điểm sắp hết hạn",
        body="{member_name}: số dư {points_balance}, hạn {expiry_date}",
    )
    member = enrol(name="Phạm Minh Châu")
    rendered = template_preview(template=template, member=member)
    assert rendered.subject == "320 điểm sắp hết hạn"
    assert rendered.body.startswith("Phạm Minh Châu: số dư 0, hạn ")
    assert not rendered.missing
    assert template_preview(template=template).body.startswith("Nguyễn Thị Minh Anh: số dư 1.250")


def test_demo_templates_are_loaded_once_and_never_overwritten():
    assert demo_notifications_load() == len(TEMPLATES) + 1
    events = set(MessageTemplate.objects.values_list("event", flat=True))
    assert events == {
        "points-earned",
        "tier-changed",
        "voucher-issued",
        "points-expiring",
        "birthday",
        "presence-code",
        "sign-in-code",
        "membership-renewal",
        "membership-expired",
    }
    for event in events:
        for language in ("vi", "en"):
            # email and SMS; the one-time codes and paid membership by SMS only (Zalo once a ZNS
            # template is approved)
            sms_only = ("presence-code", "sign-in-code", "membership-renewal", "membership-expired")
            expected = 1 if event in sms_only else 2
            assert MessageTemplate.objects.filter(event=event, language=language, is_active=True).count() == expected
    edited = MessageTemplate.objects.get(event="birthday", channel="sms", language="vi")
    edited.body = "Sửa bởi marketing {member_name}"
    template_save(template=edited)
    assert demo_notifications_load() == 0
    edited.refresh_from_db()
    assert edited.body == "Sửa bởi marketing {member_name}"
    zns = MessageTemplate.objects.get(channel="zalo")
    assert not zns.is_active and zns.zalo_params["customer_name"] == "{member_name}"


def test_an_unknown_language_preference_is_refused_and_nothing_is_written():
    member = enrol()
    with pytest.raises(ValidationFailed) as caught:
        member_preference_set(member=member, language="fr")
    assert "language" in caught.value.errors
    assert not MemberPreference.objects.exists()
    member_preference_set(member=member, language="en", push_token=" tok ")
    with pytest.raises(ValidationFailed):
        member_preference_set(member=member, language="xx", push_token="other")
    assert MemberPreference.objects.values_list("language", "push_token").get() == ("en", "tok")
