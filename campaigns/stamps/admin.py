"""Stamp cards and the stamps members collected (read-only)."""

from __future__ import annotations

from django.contrib import admin

from campaigns.stamps.models import Stamp, StampCard
from campaigns.stamps.services import stamp_card_save
from loyalty_site.core.admin import LargeTableAdminMixin, ReadOnlyModelAdmin
from members.admin import MemberSearchMixin


@admin.register(StampCard)
class StampCardAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "brand", "stamps_needed", "period_days", "min_amount", "reward", "is_active"]
    list_filter = ["is_active", "brand"]
    search_fields = ["code", "name"]
    ordering = ["code"]
    list_select_related = ["brand", "reward"]
    autocomplete_fields = ["brand", "reward"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        stamp_card_save(card=obj)


@admin.register(Stamp)
class StampAdmin(LargeTableAdminMixin, MemberSearchMixin, ReadOnlyModelAdmin):
    list_display = ["card", "member", "sale_reference", "at", "card_number", "completed", "voucher_code", "reversed_at"]
    list_filter = ["card", "completed", ("reversed_at", admin.EmptyFieldListFilter)]
    search_fields = ["sale_reference", "voucher_code", "member__code", "=member__phone"]
    ordering = ["-at", "-pk"]
    list_select_related = ["card", "member"]
    autocomplete_fields = ["card", "member"]
