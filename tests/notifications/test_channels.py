"""The channel backends against real local servers (HTTP gateways in a thread, a tiny SMTP
server), including their failures: timeouts, 5xx, rejected numbers. Nothing is mocked."""

import socket
import time

import pytest
from django.core import mail

from notifications.channels import (
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
    channel_backend,
)
from notifications.channels.console import ConsoleBackend
from notifications.channels.email import EmailBackend
from notifications.channels.push import HttpPushBackend
from notifications.channels.sms import BrandnameSmsBackend, strip_diacritics
from notifications.channels.zalo import ZaloZnsBackend
from tests.notifications.helpers import SmtpServer, push_settings, sms_settings, zalo_settings

SMS = OutgoingMessage(
    message_id=7,
    channel="sms",
    recipient="+84931234567",
    body="Bạn vừa được cộng 85 điểm. Đường đến quầy: tầng 2",
    tracking_id="loyalty-msg-7",
)
ZNS = OutgoingMessage(
    message_id=8,
    channel="zalo",
    recipient="+84931234567",
    zns_template_id="246810",
    zns_params={"customer_name": "Lê Thị Hoa", "point": "85"},
    tracking_id="loyalty-msg-8",
)
PUSH = OutgoingMessage(
    message_id=9, channel="push", recipient="device-token-xyz", subject="Điểm", body="+85 điểm", tracking_id="t-9"
)


def _sms(gateway, **options):
    return BrandnameSmsBackend(channel="sms", **sms_settings(f"{gateway.url}/sms", **options)["OPTIONS"])


def _zalo(gateway, **options):
    return ZaloZnsBackend(channel="zalo", **zalo_settings(f"{gateway.url}/zns", **options)["OPTIONS"])


def _push(gateway, **options):
    return HttpPushBackend(channel="push", **push_settings(f"{gateway.url}/push", **options)["OPTIONS"])


# --- SMS brandname ------------------------------------------------------------------------------


def test_sms_posts_the_brandname_request_and_returns_the_gateway_id(gateway):
    gateway.reply(200, {"CodeResult": "100", "CountRegenerate": 0, "SMSID": "d533459ee42b"})
    result = _sms(gateway).send(SMS)
    assert result.provider_message_id == "d533459ee42b"
    [request] = gateway.requests
    assert request.path == "/sms"
    assert request.headers["content-type"].startswith("application/json")
    assert request.body == {
        "ApiKey": "api-key-1",
        "SecretKey": "secret-1",
        "Brandname": "LOYALTY",
        "Phone": "84931234567",
        "Content": SMS.body,
        "SmsType": "2",
        "IsUnicode": "1",
        "Sandbox": "0",
        "RequestId": "loyalty-msg-7",
    }


def test_sms_without_unicode_strips_the_diacritics(gateway):
    _sms(gateway, unicode=False).send(SMS)
    body = gateway.requests[0].body
    assert body["IsUnicode"] == "0"
    assert body["Content"] == "Ban vua duoc cong 85 diem. Duong den quay: tang 2"
    assert strip_diacritics("Phở Hà Thành, Đà Nẵng") == "Pho Ha Thanh, Da Nang"


def test_sms_duplicate_request_id_means_an_earlier_attempt_got_through(gateway):
    gateway.reply(200, {"CodeResult": "124", "ErrorMessage": "Request exist 1"})
    assert _sms(gateway).send(SMS).provider_message_id == ""


@pytest.mark.parametrize("code", ["99", "108", "177"])
def test_sms_rejected_number_is_permanent(gateway, code):
    gateway.reply(200, {"CodeResult": code, "ErrorMessage": "Phone number is not in correct format"})
    with pytest.raises(PermanentSendError, match=f"rejected number: gateway code {code}"):
        _sms(gateway).send(SMS)


@pytest.mark.parametrize("code", ["101", "104", "146", "999"])
def test_sms_configuration_errors_and_unknown_codes_are_permanent(gateway, code):
    gateway.reply(200, {"CodeResult": code, "ErrorMessage": "Authorize Failed"})
    with pytest.raises(PermanentSendError, match=f"gateway code {code}"):
        _sms(gateway).send(SMS)


def test_sms_out_of_credit_is_transient(gateway):
    gateway.reply(200, {"CodeResult": "103", "ErrorMessage": "Balance not enough"})
    with pytest.raises(TransientSendError, match="not enough credit"):
        _sms(gateway).send(SMS)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientSendError),
        (503, TransientSendError),
        (429, TransientSendError),
        (401, PermanentSendError),
        (404, PermanentSendError),
    ],
)
def test_sms_http_errors(gateway, status, error):
    gateway.reply(status, {"error": "x"})
    with pytest.raises(error, match=f"HTTP {status}"):
        _sms(gateway).send(SMS)


def test_sms_timeout_is_transient_and_does_not_wait_for_the_gateway(gateway):
    gateway.reply(200, {"CodeResult": "100", "SMSID": "late"}, delay=2.0)
    started = time.monotonic()
    with pytest.raises(TransientSendError, match=r"timed out after 0\.3 s"):
        _sms(gateway, timeout=0.3).send(SMS)
    assert time.monotonic() - started < 1.5


def test_a_gateway_that_is_down_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = BrandnameSmsBackend(channel="sms", url=f"http://127.0.0.1:{port}/sms", timeout=0.5)
    with pytest.raises(TransientSendError, match="connection failed"):
        backend.send(SMS)


def test_a_missing_gateway_url_is_permanent():
    with pytest.raises(PermanentSendError, match="not configured"):
        BrandnameSmsBackend(channel="sms", url="").send(SMS)


