"""Formula injection: a cell whose text starts with =, +, -, @, a tab or a carriage return is
run as a formula (or DDE command) by Excel and LibreOffice when the file is opened.
`IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT` only handles '=' (pitfalls.md), so every text cell we
write, in xlsx and csv alike, goes through `neutralise`, which prefixes such text with a quote:
the spreadsheet then shows it as text. Numbers and dates are left alone (they are not text).

`restore` undoes it when one of our own files is imported again, so a name that starts with a
dash survives an export and an import unchanged. Control characters that a spreadsheet cannot
hold (see `loyalty_site.core.text`) are dropped on the way out, so no stored text can break an
export; `restore` cannot bring them back, and should not."""

from __future__ import annotations

from typing import Any

from loyalty_site.core.text import unwritable_strip

DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise(value: Any) -> Any:
    if isinstance(value, str):
        # Characters a spreadsheet cannot hold are dropped first (one of them used to break every
        # member export), then the formula check sees the text as it will be written.
        value = unwritable_strip(value)
    # Text that already looks neutralised ("'=x") is quoted once more, so `restore` is exact.
    if isinstance(value, str) and value.lstrip(QUOTE).startswith(DANGEROUS_STARTS):
        return QUOTE + value
    return value


def neutralise_row(values: list[Any]) -> list[Any]:
    return [neutralise(value) for value in values]


def restore(value: Any) -> Any:
    """The text `neutralise` was given: the quote it added is dropped, any other is kept."""
    if isinstance(value, str) and value.startswith(QUOTE) and neutralise(value[1:]) == value:
        return value[1:]
    return value
