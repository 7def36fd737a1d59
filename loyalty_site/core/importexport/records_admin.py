"""The export audit trail in the console: read-only, whatever the user's permissions say.
Registered from `CoreConfig.ready` (core keeps no admin.py of its own)."""

from __future__ import annotations

from django.contrib import admin

from loyalty_site.core.models import ExportRecord


@admin.register(ExportRecord)
class ExportRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "username", "model", "file_format", "rows", "filters"]
    list_filter = ["model", "file_format", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["username", "model"]
    ordering = ["-created_at", "-pk"]
    list_select_related = ["user"]
    autocomplete_fields: list = []
    date_hierarchy = "created_at"
    fields = ["created_at", "user", "username", "model", "file_format", "rows", "filters"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
