"""django-import-export resource of customer groups: the list of groups with their sizes, export
only (members join groups through the group services and the member import)."""

from __future__ import annotations

from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field
from import_export.widgets import IntegerWidget

from campaigns.audiences.models import CustomerGroup
from loyalty_site.core.importexport.resources import SafeModelResource


class CustomerGroupResource(SafeModelResource):
    member_count = Field(
        attribute="member_count", column_name=_("Members"), readonly=True, widget=IntegerWidget(coerce_to_string=False)
    )
    created_by = Field(attribute="created_by__username", column_name=_("Created by"), readonly=True)

    class Meta(SafeModelResource.Meta):
        model = CustomerGroup
        name = _("Customer groups")
        fields = ["name", "description", "member_count", "created_at", "created_by"]

    def get_queryset(self):
        return super().get_queryset().select_related("created_by")

    def filter_export(self, queryset, **kwargs):
        return queryset.annotate(member_count=Count("memberships"))
