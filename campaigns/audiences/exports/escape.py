"""Formula injection: a cell whose text starts with =, +, -, @, a tab or a carriage return is
run as a formula (or DDE command) by Excel and LibreOffice when the file is opened.
`IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT` only handles '=' (pitfalls.md), so every text cell we
write, in xlsx and csv alike, goes through `neutralise`, which prefixes such text with a quote:
the spreadsheet then shows it as text. Numbers and dates are left alone (they are not text)."""

from __future__ import annotations

from typing import Any

DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(DANGEROUS_STARTS):
        return "'" + value
    return value


def neutralise_row(values: list[Any]) -> list[Any]:
    return [neutralise(value) for value in values]
