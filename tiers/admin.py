"""The operator console for tiers. Every write goes through `tiers.services`; the member tier
statuses, the qualifying spend records and the tier history are read-only here. Extra pages:
the recompute preview (tiers list) and each member's tier page (why this tier, set it by
hand)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from loyalty_site.core.admin import LargeTableAdminMixin, ReadOnlyModelAdmin, refusal_onto_form, refusal_text
from loyalty_site.core.counting import EXACT_UP_TO, count_bounded, count_display
from loyalty_site.core.errors import DomainError
from loyalty_site.core.formats import format_number
from loyalty_site.core.importexport.admin import ConfigImportExportMixin
from loyalty_site.core.models import copy_saved
from loyalty_site.core.scoping import StaffScopedAdminMixin
from members.admin import MemberSearchMixin
from members.models import Member
from tiers.admin_panels import member_tier_panel, quantity_display
from tiers.forms import RecomputeConfirmForm, TierAdminForm, TierSetForm
from tiers.models import Tier, TierChange, TierSettings, TierSpend, TierStatus
from tiers.resources import TierResource
from tiers.selectors import tier_settings_get
from tiers.services import (
    tier_delete,
    tier_save,
    tier_set,
    tier_settings_update,
    tiers_recompute,
    tiers_recompute_preview,
)

# --- Tier settings ----------------------------------------------------------------------------


@admin.register(TierSettings)
class TierSettingsAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "basis", "window", "window_months", "last_evaluated_on"]
    list_filter: list = []
    search_fields: list = []
    ordering = ["pk"]
    list_select_related = ["updated_by"]
    autocomplete_fields: list = []
    readonly_fields = ["last_evaluated_on", "updated_at", "updated_by"]
    fieldsets = [
        (_("What thresholds count"), {"fields": ["basis", "window", "window_months"]}),
        (_("History"), {"fields": ["last_evaluated_on", "updated_at", "updated_by"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: the list is the row.
        return HttpResponseRedirect(reverse("admin:tiers_tiersettings_change", args=[tier_settings_get().pk]))

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        saved = tier_settings_update(data=data, updated_by=request.user)
        copy_saved(obj, saved)


# --- Tiers ------------------------------------------------------------------------------------


@admin.register(Tier)
class TierAdmin(ConfigImportExportMixin, admin.ModelAdmin):
    resource_classes = [TierResource]
    form = TierAdminForm
    list_display = [
        "rank",
        "code",
        "name",
        "name_en",
        "threshold",
        "earn_rate_percent",
        "invoice_discount_percent",
        "voucher_points_discount_percent",
        "retention_rule",
        "member_count",
    ]
    list_display_links = ["code"]
    list_filter = ["on_failure", "reset_spend_on_downgrade"]
    search_fields = ["code", "name", "name_en"]
    ordering = ["rank"]
    list_select_related: list = []
    autocomplete_fields: list = []
    readonly_fields = ["created_at", "updated_at"]
    actions = ["recompute_members"]
    fieldsets = [
        (None, {"fields": ["code", "rank", "name", "name_en", "description", "description_en"]}),
        (_("Reaching the tier"), {"fields": ["threshold", "earn_rate_percent"]}),
        (_("Benefits"), {"fields": ["invoice_discount_percent", "voucher_points_discount_percent"]}),
        (
            _("Keeping the tier"),
            {
                "fields": [
                    "retention_spend",
                    "retention_months",
                    "on_failure",
                    "grace_days",
                    "reset_spend_on_downgrade",
                ]
            },
        ),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("to keep it"))
    def retention_rule(self, obj):
        if not obj.has_retention:
            return "—"
        rule = gettext("%(amount)s within %(months)d months") % {
            "amount": quantity_display(obj.retention_spend, tier_settings_get().basis),
            "months": obj.retention_months,
        }
        if obj.grace_days:
            rule += " + " + gettext("%(days)d days' grace") % {"days": obj.grace_days}
        return f"{rule}; {obj.get_on_failure_display()}"

    @admin.display(description=_("members"))
    def member_count(self, obj):
        # Exact up to 1,000, the planner's estimate beyond (loyalty_site.core.counting): counting
        # the statuses of 700,000 members on every page took most of a second (issue 18).
        statuses = TierStatus.objects.filter(tier=obj)
        if Tier.objects.filter(rank__lt=obj.rank).exists():
            label = count_display(statuses)
        else:
            # Members without a status row are in the entry tier.
            without = max(count_bounded(Member.objects.all()) - count_bounded(TierStatus.objects.all()), 0)
            total = count_bounded(statuses) + without
            label = ("≈ " if total > EXACT_UP_TO and connection.vendor == "postgresql" else "") + format_number(total)
        url = reverse("admin:tiers_tierstatus_changelist") + f"?tier__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, label)

    # --- Writes through the services

    def save_model(self, request, obj, form, change):
        tier_save(tier=obj)

    def delete_model(self, request, obj):
        tier_delete(tier=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():  # all of them or none
            for tier in queryset.order_by("-rank"):
                tier_delete(tier=tier)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, refusal_text(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:tiers_tier_changelist"))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_recompute": self.has_change_permission(request)}
        try:
            return super().changelist_view(request, extra_context)
        except DomainError as exc:  # a bulk delete refused
            self.message_user(request, refusal_text(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:tiers_tier_changelist"))

    # --- Recompute after the rules change

    @admin.action(description=_("Recompute every member's tier (with a preview)"), permissions=["change"])
    def recompute_members(self, request, queryset):
        return HttpResponseRedirect(reverse("admin:tiers_tier_recompute"))

    def get_urls(self):
        return [
            path(
                "recompute/",
                self.admin_site.admin_view(self.recompute_view),
                name="tiers_tier_recompute",
            ),
            *super().get_urls(),
        ]

    def recompute_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = RecomputeConfirmForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                done = tiers_recompute(staff_user=request.user)
            self.message_user(
                request,
                gettext("Recompute done: %(up)d members moved up, %(down)d moved down.")
                % {"up": done.up, "down": done.down},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:tiers_tier_changelist"))
        preview = tiers_recompute_preview()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Recompute every member's tier"),
            "preview": preview,
            "moves": sorted(preview.moves.items()),
            "form": form,
        }
        return TemplateResponse(request, "admin/tiers/tier/recompute.html", context)


# --- Member tier statuses ---------------------------------------------------------------------


@admin.register(TierStatus)
class TierStatusAdmin(LargeTableAdminMixin, StaffScopedAdminMixin, MemberSearchMixin, ReadOnlyModelAdmin):
    list_display = [
        "member_link",
        "tier",
        "since",
        "qualifying_spend",
        "cycle_spend",
        "retention_deadline",
        "floor_tier",
        "floor_until",
    ]
    list_filter = ["tier", ("retention_deadline", admin.DateFieldListFilter), "floor_tier"]
    search_fields = ["member__code", "member__name", "=member__phone"]
    ordering = ["-pk"]
    list_select_related = ["member", "tier", "floor_tier"]
    autocomplete_fields: list = []
    fields = [
        "member",
        "tier",
        "since",
        "qualifying_spend",
        "counted_from",
        "cycle_started_at",
        "retention_deadline",
        "cycle_spend",
        "floor_tier",
        "floor_until",
        "updated_at",
        "why_this_tier",
    ]
    readonly_fields = fields

    @admin.display(description=_("member"), ordering="member__code")
    def member_link(self, obj):
        url = reverse("admin:tiers_tierstatus_member", args=[obj.member_id])
        return format_html('<a href="{}">{}</a>', url, str(obj.member))

    @admin.display(description=_("why this tier"))
    def why_this_tier(self, obj):
        return member_tier_panel(obj.member)

    def get_urls(self):
        return [
            path(
                "member/<int:member_id>/",
                self.admin_site.admin_view(self.member_view),
                name="tiers_tierstatus_member",
            ),
            *super().get_urls(),
        ]

    def has_set_tier_permission(self, request) -> bool:
        return request.user.has_perm("tiers.change_tierstatus")

    def member_view(self, request, member_id: int):
        """One member's tier page: why this tier, the latest history, and (for staff allowed
        to change tier statuses) setting the tier by hand. Works for members without a row."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        member = get_object_or_404(Member, pk=member_id)
        can_set = self.has_set_tier_permission(request)
        form = TierSetForm(request.POST or None) if can_set else None
        if request.method == "POST":
            if not can_set:
                raise PermissionDenied
            if form.is_valid():
                try:
                    change = tier_set(
                        member=member,
                        tier=form.cleaned_data["tier"],
                        reason=form.cleaned_data["reason"],
                        staff_user=request.user,
                        floor_until=form.cleaned_data["floor_until"],
                    )
                except DomainError as exc:
                    refusal_onto_form(form, exc)
                else:
                    self.message_user(
                        request,
                        gettext("%(member)s is now in %(tier)s.")
                        % {"member": member, "tier": change.to_tier.display_name},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Tier of %(member)s") % {"member": member},
            "member": member,
            "panel": member_tier_panel(member),
            "form": form,
        }
        return TemplateResponse(request, "admin/tiers/tierstatus/member.html", context)


