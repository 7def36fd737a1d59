"""The operator console for the reward catalogue and issued vouchers. Rewards are saved through
`reward_save` (which never overwrites the issued count); vouchers are read-only here and change
only through the services: the "void" action and the "issue a voucher" page."""

from __future__ import annotations

import tempfile

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, F, FloatField, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.admin import FormattedNumbersMixin, LargeTableAdminMixin, refusal_onto_form, refusal_text
from loyalty_site.core.errors import DomainError
from loyalty_site.core.formats import format_number
from loyalty_site.core.importexport.admin import ConfigImportExportMixin, RecordedExportMixin
from loyalty_site.core.scoping import StaffScopedAdminMixin
from members.selectors import member_ids_search
from vouchers.codes import GROUP, voucher_code_is_valid, voucher_code_normalise
from vouchers.forms import IssueVoucherForm, VoidVouchersForm, VoucherBatchAddForm
from vouchers.models import BatchCode, SharedCode, Voucher, VoucherBatch
from vouchers.resources import RewardResource, VoucherResource
from vouchers.services import (
    reward_save,
    shared_code_save,
    voucher_batch_create,
    voucher_batch_export_csv,
    voucher_batch_export_xlsx,
    voucher_issue,
    voucher_void,
)
from vouchers.services.batches import EXPORT_FORMATS


def _voucher_count(**filters) -> Coalesce:
    counted = (
        Voucher.objects.filter(reward_id=OuterRef("pk"), **filters)
        .order_by()
        .values("reward_id")
        # COUNT(*), not COUNT(id): the id is not in the partial index of used vouchers, so
        # counting it read every used voucher's row (0.37 s for 100,000 of them, issue 18).
        .annotate(total=Count("*"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


# --- The catalogue ----------------------------------------------------------------------------


# The base of the reward page: `backoffice` composes it with the customer groups and segments a
# reward is kept for (campaigns, a floor above) and registers it, once.
class RewardAdmin(ConfigImportExportMixin, FormattedNumbersMixin, admin.ModelAdmin):
    resource_classes = [RewardResource]
    list_display = [
        "code",
        "name",
        "kind",
        "points_cost",
        "is_visible",
        "active_from",
        "active_until",
        "stock",
        "issued_total",
        "used_total",
        "redemption_rate",
    ]
    list_filter = ["kind", "is_visible", "validity", "brands", "tiers"]
    search_fields = ["code", "name", "name_en"]
    ordering = ["code"]
    list_select_related: list = []
    autocomplete_fields = ["brands", "stores", "tiers"]
    readonly_fields = ["issued_count", "vouchers_link", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "name_en", "terms", "terms_en"]}),
        (
            _("What it is worth"),
            {
                "fields": ["kind", "value", "percent", "cap", "sku", "category", "buy_quantity", "free_quantity"],
                "description": _(
                    "Amount off: the amount. Percent off: the percent and the maximum discount. Free item: the SKU "
                    "or the category. Buy X get Y: the SKU or the category, X and Y. Leave the other fields empty."
                ),
            },
        ),
        (
            _("How it can be had"),
            {"fields": ["points_cost", "is_visible", "tiers", "active_from", "active_until", "stock", "issued_count"]},
        ),
        (_("Limit per member"), {"fields": ["limit_per_member", "limit_period"]}),
        (
            _("Where and how long vouchers can be used"),
            {"fields": ["brands", "stores", "min_invoice", "validity", "validity_days", "valid_until"]},
        ),
        (_("History"), {"fields": ["vouchers_link", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                # The kept counter (vouchers.services moves it with every issue), not a count of
                # the reward's vouchers; the used ones are counted on a partial index of their own.
                issued_total=F("issued_count"),
                used_total=_voucher_count(status=Voucher.Status.USED),
            )
            .annotate(
                rate=Case(
                    When(issued_total=0, then=Value(None, output_field=FloatField())),
                    default=Cast(F("used_total"), FloatField()) * 100 / Cast(F("issued_total"), FloatField()),
                    output_field=FloatField(),
                )
            )
        )

    @admin.display(description=_("issued"), ordering="issued_total")
    def issued_total(self, obj):
        url = reverse("admin:vouchers_voucher_changelist") + f"?reward__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.issued_total)

    @admin.display(description=_("used"), ordering="used_total")
    def used_total(self, obj):
        url = reverse("admin:vouchers_voucher_changelist") + f"?reward__id__exact={obj.pk}&status__exact=used"
        return format_html('<a href="{}">{}</a>', url, obj.used_total)

    @admin.display(description=_("redemption rate"), ordering="rate")
    def redemption_rate(self, obj):
        if obj.rate is None:
            return "—"
        return f"{obj.rate:.1f} %"

    @admin.display(description=_("vouchers"))
    def vouchers_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:vouchers_voucher_changelist") + f"?reward__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("Vouchers of this reward"))

    def save_model(self, request, obj, form, change):
        reward_save(reward=obj)


# --- Shared codes -----------------------------------------------------------------------------


@admin.register(SharedCode)
class SharedCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "reward", "valid_from", "valid_until", "uses_count", "total_limit", "per_member_limit"]
    list_filter = ["is_active"]
    search_fields = ["code", "reward__code", "reward__name"]
    ordering = ["code"]
    list_select_related = ["reward"]
    autocomplete_fields = ["reward"]
    readonly_fields = ["uses_count", "created_at", "updated_at"]
    fields = [
        "code",
        "reward",
        "is_active",
        "valid_from",
        "valid_until",
        "total_limit",
        "per_member_limit",
        "uses_count",
        "created_at",
        "updated_at",
    ]

    def save_model(self, request, obj, form, change):
        shared_code_save(shared_code=obj)


