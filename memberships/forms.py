"""The staff forms of paid membership (the member page in `backoffice`): input only, the rules
are the services'."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from memberships.models import PaidPlan


class MembershipSellForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("plan"), queryset=PaidPlan.objects.filter(is_active=True).order_by("code"))
    # Drawn when the form is shown: submitting the same form twice sells once.
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


class MembershipCancelForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)
