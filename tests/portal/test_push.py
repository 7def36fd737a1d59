"""The member side of web push: subscribing and unsubscribing from the member pages (signed in,
CSRF, strict JSON), the service worker at /m/sw.js, and the button (no inline script, absent
without a VAPID key)."""

from __future__ import annotations

import base64
import json
import os
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from members.models import ConsentChange, Member
from notifications.models import MemberPreference, PushSubscription
from tests.factories import MemberFactory
from tests.members.helpers import written_state
from tests.portal.helpers import sign_in

pytestmark = pytest.mark.django_db
SUBSCRIBE, UNSUBSCRIBE = "/m/push/subscribe/", "/m/push/unsubscribe/"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_keys() -> dict:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"p256dh": b64(point), "auth": b64(os.urandom(16))}


def subscription(endpoint=ENDPOINT, **extra) -> dict:
    return {"endpoint": endpoint, "expirationTime": None, "keys": browser_keys(), **extra}


def state():
    return (
        written_state(),
        list(PushSubscription.objects.order_by("pk").values_list("pk", "member_id", "endpoint", "disabled_at")),
        list(MemberPreference.objects.order_by("pk").values_list("member_id", "push_token")),
    )


def post(client, url, body):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json")


@pytest.fixture
def member_client():
    member = MemberFactory(name="Trương Mỹ Lan")
    client = Client()
    sign_in(client, member)
    return member, client


def test_subscribing_saves_the_push_address_and_records_push_consent_from_member_web(member_client):
    member, client = member_client
    response = post(client, SUBSCRIBE, subscription())
    assert response.status_code == 200 and response.json() == {"ok": True}
    saved = PushSubscription.objects.get()
    assert (saved.member, saved.endpoint, saved.disabled_at) == (member, ENDPOINT, None)
    assert MemberPreference.objects.get(member=member).push_token == ENDPOINT
    member.refresh_from_db()
    assert member.consent_push_at is not None
    assert list(ConsentChange.objects.filter(member=member).values_list("channel", "given", "source")) == [
        ("push", True, "member-web")
    ]
    # The same browser again: still one subscription, one consent record.
    assert post(client, SUBSCRIBE, subscription()).status_code == 200
    assert PushSubscription.objects.count() == 1 and ConsentChange.objects.filter(member=member).count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        (b"not json", "body"),
        ([1, 2], "body"),
        ({"endpoint": ENDPOINT}, "keys"),
        (subscription(keys={"p256dh": "x"}), "keys"),
        (subscription(extra="x"), "extra"),
        (subscription(expirationTime="soon"), "expirationTime"),
        (subscription(endpoint="http://fcm.googleapis.com/x"), "endpoint"),
        (subscription(endpoint="https://10.0.0.5/push"), "endpoint"),
        (subscription(endpoint="https://localhost/push"), "endpoint"),
        (subscription(endpoint="https://db.internal/push"), "endpoint"),
        (subscription(endpoint="https://" + "a" * 1000 + ".com/"), "endpoint"),
        (subscription(endpoint=42), "endpoint"),
        ({**subscription(), "keys": {"p256dh": b64(b"\x04" + b"1" * 30), "auth": b64(os.urandom(16))}}, "p256dh"),
        ({**subscription(), "keys": {"p256dh": browser_keys()["p256dh"], "auth": b64(b"short")}}, "auth"),
        (b"{" + b" " * 5000 + b"}", "body"),
    ],
)
def test_a_bad_subscription_is_400_with_the_field_and_nothing_is_written(member_client, body, field):
    _member, client = member_client
    before = state()
    response = post(client, SUBSCRIBE, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert state() == before


def test_subscribing_needs_a_signed_in_member_and_writes_nothing_otherwise():
    before = state()
    response = post(Client(), SUBSCRIBE, subscription())
    assert response.status_code == 302 and "/m/" in response["Location"]
    assert state() == before


def test_subscribing_needs_the_csrf_token(member_client):
    member, _client = member_client
    client = Client(enforce_csrf_checks=True)
    sign_in(client, member)
    before = state()
    assert post(client, SUBSCRIBE, subscription()).status_code == 403
    assert state() == before


def test_get_is_not_allowed(member_client):
    _member, client = member_client
    assert client.get(SUBSCRIBE).status_code == 405


def test_a_browser_subscribed_by_one_member_then_another_belongs_to_the_second_only(member_client):
    first, client = member_client
    post(client, SUBSCRIBE, subscription())
    second = MemberFactory(name="Khách thứ hai")
    other_client = Client()
    sign_in(other_client, second)
    assert post(other_client, SUBSCRIBE, subscription()).status_code == 200
    assert PushSubscription.objects.get().member == second
    assert MemberPreference.objects.get(member=first).push_token == ""
    assert MemberPreference.objects.get(member=second).push_token == ENDPOINT


def test_unsubscribing_disables_only_the_member_s_own_subscription_and_withdraws_push_consent(member_client):
    member, client = member_client
    post(client, SUBSCRIBE, subscription())
    other = MemberFactory(name="Người khác")
    other_client = Client()
    sign_in(other_client, other)
    other_endpoint = "https://updates.push.services.mozilla.com/wpush/v2/" + "g" * 400
    assert post(other_client, SUBSCRIBE, subscription(endpoint=other_endpoint)).status_code == 200

    # A member cannot turn off another member's browser.
    before = state()
    assert post(client, UNSUBSCRIBE, {"endpoint": other_endpoint}).status_code == 200
    assert state() == before

    assert post(client, UNSUBSCRIBE, {"endpoint": ENDPOINT}).status_code == 200
    mine = PushSubscription.objects.get(endpoint=ENDPOINT)
    assert mine.disabled_at is not None
    assert PushSubscription.objects.get(endpoint=other_endpoint).disabled_at is None
    member.refresh_from_db()
    assert member.consent_push_at is None and MemberPreference.objects.get(member=member).push_token == ""
    assert ConsentChange.objects.filter(member=member).order_by("pk").last().source == "member-web"
    assert Member.objects.get(pk=other.pk).consent_push_at is not None


def test_unsubscribe_refuses_anything_but_the_endpoint(member_client):
    _member, client = member_client
    before = state()
    for body in ({}, {"endpoint": ENDPOINT, "x": 1}, {"endpoint": 5}, b"nope"):
        assert post(client, UNSUBSCRIBE, body).status_code == 400
    assert state() == before


def test_the_service_worker_is_served_under_m_with_a_javascript_type():
    response = Client().get("/m/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert 'addEventListener("push"' in body and "showNotification" in body


def _button(settings, public: str, private: str) -> str:
    settings.WEBPUSH_VAPID_PUBLIC_KEY, settings.WEBPUSH_VAPID_PRIVATE_KEY = public, private
    request = RequestFactory().get("/m/consent/")
    return render_to_string("portal/_push_button.html", request=request)


def test_the_button_is_left_out_without_vapid_keys(settings):
    assert "data-push" not in _button(settings, "", "")
    assert "data-push" not in _button(settings, "PUBLIC", "")


def test_the_button_carries_the_key_and_urls_and_no_inline_script(settings):
    html = _button(settings, "BPUBLICKEY", "private")
    assert 'data-vapid-key="BPUBLICKEY"' in html and "hidden" in html
    assert 'data-subscribe-url="/m/push/subscribe/"' in html and 'data-sw-url="/m/sw.js"' in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert "private" not in html
