"""The member's consent per channel (SMS, email, Zalo, push): each a checkbox showing since
when it was given; saving records each changed channel through `member_consent_set`."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from loyalty_site.core.errors import DomainError
from members.models import ConsentChange, Member
from members.services import member_consent_set
from portal.auth import member_required
from portal.views.common import private, render_page

CHANNEL_LABELS = {
    "sms": gettext_lazy("SMS"),
    "email": gettext_lazy("Email"),
    "zalo": gettext_lazy("Zalo"),
    "push": gettext_lazy("Push notifications"),
}


@member_required
@require_http_methods(["GET", "POST"])
def consent(request):
    member = request.member
    error = ""
    if request.method == "POST":
        try:
            for channel in Member.CONSENT_CHANNELS:
                given = request.POST.get(f"consent_{channel}") == "on"
                if given != (member.consent_given_at(channel) is not None):
                    member = member_consent_set(
                        member=member, channel=channel, given=given, source=ConsentChange.Source.MEMBER_WEB
                    )
        except DomainError as exc:  # e.g. merged into another member meanwhile
            error = str(exc.detail)
        else:
            return private(HttpResponseRedirect(reverse("portal:consent") + "?saved=1"))
    channels = [
        {"code": channel, "label": CHANNEL_LABELS[channel], "since": member.consent_given_at(channel)}
        for channel in Member.CONSENT_CHANNELS
    ]
    return render_page(
        request,
        "portal/consent.html",
        {"channels": channels, "saved": "saved" in request.GET, "error": error},
        status=409 if error else 200,
    )
