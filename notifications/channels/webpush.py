"""Standard Web Push (RFC 8030) with VAPID (RFC 8292) and the aes128gcm payload encryption
(RFC 8291), through pywebpush: the push channel for members who turned notifications on in
their browser (`portal/views/push.py`).

The message's recipient is the endpoint of the member's web push subscription
(`notifications.PushSubscription`); the keys to encrypt for are looked up by it. The payload is
JSON `{"title", "body", "url", "tag"}`, shown by the service worker (`/m/sw.js`).

Push service answers: 201 / 200 / 202 -> sent (the `Location` header is the provider id);
404 and 410 -> the subscription is gone: permanent, and the subscription is disabled so no
message is addressed to it again; 429, 5xx, timeouts and connection errors -> transient; other
4xx (400 malformed, 401 / 403 VAPID refused, 413 too large) -> permanent."""

from __future__ import annotations

import binascii
import json

import requests
from django.conf import settings
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from notifications.channels import (
    ChannelBackend,
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
GONE = (404, 410)


class WebPushBackend(ChannelBackend):
    def __init__(
        self,
        *,
        channel: str,
        vapid_private_key: str = "",
        vapid_subject: str = "",
        ttl: int = 86400,
        timeout: float = 10.0,
        **options,
    ) -> None:
        super().__init__(channel=channel, **options)
        self.vapid_private_key, self.vapid_subject = vapid_private_key, vapid_subject
        self.ttl, self.timeout = int(ttl), float(timeout)

    def send(self, message: OutgoingMessage) -> SendResult:
        # Imported here: the channel backends are loaded by dotted path, the services by name.
        from notifications.selectors import push_subscription_active
        from notifications.services.push import push_subscription_delivered, push_subscription_disable

        if not self.vapid_private_key or not self.vapid_subject:
            raise PermanentSendError("web push is not configured (WEBPUSH_VAPID_PRIVATE_KEY, WEBPUSH_VAPID_SUBJECT)")
        subscription = push_subscription_active(endpoint=message.recipient)
        if subscription is None:
            raise PermanentSendError("no active web push subscription for this endpoint")
        try:
            vapid = Vapid.from_string(private_key=self.vapid_private_key)
        except (ValueError, TypeError, binascii.Error) as exc:  # a key that is not base64url or not P-256
            raise PermanentSendError(f"the VAPID private key cannot be read: {exc.__class__.__name__}") from None
        payload = json.dumps(
            {
                "title": message.subject,
                "body": message.body,
                "url": settings.PORTAL_BASE_URL.rstrip("/") + "/m/",
                "tag": message.tracking_id,
            },
            ensure_ascii=False,
        )
        session = requests.Session()
        # Environment proxies apply to real push services, never to one on this machine.
        session.trust_env = requests.utils.urlparse(subscription.endpoint).hostname not in _LOOPBACK
        try:
            response = webpush(
                {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
                data=payload,
                vapid_private_key=vapid,
                vapid_claims={"sub": self.vapid_subject},
                ttl=self.ttl,
                timeout=self.timeout,
                requests_session=session,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            detail = f"push service HTTP {status}" if status else f"web push refused: {exc.message}"
            if status in GONE:
                push_subscription_disable(endpoint=subscription.endpoint, reason=detail)
                raise PermanentSendError(f"{detail}: the subscription is gone (disabled)") from None
            if status is not None and (status == 429 or status >= 500 or status == 408):
                raise TransientSendError(detail) from None
            raise PermanentSendError(detail) from None
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientSendError(f"connection failed: {exc.__class__.__name__}") from None
        except requests.RequestException as exc:
            raise TransientSendError(f"{exc.__class__.__name__}: {exc}") from None
        finally:
            session.close()
        push_subscription_delivered(endpoint=subscription.endpoint)
        return SendResult(provider_message_id=(response.headers.get("Location") or "")[:100])
