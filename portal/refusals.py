"""The member's own words for a refusal of the services (their messages are written for staff
and tills: "Member M0042 owes 120 points…"). Every refusal the rewards, vouchers and claim pages
can meet has a sentence here; anything else shows the service's own (translated) message."""

from __future__ import annotations

from django.utils.translation import gettext as _

from loyalty_site.core.errors import DomainError


def refusal_text(error: DomainError) -> str:
    reason = error.extra.get("reason", "")
    texts = {
        "insufficient-points": _("You do not have enough points for this reward."),
        "member-in-debt": _(
            "Your points are on hold: a refund took back points you had already used. Your next purchases "
            "will settle it."
        ),
        "member-proof-invalid": _("Please sign in again."),
        "member-proof-required": _("Please sign in again."),
    }
    by_reason = {
        "out-of-stock": _("This reward has run out."),
        "member-limit": _("You have already received this reward as many times as allowed."),
        "not-active": _("This reward cannot be had at the moment."),
        "hidden": _("This reward is not offered in exchange for points."),
        "other-brand": _("This reward is not offered at your store."),
        "other-tier": _("This reward is kept for members of other tiers."),
        "unknown": _("This reward is not offered in exchange for points."),
    }
    if error.code == "reward-unavailable" and reason in by_reason:
        return by_reason[reason]
    return texts.get(error.code, str(error.detail))
