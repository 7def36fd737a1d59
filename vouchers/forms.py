"""Admin forms. They parse input; the rules live in the services they feed."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from members.models import Member
from vouchers.models import Reward, Voucher, VoucherBatch


def _one_line(value: str) -> str:
    return " ".join((value or "").split())


class IssueVoucherForm(forms.Form):
    member = forms.ModelChoiceField(
        label=_("member"),
        queryset=Member.objects.exclude(status=Member.Status.MERGED),
        help_text=_("Search by name, phone number or member code."),
    )
    reward = forms.ModelChoiceField(
        label=_("reward"),
        queryset=Reward.objects.order_by("code"),
        help_text=_("Hidden rewards can be given too; the stock and the member's limit apply."),
    )
    reason = forms.CharField(
        label=_("reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required: it is kept on the voucher."),
    )
    # Drawn when the form is shown: submitting the same form twice issues one voucher.
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, admin_site=None, **kwargs):
        super().__init__(*args, **kwargs)
        if admin_site is not None:
            field = self.fields["member"]
            field.widget = AutocompleteSelect(Voucher._meta.get_field("member"), admin_site)
            field.widget.choices = field.choices

    def clean_reason(self):
        reason = _one_line(self.cleaned_data.get("reason", ""))
        if not reason:
            raise ValidationError(_("Give a reason for issuing the voucher."))
        return reason


class VoidVouchersForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required: it is kept on each voucher."),
    )

    def clean_reason(self):
        reason = _one_line(self.cleaned_data.get("reason", ""))
        if not reason:
            raise ValidationError(_("Give a reason for voiding the voucher."))
        return reason


# What one batch made in the admin may hold: enough for a city-wide leaflet run, small enough that
# generating and downloading it stays a matter of seconds (the service's own bound is higher, for
# scripts).
ADMIN_BATCH_MAX = 200_000


class VoucherBatchAddForm(forms.ModelForm):
    """The admin's "add voucher batch" form: reward, how many codes, a name. The codes are made by
    `voucher_batch_create` (the admin's save_model), never by this form."""

    count = forms.IntegerField(
        label=_("number of codes"),
        min_value=1,
        max_value=ADMIN_BATCH_MAX,
        error_messages={
            "min_value": _("Give a number of codes from 1 to 200,000."),
            "max_value": _("Give a number of codes from 1 to 200,000."),
            "invalid": _("Give a number of codes from 1 to 200,000."),
        },
        help_text=_("From 1 to 200,000 codes; each code can be used once."),
    )

    class Meta:
        model = VoucherBatch
        fields = ["reward", "count", "name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "name" in self.fields:  # the change page shows a batch read-only, without fields
            self.fields["name"].required = False
            self.fields["name"].help_text = _("Shown on the list; the reward's code when left empty.")
