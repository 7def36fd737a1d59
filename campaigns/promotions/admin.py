"""Promotions and the record of their use."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from campaigns.calendar.admin import schedule_text
from campaigns.calendar.selectors import calendar_today
from campaigns.promotions.forms import PromotionAdminForm
from campaigns.promotions.models import WEEKDAYS, EarnRule, Promotion, PromotionApplication
from campaigns.promotions.resources import PromotionResource
from campaigns.promotions.selectors import promotion_effect
from campaigns.promotions.services import earn_rule_save, promotion_save, promotions_set_active
from loyalty_site.core.admin import LargeTableAdminMixin, ReadOnlyModelAdmin, refusal_text
from loyalty_site.core.errors import DomainError
from loyalty_site.core.importexport.admin import ConfigImportExportMixin
from members.admin import MemberSearchMixin


@admin.register(Promotion)
class PromotionAdmin(ConfigImportExportMixin, admin.ModelAdmin):
    resource_classes = [PromotionResource]
    form = PromotionAdminForm
    list_display = ["code", "name", "kind", "effect", "when", "priority", "stackable", "is_active", "applications_link"]
    list_filter = ["is_active", "kind", "stackable", "birthday", "brands", "stores", "tiers", "groups", "segments"]
    search_fields = ["code", "name", "name_en", "description"]
    ordering = ["-priority", "code"]
    list_select_related = ["date_schedule__holiday"]
    autocomplete_fields = ["brands", "stores", "tiers", "groups", "segments", "date_schedule"]
    readonly_fields = ["created_at", "updated_at", "created_by", "applications_link"]
    actions = ["activate", "deactivate"]
    fieldsets = [
        (None, {"fields": ["code", "name", "name_en", "description", "is_active"]}),
        (
            _("What it gives"),
            {"fields": ["kind", "multiplier", "bonus_points", "percent", "amount", "scope", "skus", "categories"]},
        ),
        (
            _("When (store local time)"),
            {"fields": ["valid_from", "valid_until", "date_schedule", "weekday_choices", "time_from", "time_until"]},
        ),
        (_("Where"), {"fields": ["brands", "stores"]}),
        (
            _("Who"),
            {
                "fields": [
                    "members_only",
                    "tiers",
                    "groups",
                    "segments",
                    "birthday",
                    "min_spend",
                    "limit_count",
                    "limit_period",
                ]
            },
        ),
        (_("Combining"), {"fields": ["priority", "stackable"]}),
        (_("History"), {"fields": ["created_at", "updated_at", "created_by", "applications_link"]}),
    ]

    @admin.display(description=_("effect"))
    def effect(self, obj: Promotion) -> str:
        return promotion_effect(obj)

    @admin.display(description=_("when"))
    def when(self, obj: Promotion) -> str:
        parts = []
        if obj.weekdays:
            names = dict(WEEKDAYS)
            parts.append(", ".join(str(names[int(d)]) for d in obj.weekdays))
        if obj.time_from and obj.time_until:
            parts.append(f"{obj.time_from:%H:%M}–{obj.time_until:%H:%M}")
        if obj.birthday:
            parts.append(str(obj.get_birthday_display()))
        if obj.date_schedule_id:
            parts.append(schedule_text(obj.date_schedule, calendar_today(), count=1))
        return "; ".join(parts) or gettext("Always")

    @admin.display(description=_("applications"))
    def applications_link(self, obj: Promotion) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:campaigns_promotionapplication_changelist") + f"?promotion__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("Sales that used it"))

    def save_model(self, request, obj, form, change):
        promotion_save(promotion=obj, by=request.user)

    @admin.action(description=_("Switch the selected promotions on"), permissions=["change"])
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description=_("Switch the selected promotions off"), permissions=["change"])
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    def _set_active(self, request, queryset, active: bool) -> None:
        try:
            count = promotions_set_active(promotions=queryset, active=active)
        except DomainError as exc:
            self.message_user(request, refusal_text(exc), messages.ERROR)
            return
        text = (
            ngettext("%(count)d promotion switched on.", "%(count)d promotions switched on.", count)
            if active
            else ngettext("%(count)d promotion switched off.", "%(count)d promotions switched off.", count)
        )
        self.message_user(request, text % {"count": count}, messages.SUCCESS)


@admin.register(PromotionApplication)
class PromotionApplicationAdmin(LargeTableAdminMixin, MemberSearchMixin, ReadOnlyModelAdmin):
    list_display = [
        "promotion",
        "member",
        "store",
        "sale_reference",
        "at",
        "discount",
        "multiplier",
        "bonus_points",
        "reversed_at",
    ]
    list_filter = ["promotion", "store", ("at", admin.DateFieldListFilter), ("reversed_at", admin.EmptyFieldListFilter)]
    search_fields = ["sale_reference", "promotion__code", "member__code", "=member__phone"]
    ordering = ["-at", "-pk"]
    list_select_related = ["promotion", "member", "store"]
    autocomplete_fields = ["promotion", "member", "store"]


@admin.register(EarnRule)
class EarnRuleAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "rate_percent", "bonus_points", "valid_from", "valid_until", "is_active"]
    list_filter = ["is_active", "kind", "brands"]
    search_fields = ["code", "name", "skus", "categories"]
    ordering = ["kind", "code"]
    list_select_related: list = []
    autocomplete_fields = ["brands"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "is_active"]}),
        (_("Which lines"), {"fields": ["skus", "categories"]}),
        (_("How they earn"), {"fields": ["kind", "rate_percent", "bonus_points"]}),
        (_("When and where (store local dates)"), {"fields": ["valid_from", "valid_until", "brands"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        earn_rule_save(rule=obj)
