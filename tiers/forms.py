"""Admin forms of the tiers app: they parse input and show the services' refusals on the
right field; the rules themselves are in `tiers.services`."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tiers.models import Tier
from tiers.services import tier_ladder_errors


class TierAdminForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = [
            "code",
            "name",
            "name_en",
            "description",
            "description_en",
            "rank",
            "threshold",
            "earn_rate_percent",
            "invoice_discount_percent",
            "voucher_points_discount_percent",
            "retention_spend",
            "retention_months",
            "on_failure",
            "grace_days",
            "reset_spend_on_downgrade",
        ]

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        # The whole ladder as it would be with this tier saved, checked by the same function
        # the service refuses with.
        for field, messages in tier_ladder_errors(self.instance).items():
            for message in messages:
                self.add_error(None if field == "__all__" or field not in self.fields else field, message)


class TierSetForm(forms.Form):
    tier = forms.ModelChoiceField(label=_("New tier"), queryset=Tier.objects.order_by("rank"))
    reason = forms.CharField(label=_("Reason"), max_length=400, widget=forms.Textarea(attrs={"rows": 2}))
    floor_until = forms.DateField(
        label=_("Guarantee the tier through"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional: the member cannot drop below this tier until the end of that day."),
    )


class RecomputeConfirmForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, move these members"), required=True)
