"""MESSAGE_FILES_DIR (member-web.md): every outgoing message, on every channel, is appended
instead of being sent as one JSON line {"channel", "to", "subject", "text"} to
<dir>/<channel>.jsonl, whatever the channel's own backend; the message is marked sent."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from notifications.channels import OutgoingMessage, channel_backend
from notifications.channels.files import MessageFileBackend
from notifications.services import member_preference_set, message_enqueue, message_send
from tests.notifications.helpers import enrol, make_template, sms_settings, vn

pytestmark = pytest.mark.django_db
NOON = vn(2025, 6, 10, 12)


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def files_dir(settings, tmp_path):
    settings.MESSAGE_FILES_DIR = str(tmp_path / "messages")
    # A real gateway configured: the files win, nothing is sent to it.
    settings.NOTIFICATIONS_CHANNELS = {"sms": sms_settings("http://127.0.0.1:9/never")}
    return tmp_path / "messages"


def test_every_channel_uses_the_file_backend_when_the_setting_is_set(files_dir):
    for channel in ("email", "sms", "zalo", "push"):
        backend = channel_backend(channel)
        assert isinstance(backend, MessageFileBackend) and backend.path() == files_dir / f"{channel}.jsonl"


def test_without_the_setting_the_configured_backend_is_used(settings):
    settings.MESSAGE_FILES_DIR = ""
    settings.NOTIFICATIONS_CHANNELS = {"sms": sms_settings("http://127.0.0.1:9/never")}
    assert not isinstance(channel_backend("sms"), MessageFileBackend)


def test_messages_on_each_channel_are_appended_as_one_json_line_and_marked_sent(files_dir):
    make_template(event="points-earned", channel="sms", body="{member_name} +{points_earned} điểm")
    make_template(event="points-earned", channel="email", subject="Điểm mới", body="Chào {member_name}")
    make_template(event="points-earned", channel="push", subject="Điểm", body="+{points_earned}")
    member = enrol(name="Đỗ Thị Hoa", email="hoa@example.vn", phone="0912345678")
    member_preference_set(member=member, push_token="https://push.example.com/wpush/v2/abc")
    for points in (85, 12):
        for message in message_enqueue(
            member=member, event="points-earned", context={"points_earned": points}, now=NOON
        ):
            assert message_send(message_id=message.pk, now=NOON).status == "sent"

    assert lines(files_dir / "sms.jsonl") == [
        {"channel": "sms", "to": "+84912345678", "subject": "", "text": "Đỗ Thị Hoa +85 điểm"},
        {"channel": "sms", "to": "+84912345678", "subject": "", "text": "Đỗ Thị Hoa +12 điểm"},
    ]
    assert lines(files_dir / "email.jsonl")[0] == {
        "channel": "email", "to": "hoa@example.vn", "subject": "Điểm mới", "text": "Chào Đỗ Thị Hoa"
    }  # fmt: skip
    assert lines(files_dir / "push.jsonl")[1] == {
        "channel": "push", "to": "https://push.example.com/wpush/v2/abc", "subject": "Điểm", "text": "+12"
    }  # fmt: skip
    assert not (files_dir / "zalo.jsonl").exists()
    assert mail.outbox == []  # written, not sent


def test_a_line_is_one_write_in_append_mode_and_keeps_vietnamese_readable(files_dir):
    backend = MessageFileBackend(channel="sms", directory=str(files_dir))
    backend.send(OutgoingMessage(message_id=1, channel="sms", recipient="+84912345678", body="Mã: 123456\nHết hạn"))
    backend.send(OutgoingMessage(message_id=2, channel="sms", recipient="+84912345679", body="Mã: 654321"))
    raw = (files_dir / "sms.jsonl").read_text(encoding="utf-8")
    assert raw.count("\n") == 2 and "Hết hạn" in raw  # the text's own newline is escaped
    assert [line["text"] for line in lines(files_dir / "sms.jsonl")] == ["Mã: 123456\nHết hạn", "Mã: 654321"]


def test_an_unwritable_directory_fails_the_message_with_the_reason(settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    settings.MESSAGE_FILES_DIR = str(blocker / "messages")  # a directory inside a file
    make_template(event="points-earned", channel="sms", body="+{points_earned}")
    member = enrol(phone="0912345678")
    [message] = message_enqueue(member=member, event="points-earned", context={"points_earned": 1}, now=NOON)
    message = message_send(message_id=message.pk, now=NOON)
    assert message.status == "failed" and "message file" in message.last_error
