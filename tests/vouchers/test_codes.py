import re
from collections import Counter

import pytest

from vouchers.codes import (
    ALPHABET,
    voucher_code_generate,
    voucher_code_is_valid,
    voucher_code_normalise,
    voucher_codes_generate,
)


def test_alphabet_leaves_out_characters_people_confuse():
    for confusing in "0O1IL":
        assert confusing not in ALPHABET
    assert len(set(ALPHABET)) == len(ALPHABET) == 31


def test_generated_codes_are_two_groups_of_four_from_the_alphabet():
    codes = {voucher_code_generate() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert re.fullmatch(r"[23456789A-HJKMNP-Z]{4}-[23456789A-HJKMNP-Z]{4}", code), code
        assert voucher_code_is_valid(code)


def test_codes_drawn_at_once_have_the_format_and_use_every_character_evenly():
    """The bulk issue draws its codes in one read of the random source (rejection sampling):
    the same format as one at a time, no character favoured (with 31 characters, dropping no
    byte would favour the first 8: 9 chances in 256 against 8)."""
    codes = voucher_codes_generate(20_000)
    assert len(codes) == 20_000
    assert all(voucher_code_is_valid(code) for code in codes)
    counts = Counter("".join(codes).replace("-", ""))
    assert set(counts) == set(ALPHABET)
    expected = 20_000 * 8 / len(ALPHABET)  # 5161 each; a standard deviation is about 71
    favoured = sum(counts[c] for c in ALPHABET[:8]) / 8
    others = sum(counts[c] for c in ALPHABET[8:]) / (len(ALPHABET) - 8)
    assert abs(favoured - expected) < 150 and abs(others - expected) < 150
    assert favoured / others < 1.06  # biased modulo sampling would give about 1.12


@pytest.mark.parametrize("typed", ["K7QM-4XRT", "k7qm-4xrt", "K7QM4XRT", "k7qm4xrt", " K7QM 4XRT ", "k7qm.4xrt"])
def test_typed_codes_normalise_to_the_stored_form(typed):
    assert voucher_code_normalise(typed) == "K7QM-4XRT"


@pytest.mark.parametrize("typed", ["", "K7QM", "K7QM-4XRT-99", "O0QM-4XRT", "ILQM-4XRT"])
def test_impossible_codes_are_not_valid(typed):
    assert not voucher_code_is_valid(voucher_code_normalise(typed))
