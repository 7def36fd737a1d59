"""The member's vouchers (`/m/vouchers/`): each with its QR code (inline SVG, drawn by segno)
and its code to read aloud, its conditions and last day; usable ones first, the used, expired
and void ones after them, greyed. Paged."""

from __future__ import annotations

import datetime

import segno
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from members.selectors import programme_zone
from portal.auth import member_required
from vouchers.models import Voucher
from vouchers.selectors import member_vouchers_queryset

PER_PAGE = 20


def voucher_qr_svg(code: str) -> str:
    """The code as a QR, an inline SVG that scales with its box (segno's output: safe markup
    of a code we made, letters and digits only)."""
    svg = segno.make(code, error="m", micro=False).svg_inline(scale=4, border=2, omitsize=True)
    return mark_safe(svg)  # noqa: S308 -- segno's own SVG of our own code


def voucher_last_day(voucher: Voucher) -> datetime.date:
    """The last day it can be used, in the zone it was issued in (expires_at is the midnight
    after it)."""
    zone = voucher.issued_store.zone if voucher.issued_store_id else programme_zone()
    return timezone.localtime(voucher.expires_at, zone).date() - datetime.timedelta(days=1)


@member_required
@require_http_methods(["GET", "HEAD"])
def vouchers(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    page = Paginator(member_vouchers_queryset(member=request.member, at=now), PER_PAGE).get_page(
        request.GET.get("page")
    )
    items = []
    for voucher in page.object_list:
        usable = voucher.status_at(now) == Voucher.Status.ISSUED
        items.append(
            {
                "voucher": voucher,
                "usable": usable,
                "status": Voucher.Status(voucher.status_at(now)).label,
                "last_day": voucher_last_day(voucher),
                "qr": voucher_qr_svg(voucher.code) if usable else "",  # a used one is scanned no more
            }
        )
    return render(request, "portal/vouchers.html", {"member": request.member, "page": page, "items": items})
