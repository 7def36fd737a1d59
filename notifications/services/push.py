"""Web push subscriptions: saved when a member turns notifications on in their browser (with
their push consent, source member-web), disabled when they turn them off or when the push
service says the subscription is gone. The only writer of `PushSubscription`."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import ConsentChange, Member
from members.services import member_consent_set
from notifications.errors import PushSubscriptionInvalid
from notifications.models import MemberPreference, PushSubscription

MAX_ENDPOINT = PushSubscription._meta.get_field("endpoint").max_length


def _b64url_bytes(value: object) -> bytes | None:
    if not isinstance(value, str) or not value or len(value) > 200:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _endpoint_error(endpoint: object) -> str | None:
    """Our server POSTs to the endpoint: only https URLs of a public host name (no address, no
    local name), so a subscription cannot make it call into the private network. Hosts in
    WEBPUSH_INSECURE_HOSTS (tests, a local push service) may use http."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        return _("The push endpoint must be a URL of at most %(max)d characters.") % {"max": MAX_ENDPOINT}
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        return _("The push endpoint is not a valid URL.")
    if host in getattr(settings, "WEBPUSH_INSECURE_HOSTS", []):
        return None if parts.scheme in ("http", "https") else _("The push endpoint is not a valid URL.")
    if parts.scheme != "https" or not host or parts.username or parts.password:
        return _("The push endpoint must be an https URL.")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return _("The push endpoint must name a push service, not an address.")
    if "." not in host or host.endswith((".local", ".localhost", ".internal")) or host == "localhost":
        return _("The push endpoint must name a push service, not an address.")
    return None


def _checked(endpoint: object, p256dh: object, auth: object) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if (message := _endpoint_error(endpoint)) is not None:
        errors["endpoint"] = [message]
    key = _b64url_bytes(p256dh)
    if key is None or len(key) != 65 or key[0] != 4:
        errors["p256dh"] = [_("The browser key must be an uncompressed P-256 public key, base64url-encoded.")]
    secret = _b64url_bytes(auth)
    if secret is None or len(secret) != 16:
        errors["auth"] = [_("The authentication secret must be 16 bytes, base64url-encoded.")]
    return errors


def _push_address_refresh(member_id: int) -> None:
    """Keep the member's push address (`MemberPreference.push_token`, what the outbox reads) on
    the endpoint of their latest active subscription; with none left, clear it if it was a web
    push endpoint (a device token of the HTTP push service is left alone)."""
    latest = (
        PushSubscription.objects.filter(member_id=member_id, disabled_at__isnull=True)
        .order_by("-created_at", "-pk")
        .values_list("endpoint", flat=True)
        .first()
    )
    preference = MemberPreference.objects.select_for_update().filter(member_id=member_id).first()
    if latest:
        if preference is None:
            MemberPreference.objects.create(member_id=member_id, push_token=latest)
        elif preference.push_token != latest:
            MemberPreference.objects.filter(pk=preference.pk).update(push_token=latest)
    elif (
        preference is not None
        and preference.push_token
        and PushSubscription.objects.filter(endpoint=preference.push_token).exists()
    ):
        MemberPreference.objects.filter(pk=preference.pk).update(push_token="")


def push_subscribe(
    *, member: Member, endpoint: object, p256dh: object, auth: object, user_agent: str = ""
) -> PushSubscription:
    """Save the browser's subscription as the member's push address and record their push
    consent (source member-web). An endpoint already saved (the same browser) is taken over by
    this member, with the new keys, and enabled again. Invalid input: PushSubscriptionInvalid
    (400, errors per field), nothing written."""
    errors = _checked(endpoint, p256dh, auth)
    if errors:
        raise PushSubscriptionInvalid(errors=errors)
    now = timezone.now()
    fields = {
        "member": member,
        "p256dh": p256dh,
        "auth": auth,
        "user_agent": (user_agent or "")[:300],
        "created_at": now,
        "disabled_at": None,
        "disabled_reason": "",
    }
    with transaction.atomic():
        member_consent_set(member=member, channel="push", given=True, source=ConsentChange.Source.MEMBER_WEB, at=now)
        previous_owner = PushSubscription.objects.filter(endpoint=endpoint).values_list("member_id", flat=True).first()
        try:
            with transaction.atomic():
                subscription, _created = PushSubscription.objects.select_for_update().update_or_create(
                    endpoint=endpoint, defaults=fields
                )
        except IntegrityError:  # saved by a concurrent request of the same browser
            subscription, _created = PushSubscription.objects.select_for_update().update_or_create(
                endpoint=endpoint, defaults=fields
            )
        _push_address_refresh(member.pk)
        if previous_owner is not None and previous_owner != member.pk:
            # The same browser, now signed in as another member: the first one loses it.
            _push_address_refresh(previous_owner)
    return subscription


def push_unsubscribe(*, member: Member, endpoint: object) -> bool:
    """The member turned notifications off in this browser: their subscription with this
    endpoint is disabled (another member's is never touched), and with no active one left
    their push consent is withdrawn (source member-web). Returns whether one was disabled."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise PushSubscriptionInvalid(errors={"endpoint": [_("The push endpoint is not a valid URL.")]})
    now = timezone.now()
    with transaction.atomic():
        disabled = PushSubscription.objects.filter(member=member, endpoint=endpoint, disabled_at__isnull=True).update(
            disabled_at=now, disabled_reason="turned off by the member"
        )
        if disabled:
            _push_address_refresh(member.pk)
        if disabled and not PushSubscription.objects.filter(member=member, disabled_at__isnull=True).exists():
            member_consent_set(
                member=member, channel="push", given=False, source=ConsentChange.Source.MEMBER_WEB, at=now
            )
    return bool(disabled)


def push_subscription_disable(*, endpoint: str, reason: str) -> None:
    """The push service said the subscription is gone (404 / 410): never addressed again."""
    with transaction.atomic():
        member_id = (
            PushSubscription.objects.filter(endpoint=endpoint, disabled_at__isnull=True)
            .values_list("member_id", flat=True)
            .first()
        )
        if member_id is None:
            return
        PushSubscription.objects.filter(endpoint=endpoint, disabled_at__isnull=True).update(
            disabled_at=timezone.now(), disabled_reason=(reason or "")[:300]
        )
        _push_address_refresh(member_id)


def push_subscription_delivered(*, endpoint: str) -> None:
    PushSubscription.objects.filter(endpoint=endpoint).update(last_success_at=timezone.now())
