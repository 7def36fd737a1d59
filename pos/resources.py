"""django-import-export resources of the pos app: sales as staff take them to Excel (export
only: a sale is written by the checkout alone). Hooked on the sales list by the admin that
shows it (`RecordedExportMixin` with `resource_classes = [SaleResource]`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from loyalty_site.core.importexport.resources import SafeModelResource
from pos.models import Sale


class SaleResource(SafeModelResource):
    store_code = Field(attribute="store__code", column_name=_("Store code"), readonly=True)
    store_name = Field(attribute="store__name", column_name=_("Store"), readonly=True)
    terminal = Field(attribute="terminal__name", column_name=_("POS terminal"), readonly=True)
    member_code = Field(attribute="member__code", column_name=_("Member code"), readonly=True)
    member_name = Field(attribute="member__name", column_name=_("Member"), readonly=True)
    status = Field(column_name=_("Status"), readonly=True)

    class Meta(SafeModelResource.Meta):
        model = Sale
        name = _("Sales")
        fields = [
            "occurred_at", "store_code", "store_name", "terminal", "receipt_number", "member_code", "member_name",
            "status", "subtotal", "discount_total", "points_amount", "total", "earn_base", "points_redeemed",
            "points_earned", "multiplier", "tier_code", "tier_after_code", "refunded_amount", "refunded_paid",
            "points_reversed", "points_returned",
        ]  # fmt: skip

    def get_queryset(self):
        return super().get_queryset().select_related("store", "terminal", "member")

    def dehydrate_status(self, sale: Sale) -> str:
        return sale.get_status_display()
