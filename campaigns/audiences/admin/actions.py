"""An admin action other apps' admins can attach: put the selected members into a static group.

The members admin belongs to the members app, which sits below campaigns and cannot import it
(import-linter refuses it): `backoffice/admin.py`, the top floor, attaches it to the member list.

It shows a page to choose a group (or name a new one), then calls
`campaigns.audiences.services.group_add_members`. It needs the right to change customer groups, checked
here because the action lives on another model's admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from campaigns.audiences.forms import AddToGroupForm
from campaigns.audiences.models import GroupMembership
from campaigns.audiences.services import group_add_members, group_create
from loyalty_site.core.admin import refusal_text
from loyalty_site.core.errors import DomainError


def _may_fill_groups(request) -> bool:
    return request.user.has_perm("campaigns.change_customergroup") and request.user.has_perm(
        "campaigns.add_groupmembership"
    )


@admin.action(description=_("Add the selected members to a customer group"), permissions=["view"])
def add_to_group_action(modeladmin, request, queryset):
    if not _may_fill_groups(request):
        raise PermissionDenied
    form = AddToGroupForm(request.POST if "confirm" in request.POST else None)
    if form.is_bound and form.is_valid():
        try:
            group = form.cleaned_data["group"] or group_create(name=form.cleaned_data["new_group"], by=request.user)
            added = group_add_members(
                group=group, members=queryset, source=GroupMembership.Source.ADMIN, by=request.user
            )
        except DomainError as exc:
            modeladmin.message_user(request, refusal_text(exc), messages.ERROR)
            return None
        url = reverse("admin:campaigns_customergroup_change", args=[group.pk])
        modeladmin.message_user(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                ngettext("%(count)d member added to", "%(count)d members added to", added) % {"count": added},
                url,
                group.name,
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(request.get_full_path())
    selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Add members to a customer group"),
        "opts": modeladmin.model._meta,
        "form": form,
        "count": queryset.count(),
        "selected": selected,
        "select_across": request.POST.get("select_across", "0"),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "action_name": "add_to_group_action",
    }
    return TemplateResponse(request, "admin/campaigns/add_to_group.html", context)
