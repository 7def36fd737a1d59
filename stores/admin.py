from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from loyalty_site.core.errors import DomainError
from loyalty_site.core.models import copy_saved
from loyalty_site.core.scoping import StaffScopedAdminMixin
from stores.models import Brand, Store
from stores.services import terminal_create, terminal_revoke


@admin.register(Brand)
class BrandAdmin(StaffScopedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "colour", "store_count"]
    search_fields = ["code", "name"]
    ordering = ["code"]
    list_filter: list = []
    list_select_related: list = []

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(store_count=Count("stores"))

    @admin.display(description=_("stores"), ordering="store_count")
    def store_count(self, obj):
        return obj.store_count


@admin.register(Store)
class StoreAdmin(StaffScopedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "brand", "city", "time_zone", "is_active", "terminal_count"]
    list_filter = ["brand", "is_active", "city"]
    search_fields = ["code", "name", "city", "brand__name", "brand__code"]
    ordering = ["brand__code", "code"]
    list_select_related = ["brand"]
    autocomplete_fields = ["brand"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(terminal_count=Count("terminals"))

    @admin.display(description=_("terminals"), ordering="terminal_count")
    def terminal_count(self, obj):
        return obj.terminal_count


class TerminalStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


# The base of the terminal pages: `backoffice` composes it with the terminals' sales and
# registers it (once); this app cannot see sales.
class TerminalAdmin(StaffScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "store", "kind", "key_prefix", "is_active", "last_used_at", "created_at", "revoked_at"]
    list_filter = [TerminalStatusFilter, "kind", "store__brand", "store"]
    search_fields = ["name", "key_prefix", "store__code", "store__name"]
    ordering = ["store__code", "name"]
    list_select_related = ["store"]
    autocomplete_fields = ["store"]
    readonly_fields = ["key_prefix", "created_by", "created_at", "last_used_at", "revoked_at", "revoked_by"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        # Adding asks only what a person decides; the key and the audit fields come after.
        return ["store", "name", "kind"] if obj is None else super().get_fields(request, obj)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        field = super().formfield_for_choice_field(db_field, request, **kwargs)
        if db_field.name == "kind":
            # A form posted without it (a script written before online shops) adds a till, the default.
            field.required = False
        return field

    def get_readonly_fields(self, request, obj=None):
        # The store and kind of an existing terminal never change: its history belongs to them.
        return [*self.readonly_fields, "store", "kind"] if obj else self.readonly_fields

    @admin.display(description=_("active"), boolean=True)
    def is_active(self, obj):
        return obj.revoked_at is None

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        terminal, key = terminal_create(store=obj.store, name=obj.name, created_by=request.user, kind=obj.kind)
        copy_saved(obj, terminal)
        messages.warning(
            request,
            format_html(
                "{} <code style='user-select:all'>{}</code>. {}",
                _("API key of the new terminal:"),
                key,
                _("Copy it into the POS now: it is shown only this once."),
            ),
        )

    @admin.action(description=_("Revoke the API key of the selected terminals"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = 0
        for terminal in queryset.filter(revoked_at__isnull=True):
            try:
                terminal_revoke(terminal=terminal, revoked_by=request.user)
                revoked += 1
            except DomainError as exc:
                self.message_user(request, str(exc.detail), messages.ERROR)
        self.message_user(
            request,
            ngettext("%(count)d terminal revoked.", "%(count)d terminals revoked.", revoked) % {"count": revoked},
            messages.SUCCESS,
        )
