"""django-import-export resources of the members app: the point ledger as staff take it to
Excel (export only: the ledger is written by `members.services.ledger` alone)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from loyalty_site.core.importexport.resources import SafeModelResource
from members.models import LedgerEntry


class LedgerEntryResource(SafeModelResource):
    member_code = Field(attribute="member__code", column_name=_("Member code"), readonly=True)
    member_name = Field(attribute="member__name", column_name=_("Member"), readonly=True)
    kind = Field(column_name=_("Kind"), readonly=True)
    created_by = Field(attribute="created_by__username", column_name=_("Staff user"), readonly=True)

    class Meta(SafeModelResource.Meta):
        model = LedgerEntry
        name = _("Ledger entries")
        fields = [
            "created_at", "occurred_at", "member_code", "member_name", "kind", "points", "balance_after",
            "points_not_recovered", "cause_kind", "cause_reference", "reason", "created_by",
        ]  # fmt: skip

    def get_queryset(self):
        return super().get_queryset().select_related("member", "created_by")

    def dehydrate_kind(self, entry: LedgerEntry) -> str:
        return entry.get_kind_display()
