"""The files an import hands back: the error report (xlsx) and the template workbook."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from campaigns.audiences.imports import headers as h
from campaigns.audiences.imports.engine import ImportResult
from loyalty_site.core.importexport.escape import neutralise_row

TEMPLATE_FILE_NAME = "mau-danh-sach-khach-hang.xlsx"


def error_report_build(result: ImportResult) -> bytes:
    """An xlsx with one line per error (Excel row, column, value, what is wrong) and one per
    difference that was not written (value kept in the system vs value in the file)."""
    workbook = Workbook(write_only=True)
    errors = workbook.create_sheet(_("Errors")[:31])
    errors.append([_("Row"), _("Column"), _("Value in the file"), _("Error")])
    for error in sorted(result.errors, key=lambda e: (e.row, e.column)):
        errors.append(neutralise_row([error.row, error.column, error.value, error.message]))
    differences = workbook.create_sheet(_("Differences")[:31])
    differences.append([_("Row"), _("Phone number"), _("Column"), _("Kept in the system"), _("Value in the file")])
    for difference in result.differences:
        differences.append(
            neutralise_row([difference.row, difference.phone, difference.column, difference.kept, difference.in_file])
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_build() -> bytes:
    """The workbook to fill in: the Vietnamese headers the import recognises, text-formatted
    phone and card columns (so Excel keeps the leading 0), date columns as dates, a gender
    drop-down, and a second sheet explaining each column."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Khách hàng"
    headers = [h.TEMPLATE_HEADERS[name] for name in h.FIELDS]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = {
        h.NAME: 28,
        h.PHONE: 16,
        h.BIRTHDAY: 13,
        h.EMAIL: 28,
        h.GENDER: 10,
        h.CARD_NUMBER: 16,
        h.OPENING_POINTS: 13,
        h.POINTS_EARNED_ON: 16,
    }
    formats = {
        h.PHONE: "@",
        h.CARD_NUMBER: "@",
        h.BIRTHDAY: "DD/MM/YYYY",
        h.POINTS_EARNED_ON: "DD/MM/YYYY",
        h.OPENING_POINTS: "0",
    }
    for index, name in enumerate(h.FIELDS):
        letter = chr(ord("A") + index)
        sheet.column_dimensions[letter].width = widths[name]
        if name in formats:
            for row in range(2, 1002):
                sheet[f"{letter}{row}"].number_format = formats[name]
    gender = DataValidation(type="list", formula1='"Nam,Nữ,Khác"', allow_blank=True)
    sheet.add_data_validation(gender)
    gender.add(f"{chr(ord('A') + h.FIELDS.index(h.GENDER))}2:{chr(ord('A') + h.FIELDS.index(h.GENDER))}100000")
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet(_("Instructions")[:31])
    notes.append([_("Column"), _("What to write")])
    explanations = {
        h.NAME: _("Full name. Required for a new member."),
        h.PHONE: _("Required. Any Vietnamese form: 0912345678, 0912 345 678, +84912345678."),
        h.BIRTHDAY: _("A date, or text as dd/mm/yyyy or yyyy-mm-dd."),
        h.EMAIL: _("Optional."),
        h.GENDER: _("Nam, Nữ or Khác."),
        h.CARD_NUMBER: _("Optional: the number printed on the member's card (4 to 32 letters or digits)."),
        h.OPENING_POINTS: _("Optional: points brought over from a previous loyalty programme."),
        h.POINTS_EARNED_ON: _("Required with points: the day they were earned, so they expire on the right day."),
    }
    for name in h.FIELDS:
        notes.append([h.TEMPLATE_HEADERS[name], explanations[name]])
    notes.append([])
    notes.append([_("Existing members (same phone) only get their empty fields filled; nothing is overwritten.")])
    notes.append([_("Other columns are ignored. Blank lines are skipped.")])
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["B"].width = 90
    for cell in notes[1]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
