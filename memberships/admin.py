"""The admin of paid membership: the plans (edited through `plan_save`) and the periods sold
(read-only records: they are sold and cancelled on the member's page, `backoffice`, or at the
till)."""

from django.contrib import admin

from loyalty_site.core.admin import FormattedNumbersMixin, ReadOnlyModelAdmin
from loyalty_site.core.scoping import StaffScopedAdminMixin
from memberships.models import MembershipVoucher, PaidMembership, PaidPlan
from memberships.selectors import plans_cache_invalidate
from memberships.services import plan_save


@admin.register(PaidPlan)
class PaidPlanAdmin(FormattedNumbersMixin, admin.ModelAdmin):
    list_display = ["code", "name", "fee", "period_months", "earn_multiplier", "monthly_reward", "refund_window_days",
                    "is_active"]  # fmt: skip
    list_filter = ["is_active", "renewable"]
    search_fields = ["code", "name", "name_en"]
    ordering = ["code"]
    list_select_related = ["monthly_reward"]
    autocomplete_fields = ["monthly_reward"]
    filter_horizontal = ["brands"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        plan_save(plan=obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        plans_cache_invalidate()  # the brands may have changed: the checkout's cache follows


@admin.register(PaidMembership)
class PaidMembershipAdmin(StaffScopedAdminMixin, ReadOnlyModelAdmin):
    list_display = ["member", "plan", "status", "started_at", "ends_at", "fee_paid", "refund_amount", "sold_at",
                    "sold_store", "sold_by"]  # fmt: skip
    list_filter = ["status", "plan", ("sold_at", admin.DateFieldListFilter), "sold_store"]
    search_fields = ["member__code", "member__name", "member__phone"]
    ordering = ["-sold_at", "-pk"]
    list_select_related = ["member", "plan", "sold_store", "sold_by"]
    autocomplete_fields = ["member"]
    date_hierarchy = "sold_at"


@admin.register(MembershipVoucher)
class MembershipVoucherAdmin(StaffScopedAdminMixin, ReadOnlyModelAdmin):
    list_display = ["member", "month", "voucher", "membership", "issued_at"]
    list_filter = [("month", admin.DateFieldListFilter)]
    search_fields = ["member__code", "member__name", "voucher__code"]
    ordering = ["-month", "-pk"]
    list_select_related = ["member", "voucher", "membership__plan"]
    autocomplete_fields = ["member"]
