"""Stream the rows of a workbook's active sheet with openpyxl's read-only parser.

Why a parser subclass instead of `iter_rows(values_only=True)`: with `data_only=True` a formula
cell that has no cached value (a file written by a program that does not calculate, pitfalls.md)
comes back as None, exactly like an empty cell, and would be imported as "no value". The
subclass marks it, and Excel error values (#N/A, #REF!...), so the row can be flagged. It costs
nothing: the parser is the one `iter_rows` uses (openpyxl 3.1, pinned), and only the columns the
import knows are kept.

Rows are yielded as they are parsed, never the whole sheet at once; blank lines are skipped
(files saved by LibreOffice can claim 2^20 rows) and the data rows are capped."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.utils.translation import gettext as _
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

from campaigns.audiences.imports.errors import ImportRefused
from campaigns.audiences.imports.headers import PHONE, TEMPLATE_HEADERS, field_for_header

logger = logging.getLogger(__name__)
HEADER_SEARCH_ROWS = 20


class _FormulaWithoutValue:
    def __repr__(self) -> str:
        return "<formula without a cached value>"


FORMULA_WITHOUT_VALUE = _FormulaWithoutValue()


class ExcelError(str):
    """An Excel error value such as #N/A or #REF! (a formula that failed)."""


class _SizelessSheet(ReadOnlyWorksheet):
    def _get_size(self) -> None:
        """Not asked: the import streams the rows and never needs the sheet's dimensions."""


class _WorkbookReader(ExcelReader):
    """`load_workbook(read_only=True)` without its first pass over every sheet: a read-only
    worksheet looks for its `<dimension>` on creation, and a file that has none (files written
    by openpyxl's write-only mode and many exporters) is then parsed to the end of its data
    just to learn that, a full read of the sheet before the import reads it (measured: a third
    of openpyxl's own read time of such a file). Everything else is openpyxl's reader as is."""

    def read_worksheets(self) -> None:
        for sheet, rel in self.parser.find_sheets():
            if rel.target not in self.valid_files:
                continue
            if "chartsheet" in rel.Type:
                self.read_chartsheet(sheet, rel)
                continue
            worksheet = _SizelessSheet(self.wb, sheet.name, rel.target, self.shared_strings)
            worksheet.sheet_state = sheet.state
            self.wb._sheets.append(worksheet)


def _load_workbook(fileobj: IO[bytes]):
    reader = _WorkbookReader(fileobj, read_only=True, data_only=True, keep_links=False)
    reader.read()
    return reader.wb


class _Parser(WorkSheetParser):
    def parse_cell(self, element):
        cell = super().parse_cell(element)
        if cell["value"] is None:
            if element.find(FORMULA_TAG) is not None:
                cell["value"] = FORMULA_WITHOUT_VALUE
        elif cell["data_type"] == "e":
            cell["value"] = ExcelError(cell["value"])
        return cell


@dataclass
class Sheet:
    """The header row found, which column holds which field, and the data rows: `(Excel row
    number, {field: raw value})`, blank lines left out."""

    header_row: int
    columns: dict[str, int]
    headers: dict[str, str]
    ignored: list[str]
    epoch: Any
    rows: Iterator[tuple[int, dict[str, Any]]] = field(repr=False)
    read_fraction: Any = field(default=lambda: 0.0, repr=False)  # () -> how much of the sheet is read

    def column_label(self, field_name: str) -> str:
        """How an error names a column: its header as written in the file and its letter."""
        if field_name in self.columns:
            return f"{self.headers[field_name]} ({get_column_letter(self.columns[field_name])})"
        return TEMPLATE_HEADERS.get(field_name, field_name)


def _clean(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, ExcelError):
        value = value.strip()
        return value or None
    return value


