"""The admin: templates with validation, preview and "send me a test"; the outbox read-only
with filters, per-channel counts and resending; member preferences through the service."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail

from notifications.models import MemberPreference, Message, MessageTemplate
from notifications.services import member_preference_set, message_enqueue, message_send
from tests.notifications.helpers import enrol, make_template, sms_settings, vn

pytestmark = pytest.mark.django_db

NOON = vn(2025, 6, 10, 12)
TEMPLATES_URL = "/admin/notifications/messagetemplate/"
MESSAGES_URL = "/admin/notifications/message/"


@pytest.fixture
def boss(client):
    user = get_user_model().objects.create_superuser("boss", email="boss@pho.vn", password="pw-for-tests-only")
    client.force_login(user)
    return user


@pytest.fixture
def template():
    return make_template(
        event="points-earned",
        channel="email",
        subject="Bạn vừa nhận {points_earned} điểm",
        body="Chào {member_name}, số dư {points_balance} điểm.",
    )


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Templates ----------------------------------------------------------------------------------


def test_adding_a_template_with_an_unknown_placeholder_shows_the_error_and_saves_nothing(client, boss):
    response = client.post(
        f"{TEMPLATES_URL}add/",
        {
            "event": "points-earned",
            "variant": "",
            "channel": "sms",
            "language": "vi",
            "subject": "",
            "body": "Bạn có {diem_moi} điểm",
            "zalo_template_id": "",
            "zalo_params": "{}",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "{diem_moi}" in errors["body"][0]
    assert not MessageTemplate.objects.exists()


def test_adding_a_valid_template_goes_through_the_service(client, boss):
    response = client.post(
        f"{TEMPLATES_URL}add/",
        {
            "event": "tier-changed",
            "variant": "  ",
            "channel": "zalo",
            "language": "vi",
            "subject": "",
            "body": "",
            "zalo_template_id": "123456",
            "zalo_params": '{"customer_name": "{member_name}", "rank": "{tier_name}"}',
            "is_active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    template = MessageTemplate.objects.get()
    assert template.zalo_params == {"customer_name": "{member_name}", "rank": "{tier_name}"}
    assert template.variant == ""


def test_the_change_page_lists_the_placeholders_and_links_the_preview(client, boss, template):
    page = client.get(f"{TEMPLATES_URL}{template.pk}/change/").content.decode()
    assert "<code>{points_earned}</code>" in page and "<code>{voucher_code}</code>" not in page
    assert f"{TEMPLATES_URL}{template.pk}/preview/" in page


def test_preview_renders_for_a_chosen_member(client, boss, template):
    member = enrol(name="Trịnh Công Sơn")
    response = client.get(f"{TEMPLATES_URL}{template.pk}/preview/", {"member": member.code})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Chào Trịnh Công Sơn, số dư 0 điểm." in page
    assert "Bạn vừa nhận 85 điểm" in page  # an example value for what the member does not hold
    unknown = client.get(f"{TEMPLATES_URL}{template.pk}/preview/", {"member": "KHONG-CO"})
    assert unknown.context["form"].errors["member"]


def test_the_preview_action_opens_the_preview_of_the_selected_template(client, boss, template):
    response = client.post(TEMPLATES_URL, {"action": "preview_and_test", "_selected_action": [template.pk]})
    assert response.status_code == 302 and response["Location"] == f"{TEMPLATES_URL}{template.pk}/preview/"


def test_send_me_a_test_email_goes_to_the_staff_users_own_address(client, boss, template):
    member = enrol(name="Lý Thu Hà")
    response = client.post(
        f"{TEMPLATES_URL}{template.pk}/preview/", {"member": member.phone, "recipient": ""}, follow=True
    )
    assert any("boss@pho.vn" in m for m in _messages(response))
    [email] = mail.outbox
    assert (email.to, email.subject, email.body) == (
        ["boss@pho.vn"],
        "Bạn vừa nhận 85 điểm",
        "Chào Lý Thu Hà, số dư 0 điểm.",
    )
    assert not Message.objects.exists()  # a test is not an outbox message


def test_send_me_a_test_sms_goes_to_the_phone_entered(client, boss, gateway, settings):
    settings.NOTIFICATIONS_CHANNELS = {"sms": sms_settings(f"{gateway.url}/sms")}
    sms = make_template(event="birthday", channel="sms", body="Chúc mừng sinh nhật {member_name}!")
    response = client.post(
        f"{TEMPLATES_URL}{sms.pk}/preview/", {"member": "", "recipient": "0912 345 678"}, follow=True
    )
    assert any("+84912345678" in m for m in _messages(response)), _messages(response)
    [request] = gateway.requests
    assert request.body["Phone"] == "84912345678"
    assert request.body["Content"] == "Chúc mừng sinh nhật Nguyễn Thị Minh Anh!"


def test_a_test_to_a_bad_phone_or_a_refusing_gateway_is_reported_and_nothing_is_sent(client, boss, gateway, settings):
    settings.NOTIFICATIONS_CHANNELS = {"sms": sms_settings(f"{gateway.url}/sms")}
    sms = make_template(event="birthday", channel="sms", body="Chúc mừng {member_name}")
    response = client.post(f"{TEMPLATES_URL}{sms.pk}/preview/", {"recipient": "12ab"}, follow=True)
    assert response.status_code == 200 and gateway.requests == []
    assert not Message.objects.exists()
    assert any("0912345678" in m for m in _messages(response))  # the phone format hint
    gateway.reply(200, {"CodeResult": "108", "ErrorMessage": "Phone number is not in correct format"})
    response = client.post(f"{TEMPLATES_URL}{sms.pk}/preview/", {"recipient": "0912345678"}, follow=True)
    assert any("rejected number" in m for m in _messages(response))
    response = client.post(f"{TEMPLATES_URL}{sms.pk}/preview/", {"recipient": ""})
    assert response.context["form"].errors["recipient"]


def test_a_user_who_may_only_view_templates_can_preview_but_not_send(client, template):
    viewer = get_user_model().objects.create_user("viewer", password="pw-for-tests-only", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Store manager"))
    client.force_login(viewer)
    assert client.get(f"{TEMPLATES_URL}{template.pk}/preview/").status_code == 200
    assert client.post(f"{TEMPLATES_URL}{template.pk}/preview/", {"recipient": "a@b.vn"}).status_code == 403
    assert mail.outbox == []


# --- The outbox ---------------------------------------------------------------------------------


@pytest.fixture
def outbox(gateway, settings):
    """Messages in every state: two sent, one failed, one skipped, one pending."""
    settings.NOTIFICATIONS_CHANNELS = {"sms": sms_settings(f"{gateway.url}/sms")}
    make_template(event="points-earned", channel="email", subject="Điểm", body="+{points_earned}")
    make_template(event="points-earned", channel="sms", body="+{points_earned}")
    member = enrol(name="Phan Đình Tùng", email="tung@example.vn")
    no_email = enrol(name="Không Email", email="")
    sent_email, sent_sms = message_enqueue(member=member, event="points-earned", context={"points_earned": 1}, now=NOON)
    _skipped, failed = message_enqueue(member=no_email, event="points-earned", context={"points_earned": 2}, now=NOON)
    message_send(message_id=sent_email.pk, now=NOON)
    message_send(message_id=sent_sms.pk, now=NOON)
    gateway.reply(200, {"CodeResult": "108", "ErrorMessage": "bad number"})
    message_send(message_id=failed.pk, now=NOON)
    [pending] = message_enqueue(
        member=member, event="points-earned", context={"points_earned": 3}, channels=["email"], now=NOON
    )
    return failed, pending


def test_the_outbox_lists_with_filters_and_counts_per_channel(client, boss, outbox):
    response = client.get(MESSAGES_URL)
    assert response.status_code == 200
    counts = {row.channel: row.counts for row in response.context["delivery_counts"]}
    assert counts["email"] == {"pending": 1, "sending": 0, "sent": 1, "failed": 0, "skipped": 1}
    assert counts["sms"] == {"pending": 0, "sending": 0, "sent": 1, "failed": 1, "skipped": 0}
    assert 'id="delivery-counts"' in response.content.decode()

    filtered = client.get(MESSAGES_URL, {"status__exact": "failed"})
    assert [m.status for m in filtered.context["cl"].result_list] == ["failed"]
    assert [r.channel for r in filtered.context["delivery_counts"]] == ["sms"]
    by_channel = client.get(MESSAGES_URL, {"channel__exact": "email", "event__exact": "points-earned"})
    assert {m.channel for m in by_channel.context["cl"].result_list} == {"email"}
    by_day = client.get(MESSAGES_URL, {"created_at__year": "1999"})
    assert by_day.context["cl"].result_count == 0
    searched = client.get(MESSAGES_URL, {"q": "Phan Đình"})
    assert searched.context["cl"].result_count == 3


def test_an_outbox_message_is_read_only(client, boss, outbox):
    failed, _pending = outbox
    page = client.get(f"{MESSAGES_URL}{failed.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(f"{MESSAGES_URL}add/").status_code == 403
    before = Message.objects.values().get(pk=failed.pk)
    client.post(f"{MESSAGES_URL}{failed.pk}/change/", {"status": "sent"})
    assert Message.objects.values().get(pk=failed.pk) == before


def test_resend_requeues_failed_messages_and_leaves_others_alone(client, boss, outbox, gateway):
    failed, pending = outbox
    gateway.reply(200, {"CodeResult": "100", "SMSID": "again"})
    before_pending = Message.objects.values().get(pk=pending.pk)
    client.cookies["django_language"] = "en"  # the messages below are checked in English
    response = client.post(MESSAGES_URL, {"action": "resend", "_selected_action": [failed.pk, pending.pk]}, follow=True)
    shown = _messages(response)
    assert any("1 message" in m for m in shown) and any("only failed messages" in m for m in shown)
    failed.refresh_from_db()
    # Queued after commit; in this (rolled-back) test transaction the commit never comes.
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 0, "")
    assert Message.objects.values().get(pk=pending.pk) == before_pending


def test_marketing_staff_may_look_at_the_outbox_and_resend_but_store_managers_may_not(client, outbox, gateway):
    failed, _pending = outbox
    manager = get_user_model().objects.create_user("mgr", password="pw-for-tests-only", is_staff=True)
    manager.groups.add(Group.objects.get(name="Store manager"))
    client.force_login(manager)
    response = client.get(MESSAGES_URL)
    assert response.status_code == 200
    assert 'value="resend"' not in response.content.decode()
    client.post(MESSAGES_URL, {"action": "resend", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status == "failed"
    marketer = get_user_model().objects.create_user("mkt", password="pw-for-tests-only", is_staff=True)
    marketer.groups.add(Group.objects.get(name="Marketing"))
    client.force_login(marketer)
    assert 'value="resend"' in client.get(MESSAGES_URL).content.decode()
    gateway.reply(200, {"CodeResult": "100", "SMSID": "again"})
    client.post(MESSAGES_URL, {"action": "resend", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status != "failed"


# --- Preferences --------------------------------------------------------------------------------


def test_member_preferences_are_saved_through_the_service_and_the_push_address_is_read_only(client, boss):
    member = enrol()
    response = client.post(
        "/admin/notifications/memberpreference/add/",
        {"member": member.pk, "language": "en", "push_token": "  device-9  "},
        follow=True,
    )
    assert response.status_code == 200
    preference = MemberPreference.objects.get()
    # The push address typed in (a crafted POST: the form has no such field) is not taken.
    assert (preference.member_id, preference.language, preference.push_token) == (member.pk, "en", "")
    member_preference_set(member=member, push_token="device-of-the-member")
    change_url = f"/admin/notifications/memberpreference/{preference.pk}/change/"
    assert 'name="push_token"' not in client.get(change_url).content.decode()
    client.post(change_url, {"member": member.pk, "language": "vi", "push_token": "attacker"}, follow=True)
    preference.refresh_from_db()
    assert (preference.language, preference.push_token) == ("vi", "device-of-the-member")
    assert client.get("/admin/notifications/memberpreference/").status_code == 200
