"""Web push from the member pages: the browser's subscription in, the service worker out.

- `POST /m/push/subscribe/` (signed in, CSRF token in `X-CSRFToken`): the JSON of the browser's
  `PushSubscription` (`{"endpoint", "keys": {"p256dh", "auth"}, "expirationTime"?}`), checked
  strictly; saved as the member's push address, with their push consent (source member-web).
- `POST /m/push/unsubscribe/` (signed in, CSRF): `{"endpoint"}`; that subscription of this
  member is disabled (and, with none left, the push consent withdrawn).
- `GET /m/sw.js`: the service worker, served under /m/ so that its scope is the member pages.
Answers are JSON: 200 `{"ok": true}`, 400 `{"errors": {field: [message]}}`."""

from __future__ import annotations

import json

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from loyalty_site.core.errors import ValidationFailed
from notifications.services import push_subscribe, push_unsubscribe
from portal.auth import member_required

MAX_BODY = 4096
SUBSCRIPTION_FIELDS = {"endpoint", "keys", "expirationTime"}


def _json_body(request) -> dict:
    if len(request.body) > MAX_BODY:
        raise ValidationFailed(errors={"body": [_("The request is too large.")]})
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed(errors={"body": [_("Send the subscription as JSON.")]}) from None
    if not isinstance(data, dict):
        raise ValidationFailed(errors={"body": [_("Send the subscription as JSON.")]})
    return data


def _refused(exc: ValidationFailed) -> JsonResponse:
    errors = exc.errors or {"body": [str(exc.detail)]}
    return JsonResponse(
        {"errors": {field: [str(m) for m in messages] for field, messages in errors.items()}}, status=400
    )


@require_POST
@member_required
def subscribe(request):
    try:
        data = _json_body(request)
        unknown = sorted(set(data) - SUBSCRIPTION_FIELDS)
        keys = data.get("keys")
        if unknown:
            raise ValidationFailed(errors={name: [_("Unknown field.")] for name in unknown})
        if not isinstance(keys, dict) or set(keys) != {"p256dh", "auth"}:
            raise ValidationFailed(errors={"keys": [_("The keys must be exactly p256dh and auth.")]})
        expiration = data.get("expirationTime")
        if expiration is not None and (isinstance(expiration, bool) or not isinstance(expiration, int | float)):
            raise ValidationFailed(errors={"expirationTime": [_("Must be a number or null.")]})
        push_subscribe(
            member=request.member,
            endpoint=data.get("endpoint"),
            p256dh=keys["p256dh"],
            auth=keys["auth"],
            user_agent=request.headers.get("User-Agent", ""),
        )
    except ValidationFailed as exc:
        return _refused(exc)
    return JsonResponse({"ok": True})


@require_POST
@member_required
def unsubscribe(request):
    try:
        data = _json_body(request)
        if set(data) != {"endpoint"}:
            raise ValidationFailed(errors={"endpoint": [_("Send only the endpoint.")]})
        push_unsubscribe(member=request.member, endpoint=data["endpoint"])
    except ValidationFailed as exc:
        return _refused(exc)
    return JsonResponse({"ok": True})


@require_GET
def service_worker(request):
    response = HttpResponse(render_to_string("portal/sw.js"), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # browsers check a service worker for updates
    return response