def test_a_non_json_answer_is_permanent(gateway):
    gateway.reply(200, None)
    with pytest.raises(PermanentSendError, match="gateway code"):
        _sms(gateway).send(SMS)


# --- Zalo ZNS -----------------------------------------------------------------------------------


def test_zalo_posts_the_template_with_the_access_token_header(gateway):
    gateway.reply(200, {"error": 0, "message": "Success", "data": {"msg_id": "3367db02", "sent_time": "1"}})
    assert _zalo(gateway).send(ZNS).provider_message_id == "3367db02"
    [request] = gateway.requests
    assert request.headers["access_token"] == "oa-token-1"
    assert request.body == {
        "phone": "84931234567",
        "template_id": "246810",
        "template_data": {"customer_name": "Lê Thị Hoa", "point": "85"},
        "tracking_id": "loyalty-msg-8",
    }


@pytest.mark.parametrize("code", [-108, -118, -119])
def test_zalo_rejected_number_is_permanent(gateway, code):
    gateway.reply(200, {"error": code, "message": "Phone number invalid"})
    with pytest.raises(PermanentSendError, match=f"rejected number: Zalo error {code}"):
        _zalo(gateway).send(ZNS)


@pytest.mark.parametrize(
    ("code", "error"),
    [(-124, TransientSendError), (-216, TransientSendError), (-131, PermanentSendError), (-218, PermanentSendError)],
)
def test_zalo_error_codes(gateway, code, error):
    gateway.reply(200, {"error": code, "message": "x"})
    with pytest.raises(error, match=f"Zalo error {code}"):
        _zalo(gateway).send(ZNS)


def test_zalo_5xx_and_timeout_are_transient(gateway):
    gateway.reply(502, {"error": "bad gateway"})
    with pytest.raises(TransientSendError, match="HTTP 502"):
        _zalo(gateway).send(ZNS)
    gateway.reply(200, {"error": 0}, delay=1.5)
    with pytest.raises(TransientSendError, match="timed out"):
        _zalo(gateway, timeout=0.3).send(ZNS)


def test_zalo_development_mode_is_sent_when_configured(gateway):
    gateway.reply(200, {"error": 0, "data": {"msg_id": "m"}})
    ZaloZnsBackend(channel="zalo", url=f"{gateway.url}/zns", access_token="t", mode="development").send(ZNS)
    assert gateway.requests[0].body["mode"] == "development"


# --- Push ---------------------------------------------------------------------------------------


def test_push_posts_with_a_bearer_token(gateway):
    gateway.reply(201, {"id": "push-77"})
    assert _push(gateway).send(PUSH).provider_message_id == "push-77"
    [request] = gateway.requests
    assert request.headers["authorization"] == "Bearer push-token-1"
    assert request.body["to"] == "device-token-xyz"
    assert (request.body["title"], request.body["body"]) == ("Điểm", "+85 điểm")
    assert request.body["data"] == {"message_id": 9, "language": "vi"}


@pytest.mark.parametrize(
    ("status", "error"),
    [(410, PermanentSendError), (400, PermanentSendError), (429, TransientSendError), (500, TransientSendError)],
)
def test_push_status_mapping(gateway, status, error):
    gateway.reply(status, {"error": "x"})
    with pytest.raises(error):
        _push(gateway).send(PUSH)


def test_push_timeout_is_transient(gateway):
    gateway.reply(200, {"id": "late"}, delay=1.5)
    with pytest.raises(TransientSendError, match="timed out"):
        _push(gateway, timeout=0.3).send(PUSH)


# --- Email and the console ----------------------------------------------------------------------

EMAIL = OutgoingMessage(message_id=1, channel="email", recipient="an@example.vn", subject="Chào", body="Nội dung")


def test_email_goes_through_djangos_email_backend():
    result = EmailBackend(channel="email", from_email="loyalty@pho.vn").send(EMAIL)
    [sent] = mail.outbox
    assert (sent.to, sent.subject, sent.body, sent.from_email) == (
        ["an@example.vn"],
        "Chào",
        "Nội dung",
        "loyalty@pho.vn",
    )
    assert sent.extra_headers["Message-ID"].strip("<>") == result.provider_message_id


def test_email_refused_recipient_is_permanent_and_a_4xx_is_transient(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    for reply, error in (("550 5.1.1 no such user", PermanentSendError), ("451 4.3.0 try later", TransientSendError)):
        server = SmtpServer(rcpt_reply=reply)
        settings.EMAIL_PORT = server.port
        try:
            with pytest.raises(error):
                EmailBackend(channel="email", timeout=2).send(EMAIL)
        finally:
            server.stop()
    server = SmtpServer()
    settings.EMAIL_PORT = server.port
    try:
        EmailBackend(channel="email", timeout=2).send(EMAIL)
        assert "To: an@example.vn" in server.messages[0] and "Nội dung" in server.messages[0]
    finally:
        server.stop()


def test_console_backend_appends_json_lines(tmp_path):
    path = tmp_path / "outbox.jsonl"
    backend = ConsoleBackend(channel="sms", path=str(path))
    assert backend.send(SMS).provider_message_id == "console-7"
    backend.send(ZNS)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and '"body": "Bạn vừa được cộng 85 điểm' in lines[0]


def test_backends_are_chosen_in_settings_and_default_to_the_console(settings, gateway):
    settings.NOTIFICATIONS_CHANNELS = {"sms": sms_settings(f"{gateway.url}/sms")}
    assert isinstance(channel_backend("sms"), BrandnameSmsBackend)
    assert isinstance(channel_backend("push"), ConsoleBackend)
    assert channel_backend("sms").url == f"{gateway.url}/sms"
