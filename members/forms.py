"""Admin forms. They parse and normalise input; the rules live in the services they feed."""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from members.models import Card, Member
from members.phones import phone_normalise

CONSENT_LABELS = {
    "sms": _("Consents to SMS"),
    "email": _("Consents to email"),
    "zalo": _("Consents to Zalo"),
    "push": _("Consents to push notifications"),
}


class MemberAdminForm(forms.ModelForm):
    card_number = forms.CharField(label=_("card number"), required=False, max_length=40)
    referral_code = forms.CharField(label=_("referral code of the referring member"), required=False, max_length=12)
    consent_sms = forms.BooleanField(label=CONSENT_LABELS["sms"], required=False)
    consent_email = forms.BooleanField(label=CONSENT_LABELS["email"], required=False)
    consent_zalo = forms.BooleanField(label=CONSENT_LABELS["zalo"], required=False)
    consent_push = forms.BooleanField(label=CONSENT_LABELS["push"], required=False)
    change_reason = forms.CharField(
        label=_("reason for the change"),
        required=False,
        max_length=300,
        help_text=_("Kept in the member's history; required when the phone number changes."),
    )

    class Meta:
        model = Member
        fields = ["name", "phone", "email", "birthday", "gender", "home_store"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for channel in Member.CONSENT_CHANNELS:
                self.initial[f"consent_{channel}"] = self.instance.consent_given_at(channel) is not None
        if "phone" in self.fields:  # absent when the user may only view
            self.fields["phone"].help_text = _("Any common form: 0912345678, +84 912 345 678, 912.345.678 …")

    def clean_phone(self):
        # The canonical form, so that the model's validators and the unique check see it.
        return phone_normalise(self.cleaned_data["phone"])

    def clean(self):
        cleaned = super().clean()
        reason = " ".join((cleaned.get("change_reason") or "").split())
        cleaned["change_reason"] = reason
        if self.instance.pk and "phone" in self.changed_data and not reason:
            self.add_error("change_reason", _("Say why the phone number changes: it is kept in the member's history."))
        return cleaned

    def consents(self) -> dict[str, bool]:
        return {channel: bool(self.cleaned_data.get(f"consent_{channel}")) for channel in Member.CONSENT_CHANNELS}


class AdjustStoreCreditForm(forms.Form):
    amount = forms.DecimalField(
        label=_("amount (VND)"),
        help_text=_("Positive to add store credit, negative to remove it."),
        max_digits=14,
        decimal_places=2,
        min_value=-(10**12),
        max_value=10**12,
    )
    reason = forms.CharField(
        label=_("reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required: it is kept on the ledger entry."),
    )
    # Drawn when the form is shown: submitting the same form twice posts once.
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


class AdjustPointsForm(forms.Form):
    points = forms.IntegerField(
        label=_("points"),
        help_text=_("Positive to add points, negative to remove them."),
        min_value=-10_000_000,
        max_value=10_000_000,
    )
    reason = forms.CharField(
        label=_("reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required: it is kept on the ledger entry."),
    )
    # Drawn when the form is shown: submitting the same form twice posts once.
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise ValidationError(_("Enter a whole number of points other than zero."))
        return points

    def clean_reason(self):
        reason = " ".join(self.cleaned_data.get("reason", "").split())
        if not reason:
            raise ValidationError(_("Give a reason for the adjustment."))
        return reason


class MergeMembersForm(forms.Form):
    survivor = forms.TypedChoiceField(
        label=_("member to keep"),
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("The other member's cards, points and history move to this one."),
    )
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)

    def __init__(self, *args, members: list[Member], **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {member.pk: member for member in members}
        self.fields["survivor"].choices = [
            (member.pk, f"{member.name} · {member.code} · {member.phone}") for member in members
        ]

    def pair(self) -> tuple[Member, Member]:
        survivor = self.members[self.cleaned_data["survivor"]]
        merged = next(member for pk, member in self.members.items() if pk != survivor.pk)
        return survivor, merged


class ReplaceCardForm(forms.Form):
    new_number = forms.CharField(label=_("new card number"), max_length=40)
    reason = forms.ChoiceField(label=_("reason"), choices=Card.DeactivationReason.choices)


class CardAddForm(forms.ModelForm):
    class Meta:
        model = Card
        fields = ["member", "number"]
