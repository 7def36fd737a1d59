"""Short codes people read aloud and type: member codes and referral codes.

The alphabet leaves out 0/O, 1/I/L so that nothing is misread; codes start with a letter so a
member code can never be mistaken for a phone or card number. Codes are stored upper-case and
matched case-insensitively."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ"
MEMBER_CODE_LENGTH = 8
REFERRAL_CODE_LENGTH = 6


def code_generate(length: int) -> str:
    return secrets.choice(LETTERS) + "".join(secrets.choice(ALPHABET) for _ in range(length - 1))


def code_normalise(value: object) -> str:
    return "".join(str(value or "").split()).upper()
