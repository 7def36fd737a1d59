"""The member's home: name, tier and progress, balance and its value, points expiring soon,
usable vouchers. Reached at /m/ when signed in (`portal.views.signin.index`)."""

from __future__ import annotations

from portal.selectors import member_home
from portal.views.common import render_page


def home_page(request):
    """`request.member` is set by the caller (signed in)."""
    return render_page(request, "portal/home.html", {"home": member_home(member=request.member)})
