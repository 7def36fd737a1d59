"""`/m/claim/<token>`: the link of a campaign that delivers its voucher by claim link. The
member signs in first (`member_required` sends them to `/m/?next=/m/claim/<token>`); then
`campaign_claim` checks the link against the signed-in member and issues the voucher once."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from campaigns.runs.services import campaign_claim
from loyalty_site.core.errors import DomainError
from portal.auth import member_required
from portal.refusals import refusal_text


@member_required
@require_http_methods(["GET", "HEAD"])
def claim(request: HttpRequest, token: str) -> HttpResponse:
    try:
        result = campaign_claim(member=request.member, token=token)
    except DomainError as error:
        return render(
            request,
            "portal/claim.html",
            {"member": request.member, "refusal": refusal_text(error)},
            status=error.status,
        )
    return render(request, "portal/claim.html", {"member": request.member, "claim": result})
