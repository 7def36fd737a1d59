"""Short codes people read aloud and type: member codes and referral codes.

The alphabet leaves out 0/O, 1/I/L so that nothing is misread; codes start with a letter so a
member code can never be mistaken for a phone or card number. Codes are stored upper-case and
matched case-insensitively.

One way of drawing them, for one member (`code_generate`, enrolment) and for many
(`codes_generate`, `members.services.bulk`): characters come from blocks of random bytes, since
`secrets.choice` per character costs seconds for 100,000 members."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ"
MEMBER_CODE_LENGTH = 8
REFERRAL_CODE_LENGTH = 6


def _uniform(size: int, alphabet: str) -> list[str]:
    """`size` characters of `alphabet`, each equally likely (bytes past the last whole multiple
    of the alphabet's length are dropped, so there is no modulo bias)."""
    base = len(alphabet)
    cutoff = 256 - 256 % base
    out: list[str] = []
    while len(out) < size:
        out.extend(alphabet[b % base] for b in secrets.token_bytes(2 * (size - len(out)) + 16) if b < cutoff)
    return out[:size]


def codes_generate(count: int, length: int) -> list[str]:
    """`count` random codes of `length` characters: a letter, then letters and digits of the
    alphabet, uniformly drawn (not checked for being unused, nor distinct)."""
    firsts = _uniform(count, LETTERS)
    step = length - 1
    rest = _uniform(count * step, ALPHABET)
    return [firsts[i] + "".join(rest[i * step : (i + 1) * step]) for i in range(count)]


def code_generate(length: int) -> str:
    return codes_generate(1, length)[0]


def code_normalise(value: object) -> str:
    return "".join(str(value or "").split()).upper()
