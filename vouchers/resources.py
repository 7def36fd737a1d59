"""django-import-export resources of the vouchers app.

`RewardResource` is configuration: exported from one installation and imported into another
(test to live) by its code, through `reward_save`; the issued count goes out for reading and
never comes back in. `VoucherResource` is the voucher list as staff take it to Excel: export
only."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from loyalty_site.core.importexport.resources import CodesWidget, SafeModelResource
from stores.models import Brand, Store
from vouchers.models import Reward, Voucher
from vouchers.services import reward_save


class RewardResource(SafeModelResource):
    brands = Field(attribute="brands", column_name=_("Brands (codes)"), widget=CodesWidget(Brand))
    stores = Field(attribute="stores", column_name=_("Stores (codes)"), widget=CodesWidget(Store))
    issued_count = SafeModelResource.field_from_django_field(
        "issued_count", Reward._meta.get_field("issued_count"), readonly=True
    )

    class Meta(SafeModelResource.Meta):
        model = Reward
        name = _("Rewards")
        import_id_fields = ["code"]
        fields = [
            "code", "name", "name_en", "terms", "terms_en", "kind", "value", "percent", "cap", "sku", "category",
            "buy_quantity", "free_quantity", "points_cost", "is_visible", "active_from", "active_until", "stock",
            "limit_per_member", "limit_period", "brands", "stores", "min_invoice", "validity", "validity_days",
            "valid_until", "issued_count",
        ]  # fmt: skip

    def service_save(self, instance, is_create):
        reward_save(reward=instance)


class VoucherResource(SafeModelResource):
    reward_code = Field(attribute="reward__code", column_name=_("Reward code"), readonly=True)
    reward_name = Field(attribute="reward__name", column_name=_("Reward"), readonly=True)
    member_code = Field(attribute="member__code", column_name=_("Member code"), readonly=True)
    member_name = Field(attribute="member__name", column_name=_("Member"), readonly=True)
    status = Field(column_name=_("Status"), readonly=True)
    channel = Field(column_name=_("Issued through"), readonly=True)
    used_store = Field(attribute="used_store__name", column_name=_("Used at store"), readonly=True)

    class Meta(SafeModelResource.Meta):
        model = Voucher
        name = _("Vouchers")
        fields = [
            "code", "reward_code", "reward_name", "member_code", "member_name", "status", "channel",
            "points_spent", "issued_at", "expires_at", "used_at", "used_store", "used_sale_reference",
            "voided_at", "void_reason", "reason",
        ]  # fmt: skip

    def get_queryset(self):
        return super().get_queryset().select_related("reward", "member", "used_store")

    def dehydrate_status(self, voucher: Voucher) -> str:
        return voucher.get_status_display()

    def dehydrate_channel(self, voucher: Voucher) -> str:
        return voucher.get_channel_display()
