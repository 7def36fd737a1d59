"""The plausibility limits on tills in the console (risk.md "Tills"): the programme's limits, each
store's overrides, and the review list of the sales they refused. Registered here, on the top
floor, because `pos` keeps admin code out of its package; every write goes through
`pos.checkout.limits`."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from loyalty_site.core.admin import FormattedNumbersMixin, ReadOnlyModelAdmin
from loyalty_site.core.models import copy_saved
from loyalty_site.core.scoping import StaffScopedAdminMixin
from pos.checkout.limits import LIMIT_FIELDS, sale_limits_update, store_sale_limits_set
from pos.models import LimitRefusal, SaleLimits, StoreSaleLimits, TerminalDay


@admin.register(SaleLimits)
class SaleLimitsAdmin(FormattedNumbersMixin, SimpleHistoryAdmin):
    list_display = ["__str__", *LIMIT_FIELDS, "updated_at", "updated_by"]
    list_filter: list = []
    search_fields: list = []
    ordering = ["pk"]
    list_select_related = ["updated_by"]
    autocomplete_fields: list = []
    readonly_fields = ["updated_at", "updated_by"]
    fieldsets = [
        (_("Limits on tills"), {"fields": list(LIMIT_FIELDS)}),
        (_("History"), {"fields": ["updated_at", "updated_by"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: the list is the row (saved with the defaults the first time it is opened).
        limits = sale_limits_update(data={}, updated_by=None) if not SaleLimits.objects.exists() else None
        pk = limits.pk if limits is not None else SaleLimits.SINGLETON_PK
        return HttpResponseRedirect(reverse("admin:pos_salelimits_change", args=[pk]))

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        copy_saved(obj, sale_limits_update(data=data, updated_by=request.user))


@admin.register(StoreSaleLimits)
class StoreSaleLimitsAdmin(StaffScopedAdminMixin, FormattedNumbersMixin, SimpleHistoryAdmin):
    list_display = ["store", *LIMIT_FIELDS, "updated_at", "updated_by"]
    list_filter = ["store__brand"]
    search_fields = ["store__code", "store__name"]
    ordering = ["store__code"]
    list_select_related = ["store", "updated_by"]
    autocomplete_fields = ["store"]
    readonly_fields = ["updated_at", "updated_by"]
    fields = ["store", *LIMIT_FIELDS, "updated_at", "updated_by"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "store"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name) for name in LIMIT_FIELDS}
        copy_saved(obj, store_sale_limits_set(store=obj.store, data=data, updated_by=request.user))


@admin.register(LimitRefusal)
class LimitRefusalAdmin(StaffScopedAdminMixin, ReadOnlyModelAdmin):
    """The review list: sales a limit refused (nothing of them was recorded)."""

    list_display = ["refused_at", "terminal", "store", "member", "receipt_number", "amount", "points", "limit",
                    "maximum", "repeats", "last_refused_at"]  # fmt: skip
    list_filter = ["limit", "store__brand", "store", ("refused_at", admin.DateFieldListFilter)]
    search_fields = ["receipt_number", "terminal__name", "store__code", "member__code"]
    ordering = ["-refused_at", "-pk"]
    list_select_related = ["terminal__store", "store", "member"]
    autocomplete_fields: list = []
    date_hierarchy = "refused_at"
    show_full_result_count = False


@admin.register(TerminalDay)
class TerminalDayAdmin(StaffScopedAdminMixin, ReadOnlyModelAdmin):
    """Points each terminal gave out each day, against its daily cap, and its refusals."""

    list_display = ["day", "terminal", "points_given", "refusals"]
    list_filter = [("day", admin.DateFieldListFilter), "terminal__store__brand", "terminal__store"]
    search_fields = ["terminal__name", "terminal__store__code"]
    ordering = ["-day", "terminal"]
    list_select_related = ["terminal__store"]
    autocomplete_fields: list = []
    show_full_result_count = False
