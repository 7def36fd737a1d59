"""Paid membership on the member's admin page (issue 17 item 4): the panel on the change page and
the page where staff sell, renew or cancel a period. Both call `memberships` services only."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from loyalty_site.core.admin import refusal_onto_form
from loyalty_site.core.errors import DomainError
from loyalty_site.core.formats import format_vnd
from members.models import Member
from memberships.forms import MembershipCancelForm, MembershipSellForm
from memberships.selectors import member_memberships, membership_standing
from memberships.services import membership_cancel, membership_sell


def paid_membership_panel(member: Member) -> str:
    if member.pk is None:
        return "-"
    link = reverse("admin:members_member_paid_membership", args=[member.pk])
    standing = membership_standing(member=member)
    if standing is None:
        return format_html("{} · <a href='{}'>{}</a>", _("none"), link, _("sell or renew"))
    ends = timezone.localtime(standing.ends_at).strftime("%d/%m/%Y")
    return format_html(
        "{} · <a href='{}'>{}</a>",
        _("%(plan)s until %(date)s") % {"plan": standing.plan.display_name, "date": ends},
        link,
        _("sell, renew or cancel"),
    )


def paid_membership_page(model_admin, request, member: Member):
    user = request.user
    if not user.has_perm("memberships.view_paidmembership"):
        raise PermissionDenied
    can_sell = user.has_perm("memberships.add_paidmembership")
    can_cancel = user.has_perm("memberships.change_paidmembership")
    sell_form = MembershipSellForm(request.POST if request.POST.get("action") == "sell" else None)
    cancel_form = MembershipCancelForm(request.POST if request.POST.get("action") == "cancel" else None)
    back = HttpResponseRedirect(reverse("admin:members_member_paid_membership", args=[member.pk]))
    if request.method == "POST":
        if request.POST.get("action") == "sell" and can_sell and sell_form.is_valid():
            try:
                sold = membership_sell(
                    member=member,
                    plan=sell_form.cleaned_data["plan"],
                    sold_by=user,
                    reference=f"admin:membership:{sell_form.cleaned_data['token']}",
                )
            except DomainError as exc:
                refusal_onto_form(sell_form, exc)
            else:
                model_admin.log_change(
                    request, member, gettext("Sold paid membership %(plan)s") % {"plan": sold.plan.code}
                )
                model_admin.message_user(
                    request,
                    gettext("Paid membership %(plan)s recorded: %(fee)s, until %(date)s.")
                    % {
                        "plan": sold.plan.code,
                        "fee": format_vnd(sold.fee_paid),
                        "date": timezone.localtime(sold.ends_at).strftime("%d/%m/%Y"),
                    },
                    messages.SUCCESS,
                )
                return back
        elif request.POST.get("action") == "cancel" and can_cancel and cancel_form.is_valid():
            try:
                cancelled = membership_cancel(
                    member=member,
                    membership_id=cancel_form.cleaned_data["membership"],
                    cancelled_by=user,
                    reason=cancel_form.cleaned_data["reason"],
                )
            except DomainError as exc:
                refusal_onto_form(cancel_form, exc)
            else:
                model_admin.log_change(request, member, gettext("Cancelled a paid membership period"))
                model_admin.message_user(
                    request,
                    gettext("Paid membership cancelled: refund %(amount)s to the member.")
                    % {"amount": format_vnd(cancelled.refund_amount)},
                    messages.SUCCESS,
                )
                return back
        elif not (can_sell or can_cancel):
            raise PermissionDenied
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Paid membership: %(member)s") % {"member": member},
        "opts": model_admin.opts,
        "original": member,
        "member": member,
        "standing": membership_standing(member=member),
        "periods": member_memberships(member=member),
        "sell_form": sell_form,
        "cancel_form": cancel_form,
        "can_sell": can_sell,
        "can_cancel": can_cancel,
        "has_view_permission": True,
    }
    return TemplateResponse(request, "admin/members/member/paid_membership.html", context)
