"""Voucher codes: short, read aloud over a counter and typed on a till.

`K7QM-4XRT`: eight characters in two groups of four, from an alphabet without the characters
people confuse (0/O, 1/I/L). Stored in that canonical form; whatever a cashier types is brought
back to it (`k7qm4xrt`, `K7QM 4XRT`, `k7qm-4xrt`), so a lookup is an exact match on the unique
index, never a case-insensitive scan."""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GROUP = 4
GROUPS = 2
LENGTH = GROUP * GROUPS
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_CANONICAL = re.compile(rf"^[{ALPHABET}]{{{GROUP}}}(-[{ALPHABET}]{{{GROUP}}}){{{GROUPS - 1}}}$")


# Bytes at or above this bound are dropped, so that every character stays equally likely.
_UNBIASED = 256 - 256 % len(ALPHABET)


def voucher_codes_generate(count: int) -> list[str]:
    """`count` random codes in the canonical form, from the system's random source in one read
    (a campaign draws tens of thousands at once). Rejection sampling keeps every character
    equally likely. Not checked against the codes already issued: the services do that."""
    codes: list[str] = []
    while len(codes) < count:
        raw = [b for b in secrets.token_bytes((count - len(codes)) * LENGTH * 2) if b < _UNBIASED]
        for start in range(0, len(raw) - LENGTH + 1, LENGTH):
            chars = "".join(ALPHABET[b % len(ALPHABET)] for b in raw[start : start + LENGTH])
            codes.append("-".join(chars[i : i + GROUP] for i in range(0, LENGTH, GROUP)))
            if len(codes) == count:
                break
    return codes


def voucher_code_generate() -> str:
    return voucher_codes_generate(1)[0]


def voucher_code_normalise(value: object) -> str:
    """The canonical form of a typed code: separators dropped, upper-cased, regrouped. A value
    that cannot be a voucher code comes back as its bare upper-case characters (it then finds
    nothing)."""
    raw = _NOT_ALNUM.sub("", str(value or "")).upper()
    if len(raw) != LENGTH:
        return raw
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def voucher_code_is_valid(code: str) -> bool:
    """Whether `code` is a canonical voucher code (after `voucher_code_normalise`)."""
    return bool(_CANONICAL.match(code or ""))
