"""The "why this tier" panel, as an HTML snippet any admin page can show (the member page of
the members app hooks it in: `member_tier_panel(member)`)."""

from __future__ import annotations

from decimal import Decimal

from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from members.models import Member
from tiers.errors import TiersNotConfigured
from tiers.models import TierSettings
from tiers.selectors import member_tier_explain, member_tier_history

HISTORY_ROWS = 5


def quantity_display(value: Decimal | None, basis: str) -> str:
    """An amount of the programme's basis: `5,000,000 VND` or `1,250 points`."""
    if value is None:
        return "—"
    if basis == TierSettings.Basis.POINTS:
        return _("%(value)s points") % {"value": f"{value:,.0f}"}
    return _("%(value)s VND") % {"value": f"{value:,.0f}"}


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def member_tier_panel(member: Member) -> SafeString:
    """The member's tier, since when, the spend towards the next tier, what is needed to keep
    the tier and by when, any staff guarantee, and the latest changes, as safe HTML."""
    try:
        explanation = member_tier_explain(member=member)
    except TiersNotConfigured as exc:
        return render_to_string("tiers/member_tier_panel.html", {"error": exc.detail})
    basis = explanation.basis
    history_url = _url("admin:tiers_tierchange_changelist")
    context = {
        "x": explanation,
        "qualifying": quantity_display(explanation.qualifying_spend, basis),
        "needed_for_next": quantity_display(explanation.needed_for_next, basis),
        "retention_required": quantity_display(explanation.retention_required, basis),
        "cycle_spend": quantity_display(explanation.cycle_spend, basis),
        "still_needed": quantity_display(explanation.still_needed_to_keep, basis),
        "history": member_tier_history(member=member, limit=HISTORY_ROWS),
        "history_url": f"{history_url}?member__id__exact={member.pk}" if history_url else "",
        "member_page_url": _url("admin:tiers_tierstatus_member", member.pk),
    }
    return render_to_string("tiers/member_tier_panel.html", context)
