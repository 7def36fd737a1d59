"""Vietnamese phone numbers: one canonical form (E.164, `+84912345678`) for every way a cashier,
a member or an Excel sheet writes them.

Accepted: `0912345678`, `912345678` (the leading 0 lost in a spreadsheet), `+84912345678`,
`84912345678`, `0084912345678`, with spaces, dots, dashes or parentheses anywhere. Refused:
letters, extensions, numbers that `phonenumbers` does not know as a valid Vietnamese number
(wrong length, unassigned prefixes such as the pre-2018 11-digit `01xx` mobile numbers) and
numbers of any other country."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

REGION = "VN"
COUNTRY_CODE = 84
# Separators people type; anything else (letters, '#', 'ext') makes the value not a phone.
_SEPARATORS = re.compile(r"[\s.\-()/]")
_ALLOWED = re.compile(r"^\+?\d+$")
INVALID_MESSAGE = _("Enter a valid Vietnamese phone number, e.g. 0912345678.")


# The common case, a 9-digit mobile number with or without its trunk 0 or country code, decided
# with phonenumbers' own patterns for Vietnam (the general and the mobile one) without the cost
# of `phonenumbers.parse` (~0.2 ms a number, most of a 100,000-row import's checking). Anything
# else takes the full path. tests/members/test_phones.py checks both give the same answer.
_MOBILE_SHAPE = re.compile(r"^(?:\+84|84|0)?(\d{9})$")
_VN = phonenumbers.PhoneMetadata.metadata_for_region(REGION)
_GENERAL = re.compile(_VN.general_desc.national_number_pattern)
_MOBILE = re.compile(_VN.mobile.national_number_pattern)


def _mobile_fast(raw: str) -> str | None:
    match = _MOBILE_SHAPE.match(raw)
    if match is None:
        return None
    national = match.group(1)
    if national[0] == "0" or not (_GENERAL.fullmatch(national) and _MOBILE.fullmatch(national)):
        return None
    return f"+{COUNTRY_CODE}{national}"


def phone_normalise(value: object) -> str:
    """The E.164 form of a Vietnamese phone number; ValidationError when it is not one."""
    raw = _SEPARATORS.sub("", str(value if value is not None else "")).strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    fast = _mobile_fast(raw)
    if fast is not None:
        return fast
    if not raw or not _ALLOWED.match(raw) or len(raw) > 16:
        raise ValidationError(INVALID_MESSAGE, code="invalid_phone")
    try:
        number = phonenumbers.parse(raw, REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(INVALID_MESSAGE, code="invalid_phone") from None
    if number.country_code != COUNTRY_CODE or not phonenumbers.is_valid_number_for_region(number, REGION):
        raise ValidationError(INVALID_MESSAGE, code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_or_none(value: object) -> str | None:
    """The E.164 form when `value` is a valid Vietnamese number, else None (for lookups and
    searches, where a non-phone is simply another kind of identifier)."""
    try:
        return phone_normalise(value)
    except ValidationError:
        return None


def validate_phone_e164(value: str) -> None:
    """Model validator: the stored value must already be the canonical form."""
    if phone_or_none(value) != value:
        raise ValidationError(INVALID_MESSAGE, code="invalid_phone")


def phone_national(e164: str) -> str:
    """`+84912345678` -> `0912345678`, the form Vietnamese staff read and type."""
    if e164.startswith(f"+{COUNTRY_CODE}"):
        return "0" + e164[len(f"+{COUNTRY_CODE}") :]
    return e164


def phone_masked(e164: str) -> str:
    """The national form with all but the first three and last three digits hidden:
    `+84912345678` -> `091****678`."""
    national = phone_national(e164)
    if len(national) <= 6:
        return "*" * len(national)
    return national[:3] + "*" * (len(national) - 6) + national[-3:]


def phone_search_digits(term: str) -> str | None:
    """For partial searches: the digits of a phone-looking term without its trunk or country
    prefix (`0912 345` -> `912345`), so they can be matched inside the stored E.164 form.
    None when the term is not phone-like or too short to be meaningful."""
    raw = _SEPARATORS.sub("", term or "")
    if not _ALLOWED.match(raw):
        return None
    digits = raw.lstrip("+")
    if raw.startswith("+84"):
        digits = digits[2:]
    elif digits.startswith("0084"):
        digits = digits[4:]
    elif digits.startswith("84") and len(digits) > 9:
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return digits if len(digits) >= 4 else None
