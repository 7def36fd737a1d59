"""Access to the member pages: `member_required` lets a signed-in member through, with
`request.member` and `request.member_session` set, and sends anyone else to the sign-in page
(`/m/?next=<path>`). Every view that shows or changes a member's data takes the member from
here, never from the URL or the form."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from portal.sessions import session_member


def safe_next(request, default: str = "") -> str:
    """The `next` target of a sign-in, if it stays on this site under /m/; else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/m/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=False
    ):
        return target
    return default


def sign_in_url(next_path: str = "") -> str:
    url = reverse("portal:home")
    return f"{url}?{urlencode({'next': next_path})}" if next_path else url


def member_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        signed_in = session_member(request)
        if signed_in is None:
            return HttpResponseRedirect(sign_in_url(request.get_full_path()))
        request.member = signed_in.member
        request.member_session = signed_in.session
        return view(request, *args, **kwargs)

    return wrapped
