"""The admin pages that need apps from every floor, composed here on the top floor and registered
once: sales and refunds (read-only records, filtered by brand, store, date and member, each with
its lines, discounts, ledger effects and refunds), the terminal admin with each terminal's sales,
and the member admin with the tier panel, vouchers, sales and the campaign actions. `members` and
`stores` define the base classes and leave these two models unregistered."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from backoffice.models import StaffProfile, StaffUser
from backoffice.scoping import user_is_scoped
from campaigns.audiences.admin.actions import add_to_group_action
from campaigns.audiences.admin.reward_audiences import RewardWithAudiencesMixin
from campaigns.audiences.exports.admin_actions import can_export, export_members_action
from campaigns.runs.admin import CampaignAdmin
from campaigns.runs.models import Campaign
from loyalty_site.core.admin import ReadOnlyModelAdmin, ReadOnlyTabularInline
from loyalty_site.core.importexport.admin import RecordedExportMixin
from loyalty_site.core.scoping import StaffScopedAdminMixin
from members.admin import MemberAdmin
from members.models import LedgerEntry, Member
from pos.models import Refund, RefundLine, Sale, SaleDiscount, SaleLine
from pos.resources import SaleResource
from reports.admin_panels import campaign_result_panel, member_profile_panel
from stores.admin import TerminalAdmin
from stores.models import Terminal
from tiers.admin_panels import member_tier_panel
from tiers.errors import TiersNotConfigured
from vouchers.admin import RewardAdmin
from vouchers.models import Reward


class SaleLineInline(ReadOnlyTabularInline):
    model = SaleLine
    fields = ["index", "sku", "name", "category", "quantity", "unit_price", "amount", "refunded_quantity"]
    readonly_fields = fields


class SaleDiscountInline(ReadOnlyTabularInline):
    model = SaleDiscount
    fields = ["position", "source", "code", "description", "amount"]
    readonly_fields = fields


class RefundInline(ReadOnlyTabularInline):
    model = Refund
    fields = ["created_at", "terminal", "reason", "is_full", "amount", "paid_amount", "points_reversed",
              "points_returned", "vouchers_returned"]  # fmt: skip
    readonly_fields = fields
    show_change_link = True


class EveryOrderAdminMixin:
    """The sales list shows online orders still pending or cancelled too, which `Sale.objects`
    (what reports count) leaves out: staff follow orders here (filter by online order status)."""

    def get_queryset(self, request):
        queryset = Sale.all_objects.get_queryset()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset


@admin.register(Sale)
class SaleAdmin(StaffScopedAdminMixin, EveryOrderAdminMixin, RecordedExportMixin, ReadOnlyModelAdmin):
    resource_classes = [SaleResource]
    list_display = ["receipt_number", "occurred_at", "store", "member", "total", "points_redeemed",
                    "points_earned", "tier_changed", "status"]  # fmt: skip
    list_filter = ["store__brand", "store", "status", "order_status", ("occurred_at", admin.DateFieldListFilter),
                   "tier_changed"]  # fmt: skip
    search_fields = ["receipt_number", "member__code", "member__name", "member__phone"]
    ordering = ["-occurred_at", "-pk"]
    list_select_related = ["store", "member"]
    date_hierarchy = "occurred_at"
    autocomplete_fields = ["member"]
    inlines = [SaleLineInline, SaleDiscountInline, RefundInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "receipt_number",
                    "occurred_at",
                    "store",
                    "terminal",
                    "member",
                    "status",
                    "order_status",
                    "order_closed_at",
                ]
            },
        ),
        (
            _("Money"),
            {
                "fields": [
                    "subtotal",
                    "discount_total",
                    "points_amount",
                    "total",
                    "earn_base",
                    "refunded_amount",
                    "refunded_paid",
                ]
            },
        ),
        (
            _("Points and tier"),
            {
                "fields": [
                    "points_redeemed",
                    "points_earned",
                    "multiplier",
                    "referrer_points",
                    "points_reversed",
                    "points_returned",
                    "tier_code",
                    "tier_after_code",
                    "tier_changed",
                    "ledger_effects",
                ]
            },
        ),
    ]
    readonly_fields = ["ledger_effects"]

    def lookup_allowed(self, lookup, value, request=None):
        # The terminal admin links here with ?terminal__id__exact=N.
        return lookup == "terminal__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("ledger entries"))
    def ledger_effects(self, obj):
        refund_refs = [f"refund:{pk}" for pk in obj.refunds.values_list("pk", flat=True)]
        entries = (
            LedgerEntry.objects.filter(
                Q(cause_reference__in=[obj.reference, *refund_refs]) | Q(reference=f"referral:{obj.reference}")
            )
            .select_related("member")
            .order_by("pk")
        )
        rows = [
            (
                reverse("admin:members_ledgerentry_change", args=[e.pk]),
                e.get_kind_display(),
                f"{e.points:+d}",
                e.member.code,
                e.balance_after,
            )
            for e in entries
        ]
        if not rows:
            return "-"
        return format_html(
            "<ul style='margin:0;padding-left:1em'>{}</ul>",
            format_html_join("", "<li><a href='{}'>{}</a> {} ({}: {})</li>", rows),
        )


class RefundLineInline(ReadOnlyTabularInline):
    model = RefundLine
    fields = ["sale_line", "quantity", "amount"]
    readonly_fields = fields


@admin.register(Refund)
class RefundAdmin(StaffScopedAdminMixin, ReadOnlyModelAdmin):
    list_display = ["__str__", "created_at", "sale", "is_full", "paid_amount", "points_reversed", "points_returned"]
    list_filter = ["is_full", "sale__store__brand", "sale__store", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["sale__receipt_number", "sale__member__code", "sale__member__phone", "reason"]
    ordering = ["-created_at", "-pk"]
    list_select_related = ["sale", "sale__store"]
    date_hierarchy = "created_at"
    autocomplete_fields: list = []
    inlines = [RefundLineInline]


# The terminal admin's base lives in `stores`, which cannot know about sales: composed here, on top.
@admin.register(Terminal)
class TerminalWithSalesAdmin(TerminalAdmin):
    list_display = [*TerminalAdmin.list_display, "sales"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(sale_count=Count("sales"))

    @admin.display(description=_("sales"), ordering="sale_count")
    def sales(self, obj):
        url = reverse("admin:pos_sale_changelist") + f"?terminal__id__exact={obj.pk}"
        return format_html("<a href='{}'>{}</a>", url, obj.sale_count)


# The member admin's base lives in `members`, which cannot know about tiers, vouchers or
# campaigns: composed here, on top, with the "why this tier" panel, the member's vouchers and
# sales, the profile figures (reports.md), and the campaign actions (add to a customer group, export).
@admin.register(Member)
class MemberWithProgrammeAdmin(MemberAdmin):
    actions = [*MemberAdmin.actions, add_to_group_action, export_members_action]
    change_fieldsets = [
        *MemberAdmin.change_fieldsets[:2],
        (_("Tier, vouchers and sales"), {"fields": ["tier_panel", "vouchers_and_sales"]}),
        (_("Profile"), {"fields": ["profile"]}),
        *MemberAdmin.change_fieldsets[2:],
    ]
    readonly_fields = [*MemberAdmin.readonly_fields, "tier_panel", "vouchers_and_sales", "profile"]

    def has_export_members_permission(self, request):
        return can_export(request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if user_is_scoped(request.user) and "home_store" in form.base_fields:
            # A member a store manager enrols belongs to one of their stores: else they would
            # lose sight of them at once (backoffice/scoping.py).
            form.base_fields["home_store"].required = True
        return form

    @admin.display(description=_("why this tier"))
    def tier_panel(self, obj):
        try:
            return member_tier_panel(obj)
        except TiersNotConfigured:
            return "-"

    @admin.display(description=_("figures to date"))
    def profile(self, obj):
        return member_profile_panel(obj)

    @admin.display(description=_("vouchers and sales"))
    def vouchers_and_sales(self, obj):
        vouchers = reverse("admin:vouchers_voucher_changelist") + f"?q={obj.code}"
        issue = reverse("admin:vouchers_voucher_issue") + f"?member={obj.pk}"
        sales = reverse("admin:pos_sale_changelist") + f"?q={obj.code}"
        return format_html(
            "<a href='{}'>{}</a> · <a href='{}'>{}</a> · <a href='{}'>{}</a>",
            vouchers, _("vouchers"), issue, _("issue a voucher"), sales, _("sales"),
        )  # fmt: skip


# The campaign admin's base lives in `campaigns`, which cannot know about sales: composed here, on
# top, with the campaign's result (members reached, vouchers, net sales after delivery, uplift
# over the holdout).
@admin.register(Campaign)
class CampaignWithResultAdmin(CampaignAdmin):
    readonly_fields = [*CampaignAdmin.readonly_fields, "result"]
    fieldsets = [
        *CampaignAdmin.fieldsets[:-2],
        (_("Result"), {"fields": ["result"]}),
        *CampaignAdmin.fieldsets[-2:],
    ]

    @admin.display(description=_("result"))
    def result(self, obj: Campaign):
        if obj.pk is None:
            return "-"
        return campaign_result_panel(obj)


# The reward page's base lives in `vouchers`, which cannot know about customer groups and segments:
# composed here with the groups and segments a reward is kept for (issue 16).
@admin.register(Reward)
class RewardWithAudiencesAdmin(RewardWithAudiencesMixin, RewardAdmin):
    pass


# --- Staff users, with the stores and brands each one manages --------------------------------


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    filter_horizontal = ["brands", "stores"]
    verbose_name_plural = _("stores and brands managed (store managers only)")


@admin.register(StaffUser)
class StaffUserAdmin(UserAdmin):
    """Django's user page plus the staff profile: which stores and brands a store manager sees."""

    inlines = [StaffProfileInline]
    list_display = ["username", "email", "is_staff", "is_active", "roles", "scope"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    list_select_related = ["staff_profile"]
    autocomplete_fields: list = []

    def get_queryset(self, request):
        return (
            super().get_queryset(request).prefetch_related("groups", "staff_profile__brands", "staff_profile__stores")
        )

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return ", ".join(_(group.name) for group in obj.groups.all())

    @admin.display(description=_("stores and brands managed"))
    def scope(self, obj):
        profile = getattr(obj, "staff_profile", None)
        if profile is None:
            return "-"
        return ", ".join([*(b.code for b in profile.brands.all()), *(s.code for s in profile.stores.all())]) or "-"


from backoffice import admin_limits  # noqa: E402, F401 -- registers the limits on tills
