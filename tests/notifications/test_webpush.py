"""Web push (RFC 8030 / 8291 / 8292) through pywebpush, against a real push service stand-in on
127.0.0.1 that checks the VAPID Authorization header (an ES256 JWT for its origin, signed by
our key) and decrypts the aes128gcm body with the browser's keys. No network."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from notifications.management.commands.vapid_keys import vapid_key_pair
from notifications.models import MemberPreference, PushSubscription
from notifications.services import message_enqueue, message_send, push_subscribe
from tests.notifications.helpers import enrol, make_template, vn

pytestmark = pytest.mark.django_db
NOON = vn(2025, 6, 10, 12)
SUBJECT = "mailto:ops@example.vn"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What a browser keeps for its subscription: its ECDH key and auth secret."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )


@dataclass
class PushService:
    """A push service on 127.0.0.1: records each request (headers, raw body) and answers with
    the next scripted status (default 201)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[str, dict, bytes]] = field(default_factory=list)

    def __post_init__(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                service.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = service.statuses.pop(0) if service.statuses else 201
                self.send_response(status)
                self.send_header("Location", f"{service.origin}/m/msg-{len(service.received)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service():
    server = PushService()
    yield server
    server.stop()


@pytest.fixture
def vapid(settings):
    public, private = vapid_key_pair()
    settings.WEBPUSH_INSECURE_HOSTS = ["127.0.0.1"]
    settings.MESSAGE_FILES_DIR = ""
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_CHANNELS = {
        "push": {
            "BACKEND": "notifications.channels.webpush.WebPushBackend",
            "OPTIONS": {"vapid_private_key": private, "vapid_subject": SUBJECT, "ttl": 3600, "timeout": 2},
        }
    }
    return public


@pytest.fixture
def subscribed(service, vapid):
    make_template(event="points-earned", channel="push", subject="Điểm mới", body="+{points_earned} điểm")
    member = enrol(name="Ngô Bảo Châu")
    browser = Browser()
    subscription = push_subscribe(
        member=member, endpoint=f"{service.origin}/push/abc123", p256dh=browser.p256dh, auth=b64(browser.auth)
    )
    return member, browser, subscription


def send(member):
    [message] = message_enqueue(member=member, event="points-earned", context={"points_earned": 85}, now=NOON)
    return message_send(message_id=message.pk, now=NOON)


def verify_vapid(authorization: str, *, public_key: str, origin: str) -> dict:
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    assert values["k"] == public_key
    header, claims, signature = values["t"].split(".")
    assert json.loads(unb64(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64(signature)
    assert len(raw) == 64
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(public_key))
    key.verify(  # raises InvalidSignature
        encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
        f"{header}.{claims}".encode(),
        ec.ECDSA(hashes.SHA256()),
    )
    return json.loads(unb64(claims))


def test_a_push_message_reaches_the_push_service_signed_and_encrypted_for_the_browser(service, vapid, subscribed):
    member, browser, subscription = subscribed
    message = send(member)
    assert message.status == "sent", message.last_error
    assert message.recipient == subscription.endpoint
    [(path, headers, body)] = service.received
    assert path == "/push/abc123"
    claims = verify_vapid(headers["authorization"], public_key=vapid, origin=service.origin)
    assert claims["aud"] == service.origin and claims["sub"] == SUBJECT and claims["exp"] > time.time()
    assert headers["content-encoding"] == "aes128gcm" and headers["ttl"] == "3600"
    payload = json.loads(http_ece.decrypt(body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"))
    assert payload["title"] == "Điểm mới" and payload["body"] == "+85 điểm"
    assert payload["url"].endswith("/m/") and payload["tag"] == f"loyalty-msg-{message.pk}"
    assert message.provider_message_id == f"{service.origin}/m/msg-1"
    subscription.refresh_from_db()
    assert subscription.last_success_at is not None


def test_a_different_key_does_not_verify(service, vapid, subscribed):
    member, _browser, _subscription = subscribed
    send(member)
    other_public, _private = vapid_key_pair()
    with pytest.raises(AssertionError):
        verify_vapid(service.received[0][1]["authorization"], public_key=other_public, origin=service.origin)


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_fails_permanently_and_is_disabled(service, subscribed, status):
    member, _browser, subscription = subscribed
    service.statuses = [status]
    message = send(member)
    assert message.status == "failed" and message.attempts == 1 and str(status) in message.last_error
    subscription.refresh_from_db()
    assert subscription.disabled_at is not None and str(status) in subscription.disabled_reason
    # No longer the member's push address: the next push message is skipped for no address.
    assert MemberPreference.objects.get(member=member).push_token == ""
    [again] = message_enqueue(member=member, event="points-earned", context={"points_earned": 1}, now=NOON)
    assert (again.status, again.skip_reason) == ("skipped", "no-address")
    assert len(service.received) == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_busy_or_failing_push_service_is_transient(service, subscribed, status):
    member, _browser, subscription = subscribed
    service.statuses = [status]
    message = send(member)
    assert message.status == "pending" and message.attempts == 1 and str(status) in message.last_error
    subscription.refresh_from_db()
    assert subscription.disabled_at is None


@pytest.mark.parametrize("status", [400, 403, 413])
def test_other_refusals_are_permanent_and_keep_the_subscription(service, subscribed, status):
    member, _browser, subscription = subscribed
    service.statuses = [status]
    assert send(member).status == "failed"
    subscription.refresh_from_db()
    assert subscription.disabled_at is None


def test_a_push_service_that_is_down_is_transient(vapid, settings):
    make_template(event="points-earned", channel="push", subject="Điểm", body="+{points_earned}")
    member = enrol()
    browser = Browser()
    push_subscribe(member=member, endpoint="http://127.0.0.1:9/push/x", p256dh=browser.p256dh, auth=b64(browser.auth))
    message = send(member)
    assert message.status == "pending" and "connection" in message.last_error


def test_without_an_active_subscription_for_the_address_it_fails_permanently(service, subscribed):
    member, _browser, subscription = subscribed
    PushSubscription.objects.filter(pk=subscription.pk).delete()
    message = send(member)
    assert message.status == "failed" and "no active web push subscription" in message.last_error
    assert service.received == []


def test_without_vapid_settings_it_fails_permanently(settings, service, subscribed):
    settings.NOTIFICATIONS_CHANNELS["push"]["OPTIONS"]["vapid_private_key"] = ""
    member, _browser, _subscription = subscribed
    assert send(member).status == "failed"
    assert service.received == []


def test_the_vapid_keys_command_prints_a_usable_pair(capsys):
    from django.core.management import call_command

    call_command("vapid_keys")
    out = capsys.readouterr().out
    public = out.split("WEBPUSH_VAPID_PUBLIC_KEY=")[1].split()[0]
    private = out.split("WEBPUSH_VAPID_PRIVATE_KEY=")[1].split()[0]
    assert len(unb64(public)) == 65 and unb64(public)[0] == 4 and len(unb64(private)) == 32
    from py_vapid import Vapid

    vapid = Vapid.from_string(private_key=private)
    assert (
        b64(vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
        == public
    )
