"""How staff search for a member (issue 18): a phone in any form or its last digits, a member
code or card number exactly, a Vietnamese name with or without its accents. Pure functions here;
the query is `members.selectors.member_search`, the indexes are in the members' migrations.

- Names are matched on `Member.name_folded`, the name lower-cased without accents (`Nguyễn Văn
  An` -> `nguyen van an`, `Đỗ` -> `do`), kept by the member services with `name_fold`, by a
  regular expression of the term's words in order. On PostgreSQL a trigram index (pg_trgm, GIN)
  serves it; SQLite scans (the plain fallback, at development sizes).
- A phone typed whole, in any form, is normalised to E.164 and matched exactly (unique index).
  A partial number of at least `PHONE_DIGITS_MIN` digits is a suffix (`345678`, the last digits,
  what a cashier reads off a receipt), matched on the reversed phone by a btree prefix index,
  or, when it starts with its trunk or country prefix (`0912 345`), a prefix of the number."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from members.phones import COUNTRY_CODE, phone_or_none

PHONE_DIGITS_MIN = 6
NAME_WORD_MIN = 3
_SEPARATORS = re.compile(r"[\s.\-()/]")
_DIGITS = re.compile(r"^\+?\d+$")
_WORDS = re.compile(r"\s+")
# Letters NFD does not decompose: Vietnamese đ, and a few Latin ones unaccent folds as well.
_NOT_DECOMPOSED = str.maketrans({"đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l"})


def name_fold(name: str) -> str:
    """`name` lower-cased, without accents, with single spaces: the form names are searched in."""
    decomposed = unicodedata.normalize("NFD", (name or "").translate(_NOT_DECOMPOSED))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _WORDS.sub(" ", bare.lower()).strip()


@dataclass(frozen=True)
class PhoneTerm:
    """What a phone-looking search term designates: a whole number (`e164`), or the start
    (`prefix`, in E.164 form) and/or the end (`suffix`, digits) of one."""

    e164: str | None = None
    prefix: str | None = None
    suffix: str | None = None


def phone_term(term: str) -> PhoneTerm | None:
    """None when `term` is not a phone or too short to search (fewer than 6 digits typed).
    `0912 345` may be the start of a number or its last digits (which can begin with 0): both."""
    whole = phone_or_none(term)
    if whole is not None:
        return PhoneTerm(e164=whole)
    raw = _SEPARATORS.sub("", term or "")
    if not _DIGITS.match(raw) or len(raw.lstrip("+")) < PHONE_DIGITS_MIN:
        return None
    country = f"+{COUNTRY_CODE}"
    if raw.startswith(country):
        return PhoneTerm(prefix=raw)
    if raw.startswith("+"):
        return None
    if raw.startswith(f"00{COUNTRY_CODE}"):
        return PhoneTerm(prefix="+" + raw[2:])
    if raw.startswith(str(COUNTRY_CODE)) and len(raw) > 9:
        return PhoneTerm(prefix="+" + raw, suffix=raw)
    if raw.startswith("0"):
        return PhoneTerm(prefix=country + raw[1:], suffix=raw)
    return PhoneTerm(suffix=raw)


def name_pattern(term: str) -> str | None:
    """The regular expression a name search matches the folded names with: the folded words of
    the term in their order, anything between (`nguyen an` finds `nguyen van an`). None unless
    a word has `NAME_WORD_MIN` letters or more: pg_trgm's index needs three characters in a row
    to narrow anything down, and a search for `an` alone would read the whole index."""
    words = [word for word in name_fold(term).split(" ") if word]
    if not any(len(word) >= NAME_WORD_MIN for word in words):
        return None
    return ".*".join(re.escape(word) for word in words)