# --- Voucher batches (printed codes) ----------------------------------------------------------


def _used_codes_count() -> Coalesce:
    # Counted on the (batch, used_at) index, over the used codes only: a page of batches costs one
    # index range per batch, never a scan of their 100,000 codes.
    counted = (
        BatchCode.objects.filter(batch_id=OuterRef("pk"), used_at__isnull=False)
        .order_by()
        .values("batch_id")
        .annotate(total=Count("*"))  # from the index alone (COUNT(id) reads each row)
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


@admin.register(VoucherBatch)
class VoucherBatchAdmin(FormattedNumbersMixin, admin.ModelAdmin):
    """Batches are made by `voucher_batch_create` (the add form) and never edited: their codes are
    printed. Each row links to its codes and to the two downloads for the printer."""

    form = VoucherBatchAddForm
    list_display = ["name", "reward", "count", "used_count", "created_by", "created_at", "downloads"]
    list_filter = ["reward", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["name", "reward__code", "reward__name"]
    ordering = ["-created_at", "-pk"]
    list_select_related = ["reward", "created_by"]
    autocomplete_fields = ["reward"]
    readonly_fields = ["reward", "name", "count", "used_count", "codes_link", "downloads", "created_by", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(used_total=_used_codes_count())

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["reward", "count", "name"]
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        shown = self.readonly_fields
        return shown if self.has_download_permission(request) else [n for n in shown if n != "downloads"]

    def has_change_permission(self, request, obj=None):
        return False  # printed codes are final: a batch is viewed, downloaded, never edited

    def has_delete_permission(self, request, obj=None):
        return False

    def has_download_permission(self, request) -> bool:
        return request.user.has_perm("vouchers.export_voucherbatch")

    @admin.display(description=_("used"), ordering="used_total")
    def used_count(self, obj):
        used = getattr(obj, "used_total", None)
        if used is None:
            used = BatchCode.objects.filter(batch=obj, used_at__isnull=False).count()
        url = reverse("admin:vouchers_batchcode_changelist") + f"?batch__id__exact={obj.pk}&used=yes"
        return format_html('<a href="{}">{}</a>', url, format_number(used))

    @admin.display(description=_("codes"))
    def codes_link(self, obj):
        url = reverse("admin:vouchers_batchcode_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("Codes of this batch"))

    @admin.display(description=_("download"))
    def downloads(self, obj):
        # Listed only for users who may download (get_list_display / get_fields).
        return format_html(
            '<a href="{}">Excel (.xlsx)</a> · <a href="{}">CSV</a>',
            reverse("admin:vouchers_voucherbatch_download", args=[obj.pk, "xlsx"]),
            reverse("admin:vouchers_voucherbatch_download", args=[obj.pk, "csv"]),
        )

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if self.has_download_permission(request) else [n for n in shown if n != "downloads"]

    def save_model(self, request, obj, form, change):
        batch = voucher_batch_create(
            reward=form.cleaned_data["reward"],
            count=form.cleaned_data["count"],
            name=form.cleaned_data.get("name") or "",
            by=request.user,
        )
        obj.pk = batch.pk
        obj.refresh_from_db()

    def get_urls(self):
        return [
            path(
                "<int:pk>/download/<str:fmt>/",
                self.admin_site.admin_view(self.download_view),
                name="vouchers_voucherbatch_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, pk: int, fmt: str):
        if not (self.has_view_permission(request) and self.has_download_permission(request)):
            raise PermissionDenied
        batch = self.get_queryset(request).select_related("reward").filter(pk=pk).first()
        if batch is None or fmt not in EXPORT_FORMATS:
            raise Http404
        filename = f"voucher-batch-{batch.pk}.{fmt}"
        if fmt == "csv":
            # With a byte-order mark, so Excel opens the file as UTF-8.
            text = voucher_batch_export_csv(batch=batch, by=request.user)
            response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        handle = tempfile.TemporaryFile()  # noqa: SIM115 -- FileResponse closes it
        voucher_batch_export_xlsx(batch=batch, target=handle, by=request.user)
        handle.seek(0)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=filename,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )


class _UsedFilter(admin.SimpleListFilter):
    title = _("used")
    parameter_name = "used"

    def lookups(self, request, model_admin):
        return [("yes", _("Used")), ("no", _("Not used"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(used_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(used_at__isnull=True)
        return queryset


@admin.register(BatchCode)
class BatchCodeAdmin(StaffScopedAdminMixin, admin.ModelAdmin):
    """Read-only: a code changes only at a till (used) or by a refund (given back). Searched by
    the exact code (any case, spaces dropped), so the unique index answers."""

    list_display = ["code", "batch", "used_at", "member", "used_store", "used_sale_reference"]
    list_filter = [_UsedFilter, "batch"]
    search_fields = ["=code"]
    ordering = ["-pk"]
    list_select_related = ["batch", "member", "used_store"]
    autocomplete_fields: list = []
    fields = ["code", "batch", "member", "used_at", "used_store", "used_sale_reference"]
    readonly_fields = fields
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        term = "".join((search_term or "").split()).upper()
        if not term:
            return queryset, False
        return queryset.filter(code=term), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Vouchers ---------------------------------------------------------------------------------


@admin.register(Voucher)
class VoucherAdmin(
    LargeTableAdminMixin,
    StaffScopedAdminMixin,
    RecordedExportMixin,
    FormattedNumbersMixin,
    admin.ModelAdmin,
):
    resource_classes = [VoucherResource]
    list_display = [
        "code",
        "reward",
        "member",
        "status",
        "channel",
        "points_spent",
        "issued_at",
        "expires_at",
        "used_at",
        "used_store",
    ]
    list_filter = [
        "status",
        "reward",
        "channel",
        ("issued_at", admin.DateFieldListFilter),
        ("expires_at", admin.DateFieldListFilter),
        "used_store",
    ]
    search_fields = ["code", "member__name", "member__phone", "member__code"]
    ordering = ["-issued_at", "-pk"]
    list_select_related = ["reward", "member", "used_store"]
    autocomplete_fields = ["reward", "member"]
    actions = ["void_vouchers"]
    fieldsets = [
        (None, {"fields": ["code", "reward", "member", "status", "expires_at"]}),
        (
            _("Issue"),
            {"fields": ["channel", "issued_at", "issued_store", "issued_by", "reason", "points_spent", "reference"]},
        ),
        (_("Use"), {"fields": ["used_at", "used_store", "used_sale_reference"]}),
        (_("Given back"), {"fields": ["returned_at", "returned_from_sale", "return_reason"]}),
        (_("Void"), {"fields": ["voided_at", "voided_by", "void_reason"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    def get_search_results(self, request, queryset, search_term):
        """A code finds its voucher typed in any case, with or without the dash or spaces, or its
        start; a member (a phone in any form or its last digits, a code, a name with or without
        accents: `members.selectors.member_search`) finds their vouchers. Each by an index."""
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        found = Q(member__in=member_ids_search(term=term))
        code = voucher_code_normalise(term)
        if voucher_code_is_valid(code):
            found |= Q(code=code)
        elif code.isalnum() and len(code) > GROUP:
            found |= Q(code__startswith=f"{code[:GROUP]}-{code[GROUP:]}")
        return queryset.filter(found), False

    def has_add_permission(self, request):
        # Vouchers are issued through the "Issue a voucher" page (a service), never typed in.
        return False

    def has_delete_permission(self, request, obj=None):
        # An issued voucher is a record: void it instead.
        return False

    def has_issue_permission(self, request) -> bool:
        return request.user.has_perm("vouchers.add_voucher")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_issue_voucher": self.has_issue_permission(request)}
        return super().changelist_view(request, extra_context)

    # --- Void, with a reason

    @admin.action(description=_("Void the selected vouchers"), permissions=["change"])
    def void_vouchers(self, request, queryset):
        vouchers = list(queryset.select_related("reward", "member"))
        form = VoidVouchersForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for voucher in vouchers:
                try:
                    voucher_void(voucher=voucher, by=request.user, reason=form.cleaned_data["reason"])
                except DomainError as exc:
                    self.message_user(request, f"{voucher.code}: {refusal_text(exc)}", messages.ERROR)
                    continue
                self.log_change(request, voucher, gettext("Voided: %(reason)s") % {"reason": voucher.void_reason})
                done += 1
            self.message_user(
                request,
                ngettext("%(count)d voucher voided.", "%(count)d vouchers voided.", done) % {"count": done},
                messages.SUCCESS if done else messages.WARNING,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Void vouchers"),
            "opts": self.opts,
            "vouchers": vouchers,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/vouchers/voucher/void.html", context)

    # --- The "Issue a voucher" page

    def get_urls(self):
        return [
            path("issue/", self.admin_site.admin_view(self.issue_view), name="vouchers_voucher_issue"),
            *super().get_urls(),
        ]

    def issue_view(self, request):
        if not self.has_issue_permission(request):
            raise PermissionDenied
        initial = {}
        if request.method == "GET" and request.GET.get("member", "").isdigit():
            initial["member"] = int(request.GET["member"])
        form = IssueVoucherForm(request.POST or None, initial=initial, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            try:
                voucher = voucher_issue(
                    reward=form.cleaned_data["reward"],
                    member=form.cleaned_data["member"],
                    channel=Voucher.Channel.STAFF,
                    issued_by=request.user,
                    reason=form.cleaned_data["reason"],
                    reference=f"admin:issue:{form.cleaned_data['token']}",
                )
            except DomainError as exc:
                refusal_onto_form(form, exc)
            else:
                self.log_addition(request, voucher, gettext("Issued by staff: %(reason)s") % {"reason": voucher.reason})
                self.message_user(
                    request,
                    gettext("Voucher %(code)s (%(reward)s) issued to %(member)s.")
                    % {"code": voucher.code, "reward": voucher.reward.display_name, "member": voucher.member},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:vouchers_voucher_change", args=[voucher.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Issue a voucher"),
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/vouchers/voucher/issue.html", context)
