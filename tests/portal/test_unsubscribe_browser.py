"""In a phone's browser (390×844): the unsubscribe link of a marketing email, read from the
message file, opens without signing in; the page changes nothing until the button is pressed."""

import json
import re

import pytest

from members.models import ConsentChange, Member
from notifications.services import message_enqueue, message_send
from tests.browser import screenshot
from tests.notifications.helpers import enrol, make_template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_unsubscribe_from_an_email_link_without_signing_in(phone_page, live_server, settings, tmp_path):
    settings.MESSAGE_FILES_DIR = str(tmp_path)
    settings.PORTAL_BASE_URL = live_server.url
    make_template(event="campaign", channel="email", subject="Ưu đãi tháng 6", body="Chào {member_name}")
    member = enrol(name="Phan Thị Ngọc", email="ngoc@example.vn", consents={"email": True, "sms": True})
    [message] = message_enqueue(member=member, event="campaign", context={"campaign_name": "Hè"}, channels=["email"])
    assert message_send(message_id=message.pk).status == "sent"
    [line] = [json.loads(text) for text in (tmp_path / "email.jsonl").read_text(encoding="utf-8").splitlines()]
    link = re.search(r"https?://\S+/m/unsubscribe/\S+", line["text"]).group(0)

    phone_page.goto(link)
    button = phone_page.locator("[data-unsubscribe=confirm]")
    assert button.is_visible()
    screenshot(phone_page, "unsubscribe-confirm")
    assert Member.objects.get(pk=member.pk).consent_email_at is not None  # opening changed nothing

    button.click()
    phone_page.locator("[data-unsubscribe=done]").wait_for()
    screenshot(phone_page, "unsubscribe-done")
    member.refresh_from_db()
    assert member.consent_email_at is None and member.consent_sms_at is not None
    assert (
        ConsentChange.objects.filter(member=member, channel="email", given=False, source="unsubscribe-link").count()
        == 1
    )
