"""Admin form of promotions. It parses input; the rules are in the model's `clean` and the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.promotions.models import WEEKDAYS, Promotion


class PromotionAdminForm(forms.ModelForm):
    weekday_choices = forms.TypedMultipleChoiceField(
        label=_("days of the week"),
        choices=[(str(number), label) for number, label in WEEKDAYS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every day."),
    )

    class Meta:
        model = Promotion
        fields = [
            "code", "name", "name_en", "description", "is_active", "kind", "multiplier", "bonus_points", "percent",
            "amount", "scope", "skus", "categories", "valid_from", "valid_until", "date_schedule", "time_from",
            "time_until", "brands", "stores", "members_only", "tiers", "groups", "segments", "birthday", "min_spend",
            "limit_count", "limit_period", "priority", "stackable",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["weekday_choices"] = list(self.instance.weekdays or "")

    def _post_clean(self):
        # Before the model's own validation runs on the instance.
        self.instance.weekdays = "".join(sorted(set(self.cleaned_data.get("weekday_choices") or [])))
        super()._post_clean()