@contextlib.contextmanager
def sheet_open(fileobj: IO[bytes], *, max_rows: int) -> Iterator[Sheet]:
    """Open the workbook (already checked by `safety.workbook_check`) and find its header row.
    ImportRefused when it cannot be read or has no phone column."""
    try:
        workbook = _load_workbook(fileobj)
        worksheet = workbook.active
    except Exception:
        logger.info("member import: workbook could not be opened", exc_info=True)
        raise ImportRefused(_("The workbook is damaged or not an Excel workbook and cannot be read.")) from None
    try:
        if worksheet is None or not hasattr(worksheet, "_get_source"):
            raise ImportRefused(_("The workbook has no worksheet to read."))
        source = worksheet._get_source()
        try:
            parser = _Parser(
                source,
                worksheet._shared_strings,
                data_only=True,
                epoch=workbook.epoch,
                date_formats=workbook._date_formats,
                timedelta_formats=workbook._timedelta_formats,
            )
            parsed = _guard_parse(parser.parse())
            header_row, columns, headers, ignored = _find_header(parsed)
            wanted = {column: name for name, column in columns.items()}
            try:
                sheet_size = workbook._archive.getinfo(worksheet._worksheet_path).file_size or 1
            except (AttributeError, KeyError):
                sheet_size = 0

            def read_fraction() -> float:
                try:
                    return min(1.0, source.tell() / sheet_size) if sheet_size else 0.0
                except (OSError, ValueError):
                    return 0.0

            yield Sheet(
                read_fraction=read_fraction,
                header_row=header_row,
                columns=columns,
                headers=headers,
                ignored=ignored,
                epoch=workbook.epoch,
                rows=_data_rows(parsed, wanted, max_rows),
            )
        finally:
            source.close()
    finally:
        workbook.close()


def _guard_parse(rows: Iterator) -> Iterator:
    """The XML parser's own failures (a damaged sheet, defusedxml refusing an entity bomb)
    become a refusal, never a traceback."""
    try:
        yield from rows
    except ImportRefused:
        raise
    except Exception:
        logger.info("member import: sheet could not be parsed", exc_info=True)
        raise ImportRefused(_("The worksheet is damaged and cannot be read.")) from None


def _find_header(parsed: Iterator) -> tuple[int, dict[str, int], dict[str, str], list[str]]:
    """The first row, among the first non-blank ones, that names a phone column. A title line
    above the headers is allowed."""
    seen_headers: list[str] = []
    non_blank = 0
    for row_number, cells in parsed:
        texts = {cell["column"]: cell["value"] for cell in cells if _clean(cell["value"]) is not None}
        if not texts:
            continue
        non_blank += 1
        columns: dict[str, int] = {}
        headers: dict[str, str] = {}
        ignored: list[str] = []
        duplicated: list[str] = []
        for column, text in sorted(texts.items()):
            name = field_for_header(text) if isinstance(text, str) else None
            if name is None:
                ignored.append(str(text).strip())
            elif name in columns:
                first = f"{headers[name]} ({get_column_letter(columns[name])})"
                duplicated.append(f"{first}, {str(text).strip()} ({get_column_letter(column)})")
            else:
                columns[name] = column
                headers[name] = str(text).strip()
        if PHONE in columns:
            if duplicated:
                raise ImportRefused(
                    _("Two columns hold the same information: %(columns)s. Keep one of them.")
                    % {"columns": "; ".join(duplicated)}
                )
            return row_number, columns, headers, ignored
        if columns and not seen_headers:
            seen_headers = list(headers.values())
        if non_blank >= HEADER_SEARCH_ROWS:
            break
    if seen_headers:
        raise ImportRefused(
            _(
                "The file has no phone number column (found: %(found)s). Add a column named "
                "'Số điện thoại' (or 'SĐT', 'Điện thoại', 'phone')."
            )
            % {"found": ", ".join(seen_headers)}
        )
    raise ImportRefused(
        _(
            "No header row with a phone number column was found. The first row must name the columns, "
            "e.g. 'Họ và tên', 'Số điện thoại', 'Ngày sinh'. Download the template to see the layout."
        )
    )


def _data_rows(parsed: Iterator, wanted: dict[int, str], max_rows: int) -> Iterator[tuple[int, dict[str, Any]]]:
    count = 0
    for row_number, cells in parsed:
        values: dict[str, Any] = {}
        for cell in cells:
            name = wanted.get(cell["column"])
            if name is not None:
                value = cell["value"]
                if value.__class__ is str:  # `_clean` inlined for the usual cell (~500,000 a list)
                    value = value.strip() or None
                elif value.__class__ is not int:
                    value = _clean(value)
                if value is not None:
                    values[name] = value
        if not values:
            continue
        count += 1
        if count > max_rows:
            raise ImportRefused(
                _("The file has more than %(max)d rows of data. Split it into several files.") % {"max": max_rows}
            )
        yield row_number, values
