"""Admin forms. They parse input; the rules live in the services they feed."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from members.models import Member
from vouchers.models import Reward, Voucher


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
