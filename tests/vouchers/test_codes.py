import re

import pytest

from vouchers.codes import ALPHABET, voucher_code_generate, voucher_code_is_valid, voucher_code_normalise


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


@pytest.mark.parametrize("typed", ["K7QM-4XRT", "k7qm-4xrt", "K7QM4XRT", "k7qm4xrt", " K7QM 4XRT ", "k7qm.4xrt"])
def test_typed_codes_normalise_to_the_stored_form(typed):
    assert voucher_code_normalise(typed) == "K7QM-4XRT"


@pytest.mark.parametrize("typed", ["", "K7QM", "K7QM-4XRT-99", "O0QM-4XRT", "ILQM-4XRT"])
def test_impossible_codes_are_not_valid(typed):
    assert not voucher_code_is_valid(voucher_code_normalise(typed))
