"""Admin forms of the campaigns app. They parse input; the rules are in the models' `clean` and
in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CustomerGroup, Promotion
from campaigns.models.promotions import WEEKDAYS
from notifications.models import Event


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
            "amount", "scope", "skus", "categories", "valid_from", "valid_until", "time_from", "time_until",
            "brands", "stores", "members_only", "tiers", "birthday", "min_spend", "limit_count", "limit_period",
            "priority", "stackable",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["weekday_choices"] = list(self.instance.weekdays or "")

    def _post_clean(self):
        # Before the model's own validation runs on the instance.
        self.instance.weekdays = "".join(sorted(set(self.cleaned_data.get("weekday_choices") or [])))
        super()._post_clean()


class CampaignAdminForm(forms.ModelForm):
    notification_event = forms.ChoiceField(
        label=_("notification to send"),
        choices=[("", _("No message")), *Event.choices],
        required=False,
        help_text=_("The message template's event; a template variant named after the campaign's code is used first."),
    )

    class Meta:
        model = Campaign
        fields = [
            "code", "name", "description", "group", "segment", "reward", "bonus_points", "notification_event",
            "notification_is_marketing", "once_per", "schedule", "run_at", "cron_minute", "cron_hour",
            "cron_day_of_month", "cron_month_of_year", "cron_day_of_week",
        ]  # fmt: skip


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


class TestSendForm(forms.Form):
    phone = forms.CharField(
        label=_("member's phone number"),
        max_length=30,
        help_text=_("The member record of the staff member who should receive the test."),
    )


class RunForm(forms.Form):
    as_of = forms.DateField(
        label=_("for the day"),
        required=False,
        help_text=_("Empty: today. The period (day or year) follows from it."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
