"""The customer groups and segments a catalogue reward is kept for, as an inline of the reward
page. `vouchers` cannot see this app, so `backoffice` composes the reward admin with it; the rows
are written by `reward_audience_set` (`RewardWithAudiencesMixin.save_formset`), never by the
formset itself."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from campaigns.audiences.models import RewardAudience
from campaigns.audiences.services import reward_audience_set


class RewardAudienceInline(admin.TabularInline):
    model = RewardAudience
    fk_name = "reward"
    fields = ["group", "segment"]
    autocomplete_fields = ["group", "segment"]
    extra = 0
    verbose_name = _("customer group or segment")
    verbose_name_plural = _(
        "Kept for these customer groups and segments (none: every member; members of any one of them otherwise)"
    )


class RewardWithAudiencesMixin:
    """For the reward admin: the audience inline, saved through the service."""

    inlines = [RewardAudienceInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not RewardAudience:
            return super().save_formset(request, form, formset, change)
        groups, segments = [], []
        for row in formset.forms:
            data = getattr(row, "cleaned_data", None) or {}
            if not data or data.get("DELETE"):
                continue
            if data.get("group") is not None:
                groups.append(data["group"])
            if data.get("segment") is not None:
                segments.append(data["segment"])
        reward_audience_set(reward=form.instance, groups=groups, segments=segments)
        # The admin's change message reads these; the service wrote the rows.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        return None
