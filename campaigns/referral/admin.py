"""The referral programme's one row of settings."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaigns.referral.models import ReferralProgramme
from campaigns.referral.selectors import referral_programme_get
from campaigns.referral.services import referral_programme_update
from loyalty_site.core.models import copy_saved


@admin.register(ReferralProgramme)
class ReferralProgrammeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "is_active", "percent", "days", "updated_at"]
    list_filter: list = []
    search_fields: list = []
    ordering = ["pk"]
    list_select_related = ["updated_by"]
    autocomplete_fields: list = []
    readonly_fields = ["updated_at", "updated_by"]
    fieldsets = [
        (
            None,
            {
                "fields": ["is_active", "percent", "days"],
                "description": _(
                    "A member who enrols with another member's referral code makes the referrer earn this share "
                    "of the new member's earn base, as points, on each sale in the new member's first days. "
                    "Nobody can refer themself, and a member has one referrer at most."
                ),
            },
        ),
        (_("History"), {"fields": ["updated_at", "updated_by"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: the list is the row.
        programme = referral_programme_get()
        return HttpResponseRedirect(reverse("admin:campaigns_referralprogramme_change", args=[programme.pk]))

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        saved = referral_programme_update(data=data, by=request.user)
        copy_saved(obj, saved)