# --- Qualifying spend records and history -----------------------------------------------------


@admin.register(TierSpend)
class TierSpendAdmin(LargeTableAdminMixin, StaffScopedAdminMixin, MemberSearchMixin, ReadOnlyModelAdmin):
    list_display = ["recorded_at", "member", "kind", "reference", "amount", "points", "occurred_at", "tier_after"]
    list_filter = ["kind", ("recorded_at", admin.DateFieldListFilter)]
    search_fields = ["reference", "member__code", "member__name"]
    exact_search_fields = ("reference",)
    ordering = ["-recorded_at", "-pk"]
    list_select_related = ["member", "tier_after"]
    autocomplete_fields: list = []


@admin.register(TierChange)
class TierChangeAdmin(LargeTableAdminMixin, StaffScopedAdminMixin, MemberSearchMixin, ReadOnlyModelAdmin):
    list_display = ["at", "member", "from_tier", "to_tier", "kind", "reference", "note", "staff_user"]
    list_filter = ["kind", "to_tier", "from_tier", ("at", admin.DateFieldListFilter)]
    search_fields = ["member__code", "member__name", "reference", "note"]
    exact_search_fields = ("reference",)
    ordering = ["-at", "-pk"]
    list_select_related = ["member", "from_tier", "to_tier", "staff_user"]
    autocomplete_fields: list = []
    fields = ["at", "member", "from_tier", "to_tier", "kind", "reference", "note", "staff_user"]
    readonly_fields = fields

    def get_actions(self, request):
        return {}
