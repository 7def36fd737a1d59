"""Upload guards, run before openpyxl sees a byte of the file.

openpyxl protects against XML bombs only when defusedxml is installed, and against ZIP bombs not
at all (pitfalls.md): the ZIP directory is checked here first. The sizes checked are the ones
the directory declares; Python's zipfile never inflates a member past its declared size (it
fails the CRC check instead), so a lying directory cannot get around them."""

from __future__ import annotations

import zipfile
from typing import IO

from django.utils.translation import gettext as _

from campaigns.audiences.imports.errors import ImportRefused
from campaigns.audiences.imports.limits import limit

# Small members (styles, themes) compress extremely well and are harmless: the ratio is only
# checked above this size.
_RATIO_CHECKED_ABOVE = 1024 * 1024
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003) and other OLE files


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def defusedxml_required() -> None:
    """openpyxl parses with defusedxml only when it is installed (and not switched off)."""
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:
        raise ImportRefused(_("Excel imports are switched off: the server lacks its XML protection (defusedxml)."))


def workbook_check(fileobj: IO[bytes], *, size: int | None = None) -> None:
    """Refuse, with a message a store manager understands, anything that is not a reasonably
    sized .xlsx workbook. Leaves the file position at the start."""
    defusedxml_required()
    fileobj.seek(0, 2)
    actual_size = fileobj.tell() if size is None else size
    fileobj.seek(0)
    max_upload = limit("MEMBER_IMPORT_MAX_UPLOAD_BYTES")
    if actual_size > max_upload:
        raise ImportRefused(
            _("The file is %(size)s MB; the largest file accepted is %(max)s MB.")
            % {"size": _megabytes(actual_size), "max": _megabytes(max_upload)}
        )
    if actual_size == 0:
        raise ImportRefused(_("The file is empty."))
    head = fileobj.read(8)
    fileobj.seek(0)
    if head == _OLE_SIGNATURE:
        raise ImportRefused(
            _("This is an old Excel file (.xls). Open it in Excel and save it as an Excel Workbook (.xlsx).")
        )
    if not zipfile.is_zipfile(fileobj):
        fileobj.seek(0)
        raise ImportRefused(_("This file is not an Excel workbook (.xlsx). Save the list from Excel as .xlsx."))
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportRefused(_("The workbook is damaged and cannot be read.")) from None
    finally:
        fileobj.seek(0)
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        raise ImportRefused(_("This file is not an Excel workbook (.xlsx). Save the list from Excel as .xlsx."))
    max_unpacked = limit("MEMBER_IMPORT_MAX_UNPACKED_BYTES")
    max_ratio = limit("MEMBER_IMPORT_MAX_COMPRESSION_RATIO")
    unpacked = 0
    for member in members:
        unpacked += member.file_size
        if member.file_size > _RATIO_CHECKED_ABOVE and member.file_size > max_ratio * max(member.compress_size, 1):
            raise ImportRefused(
                _("The workbook unpacks to far more data than it holds (a 'ZIP bomb'); it was not opened.")
            )
    if unpacked > max_unpacked:
        raise ImportRefused(
            _("The workbook unpacks to %(size)s MB; at most %(max)s MB is accepted. Split the list into several files.")
            % {"size": _megabytes(unpacked), "max": _megabytes(max_unpacked)}
        )
