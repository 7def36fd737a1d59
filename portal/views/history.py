"""The member's history: their point ledger entries, newest first, 20 a page. A sale that
moved points shows as its entries (earned, spent, reversed on a refund), named by the sale's
reference; the sales themselves belong to `pos`, which the portal does not read (the layering of
architecture.md: pos and portal are on the same floor)."""

from __future__ import annotations

from django.core.paginator import Paginator

from members.models import LedgerEntry
from members.selectors import store_credit_entries_recent
from portal.auth import member_required
from portal.views.common import render_page

PER_PAGE = 20


@member_required
def history(request):
    entries = LedgerEntry.objects.filter(member_id=request.member.pk).order_by("-created_at", "-pk")
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    # The latest store-credit entries (docs/store-credit.md) beside the points: few per member.
    credit_entries = store_credit_entries_recent(member=request.member, limit=PER_PAGE)
    return render_page(request, "portal/history.html", {"page": page, "credit_entries": credit_entries})
