"""`/m/unsubscribe/<token>`: the one-click unsubscribe link of marketing emails and SMS
(member-web.md, RFC 8058). No sign-in: the token is the credential, and it can only withdraw
the one consent it names.

- GET shows the channel and one button, and changes nothing: mail scanners and link previews
  open links by GET.
- POST from that button (with the page's CSRF token) withdraws the consent and shows "done".
- RFC 8058's one-click POST (body `List-Unsubscribe=One-Click`, sent by the mail provider
  without any cookie or CSRF token) does the same: the CSRF check is skipped for that POST
  only.
A bad, altered or expired token: a page saying so (400), nothing written."""

from __future__ import annotations

from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from loyalty_site.core.errors import DomainError
from notifications.models import Channel
from notifications.services import unsubscribe_apply, unsubscribe_check

ONE_CLICK = ("List-Unsubscribe", "One-Click")


def _csrf_refusal(request):
    """The CSRF middleware's own check, for the POSTs that are not RFC 8058 one-clicks."""
    return CsrfViewMiddleware(lambda _request: None).process_view(request, None, (), {})


def _page(request, *, status=200, **context):
    response = render(request, "portal/unsubscribe.html", context, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    # The token is in the URL: never sent to another site ("no-referrer" would make browsers send
    # `Origin: null` with the form, which the CSRF check refuses).
    response["Referrer-Policy"] = "same-origin"
    return response


@csrf_exempt  # for RFC 8058's one-click POST only: every other POST is checked below
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    one_click = request.method == "POST" and request.POST.get(ONE_CLICK[0]) == ONE_CLICK[1]
    if request.method == "POST" and not one_click and (refusal := _csrf_refusal(request)) is not None:
        return refusal
    try:
        if request.method == "GET":
            found = unsubscribe_check(token=token)
            done = False
        else:
            found = unsubscribe_apply(token=token)
            done = True
    except DomainError as exc:
        return _page(request, status=exc.status, error=str(exc.detail))
    if one_click:
        return _page(request, done=True, channel=Channel(found.channel).label)
    return _page(request, done=done, given=found.given, channel=Channel(found.channel).label)
