"""Helpers for the import / export tests (no tests here): messy workbooks built with openpyxl,
and counts that prove what was not written."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from members.models import Card, LedgerEntry, Member, PointLot


def workbook_bytes(rows: list[list], *, title_rows: int = 0, prepare=None) -> bytes:
    """An xlsx whose active sheet holds `rows` (the first one being the headers). A value
    starting with '=' is written as a formula WITHOUT a cached value (openpyxl never
    calculates), like files produced by programs other than Excel."""
    book = openpyxl.Workbook()
    sheet = book.active
    for _ in range(title_rows):
        sheet.append(["Danh sách khách hàng tháng 11"])
    for row in rows:
        sheet.append(row)
    if prepare is not None:
        prepare(sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write(tmp_path: Path, content: bytes, name: str = "khach-hang.xlsx") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def zip_bomb_bytes(megabytes: int = 60) -> bytes:
    """A ZIP that looks like a workbook but whose sheet inflates ~1000 times."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (megabytes * 1024 * 1024) + b"/>")
    return buffer.getvalue()


def counts() -> dict[str, int]:
    return {
        "members": Member.objects.count(),
        "cards": Card.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "lots": PointLot.objects.count(),
    }


@pytest.fixture
def english():
    """The assertions read the English source messages (the catalogue may already hold the
    Vietnamese ones)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT
