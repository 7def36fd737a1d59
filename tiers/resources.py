"""django-import-export resources of the tiers app: the tier ladder is configuration, exported
from one installation and imported into another (test to live) by its code, through
`tier_save` (which checks the whole ladder: import the rows in rank order, as exported)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from loyalty_site.core.importexport.resources import SafeModelResource
from tiers.models import Tier
from tiers.services import tier_save


class TierResource(SafeModelResource):
    class Meta(SafeModelResource.Meta):
        model = Tier
        name = _("Tiers")
        import_id_fields = ["code"]
        fields = [
            "code", "rank", "name", "name_en", "description", "description_en", "threshold", "earn_rate_percent",
            "invoice_discount_percent", "voucher_points_discount_percent", "retention_spend", "retention_months",
            "on_failure", "grace_days", "reset_spend_on_downgrade",
        ]  # fmt: skip

    def get_queryset(self):
        return super().get_queryset().order_by("rank")

    def service_save(self, instance, is_create):
        tier_save(tier=instance)
