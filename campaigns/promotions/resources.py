"""django-import-export resource of promotions: configuration, exported from one installation and
imported into another (test to live) by its code, through `promotion_save`; brands, stores and
tiers are named by their codes (import the tiers first), and so is the date schedule."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from import_export.fields import Field
from import_export.widgets import ForeignKeyWidget

from campaigns.calendar.models import DateSchedule
from campaigns.promotions.models import Promotion
from campaigns.promotions.services import promotion_save
from loyalty_site.core.importexport.resources import CodesWidget, SafeModelResource
from stores.models import Brand, Store
from tiers.models import Tier


class PromotionResource(SafeModelResource):
    brands = Field(attribute="brands", column_name=_("Brands (codes)"), widget=CodesWidget(Brand))
    stores = Field(attribute="stores", column_name=_("Stores (codes)"), widget=CodesWidget(Store))
    tiers = Field(attribute="tiers", column_name=_("Tiers (codes)"), widget=CodesWidget(Tier))
    date_schedule = Field(
        attribute="date_schedule",
        column_name=_("Date schedule (code)"),
        widget=ForeignKeyWidget(DateSchedule, field="code"),
    )

    class Meta(SafeModelResource.Meta):
        model = Promotion
        name = _("Promotions")
        import_id_fields = ["code"]
        fields = [
            "code", "name", "name_en", "description", "is_active", "kind", "multiplier", "bonus_points", "percent",
            "amount", "scope", "skus", "categories", "valid_from", "valid_until", "date_schedule", "weekdays",
            "time_from", "time_until", "brands", "stores", "members_only", "tiers", "birthday", "min_spend",
            "limit_count", "limit_period", "priority", "stackable",
        ]  # fmt: skip

    def service_save(self, instance, is_create):
        promotion_save(promotion=instance, by=getattr(self, "import_user", None))
