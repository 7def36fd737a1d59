"""The report panels the composed admin pages show (`backoffice.admin`): a campaign's result on
its page and a member's profile on theirs, as safe HTML. The figures come from
`reports.campaign_results` and `reports.profiles`; this module only lays them out."""

from __future__ import annotations

from decimal import Decimal

from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from campaigns.runs.models import Campaign
from members.models import Member
from reports.campaign_results import campaign_result
from reports.profiles import member_profile


def vnd(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return _("%(value)s VND") % {"value": f"{value:,.0f}"}


def campaign_result_panel(campaign: Campaign) -> SafeString:
    result = campaign_result(campaign=campaign)
    uplift = result.uplift_per_member
    context = {
        "r": result,
        "reached_net": vnd(result.reached.net_sales),
        "reached_per_member": vnd(result.reached.per_member),
        "holdout_net": vnd(result.holdout.net_sales),
        "holdout_per_member": vnd(result.holdout.per_member),
        "uplift": vnd(uplift) if uplift is None or uplift < 0 else "+" + vnd(uplift),
        "extra": vnd(result.estimated_extra_sales),
        "use_rate": f"{result.voucher_use_rate * 100:.1f} %" if result.voucher_use_rate is not None else "—",
    }
    return render_to_string("reports/campaign_result_panel.html", context)


def member_profile_panel(member: Member) -> SafeString:
    profile = member_profile(member=member)
    context = {
        "p": profile,
        "clv": vnd(profile.lifetime_net_sales),
        "average_order": vnd(profile.average_order),
    }
    return render_to_string("reports/member_profile_panel.html", context)
