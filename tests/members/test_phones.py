"""Vietnamese phone numbers in every form people type them, one canonical form stored."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from members.phones import (
    phone_masked,
    phone_national,
    phone_normalise,
    phone_or_none,
    phone_search_digits,
    validate_phone_e164,
)


@pytest.mark.parametrize(
    "typed",
    [
        "0912345678",
        "912345678",  # the leading 0 lost in a spreadsheet
        "+84912345678",
        "84912345678",
        "84 912 345 678",
        "+84 912 345 678",
        "0084912345678",
        "0912 345 678",
        "091.234.5678",
        "091-234-5678",
        "(091) 234-5678",
        " 0912345678 ",
        "+84 (0) 912 345 678",
    ],
)
def test_every_common_form_becomes_the_same_e164_number(typed):
    assert phone_normalise(typed) == "+84912345678"


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("0862345678", "+84862345678"),  # Viettel 086
        ("0332345678", "+84332345678"),  # Viettel 03x
        ("0702345678", "+84702345678"),  # MobiFone 070
        ("0812345678", "+84812345678"),  # Vinaphone 081
        ("0562345678", "+84562345678"),  # Vietnamobile 056
        ("02438251234", "+842438251234"),  # a Hà Nội landline
    ],
)
def test_other_real_vietnamese_numbers_are_accepted(typed, expected):
    assert phone_normalise(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "abc",
        "091234567",  # one digit short
        "09123456789",  # one digit too many
        "0123456789",  # pre-2018 prefix, no longer assigned
        "01234567890",  # the old 11-digit mobile form
        "0012345678",
        "+14155552671",  # a real number, but American
        "+441632960961",
        "0912345678 ext 12",
        "09123456AB",
        "0912345678#",
        "84 12 345 678",
        "+84",
        "0" * 40,
        None,
    ],
)
def test_anything_else_is_refused_with_a_clear_message(typed):
    with pytest.raises(ValidationError) as exc:
        phone_normalise(typed)
    assert "0912345678" in str(exc.value.messages[0])
    assert phone_or_none(typed) is None


@given(st.text(max_size=30))
def test_normalising_never_crashes_and_is_idempotent(text):
    phone = phone_or_none(text)
    if phone is not None:
        assert phone.startswith("+84")
        assert phone_normalise(phone) == phone
        assert phone_normalise(phone_national(phone)) == phone


def test_the_model_validator_accepts_only_the_canonical_form():
    validate_phone_e164("+84912345678")
    for not_canonical in ("0912345678", "84912345678", "+84 912 345 678"):
        with pytest.raises(ValidationError):
            validate_phone_e164(not_canonical)


def test_masked_and_national_forms():
    assert phone_national("+84912345678") == "0912345678"
    assert phone_masked("+84912345678") == "091****678"
    assert phone_masked("+842438251234") == "024*****234"


@pytest.mark.parametrize(
    "term, digits",
    [("0912 345", "912345"), ("+84 9123", "9123"), ("345678", "345678"), ("84912345678", "912345678")],
)
def test_partial_phone_searches_drop_the_prefix(term, digits):
    assert phone_search_digits(term) == digits


@pytest.mark.parametrize("term", ["Nguyễn", "091", "M2K3", ""])
def test_non_phone_terms_are_not_phone_searches(term):
    assert phone_search_digits(term) is None


def _slow(raw: str) -> str | None:
    """What phonenumbers itself says, without the fast path."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 84 or not phonenumbers.is_valid_number_for_region(number, "VN"):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@given(
    prefix=st.sampled_from(["", "0", "84", "+84", "00", "8", "+8", "+840"]),
    digits=st.text(alphabet="0123456789", min_size=7, max_size=11),
)
def test_the_fast_path_for_mobile_numbers_agrees_with_phonenumbers(prefix, digits):
    from members.phones import _mobile_fast

    raw = prefix + digits
    fast = _mobile_fast(raw)
    if fast is not None:
        assert fast == _slow(raw), raw


@pytest.mark.parametrize("first", [str(d) for d in range(10)])
def test_the_fast_path_agrees_on_every_mobile_prefix(first):
    from members.phones import _mobile_fast

    for second in range(100):
        national = f"{first}{second:02d}345678"
        for raw in (national, "0" + national, "84" + national, "+84" + national):
            fast = _mobile_fast(raw)
            assert fast is None or fast == _slow(raw), raw
            if fast is None and raw.startswith("+84"):
                # not a mobile number of Vietnam's plan: the full path decides, as before
                assert _slow(raw) is None or not national.startswith(("3", "5", "7", "8", "9"))


def test_the_fast_path_takes_the_common_forms():
    from members.phones import _mobile_fast

    for raw in ("0912345678", "912345678", "84912345678", "+84912345678"):
        assert _mobile_fast(raw) == "+84912345678"
