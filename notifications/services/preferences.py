"""Members' notification preferences (language, push device token)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from loyalty_site.core.errors import ValidationFailed
from members.models import Member
from notifications.models import MemberPreference

_UNSET = object()


def member_preference_set(
    *, member: Member, language: str | None = None, push_token: object = _UNSET
) -> MemberPreference:
    """Set the member's message language and/or push device token (blank removes it).
    Invalid values: ValidationFailed, nothing written."""
    with transaction.atomic():
        preference, _created = MemberPreference.objects.select_for_update().get_or_create(member=member)
        if language is not None:
            preference.language = language
        if push_token is not _UNSET:
            preference.push_token = (str(push_token or "")).strip()
        try:
            preference.full_clean()
        except ValidationError as exc:
            raise ValidationFailed(errors=exc.message_dict) from exc
        preference.save()
    return preference
