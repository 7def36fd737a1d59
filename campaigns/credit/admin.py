"""Store-credit (cash-back) earning rules."""

from __future__ import annotations

from django.contrib import admin

from campaigns.credit.models import StoreCreditRule
from campaigns.credit.selectors import store_credit_rules_cache_invalidate
from campaigns.credit.services import store_credit_rule_save


@admin.register(StoreCreditRule)
class StoreCreditRuleAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "percent", "full_price_only", "valid_from", "valid_until", "is_active"]
    list_filter = ["is_active", "full_price_only", "brands"]
    search_fields = ["code", "name"]
    ordering = ["code"]
    list_select_related: list = []
    autocomplete_fields = ["brands", "stores"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        store_credit_rule_save(rule=obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        store_credit_rules_cache_invalidate()

    fields = [
        "code",
        "name",
        "percent",
        "brands",
        "stores",
        "full_price_only",
        "categories_included",
        "categories_excluded",
        "valid_from",
        "valid_until",
        "is_active",
        "created_at",
        "updated_at",
    ]
