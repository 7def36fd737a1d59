"""Admin forms of customer groups. They parse input; the rules are in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.audiences.models import CustomerGroup, Segment


class PhoneListForm(forms.Form):
    phones = forms.CharField(
        label=_("phone numbers"),
        widget=forms.Textarea(attrs={"rows": 12, "cols": 40}),
        help_text=_(
            "One per line, or separated by commas or semicolons; any common form (0912345678, +84 912 345 678)."
        ),
    )


class AddToGroupForm(forms.Form):
    group = forms.ModelChoiceField(
        label=_("existing group"), queryset=CustomerGroup.objects.order_by("name"), required=False
    )
    new_group = forms.CharField(label=_("or a new group named"), max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("group")) == bool((cleaned.get("new_group") or "").strip()):
            raise forms.ValidationError(_("Choose a group, or name a new one (not both)."))
        return cleaned


class SegmentAdminForm(forms.ModelForm):
    """The segment's rules; each is checked by `Segment.clean`, and here the one that needs the
    brands chosen on the form (a many-to-many the model cannot see before it is saved)."""

    class Meta:
        model = Segment
        fields = [
            "name", "description", "birthday_month", "tiers", "home_stores", "gender", "age_min", "age_max",
            "points_balance_min", "points_balance_max", "enrolled_from", "enrolled_until", "last_purchase_after",
            "last_purchase_before", "purchased_within_days", "not_purchased_within_days", "min_spend",
            "spend_within_days", "bought_at_brands", "bought_categories", "bought_skus", "bought_within_days",
            "recent_days", "recent_orders_min", "recent_orders_max", "recent_net_sales_min", "recent_net_sales_max",
            "lifetime_net_sales_min", "lifetime_net_sales_max", "groups",
        ]  # fmt: skip

    def clean(self):
        cleaned = super().clean()
        bought = cleaned.get("bought_at_brands") or cleaned.get("bought_categories") or cleaned.get("bought_skus")
        if cleaned.get("bought_within_days") and not bought:
            self.add_error("bought_within_days", _("Choose the brands, categories or products bought in those days."))
        return cleaned
