"""Admin forms of scheduled campaigns. They parse input; the rules are in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.runs.models import Campaign
from notifications.models import Event


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
            "code", "name", "description", "journey", "journey_days", "group", "segment", "reward", "voucher_delivery",
            "claim_days", "bonus_points", "notification_event", "notification_is_marketing", "once_per", "schedule",
            "date_schedule", "run_at", "cron_minute", "cron_hour", "cron_day_of_month", "cron_month_of_year",
            "cron_day_of_week", "holdout_percent", "result_days",
        ]  # fmt: skip


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
