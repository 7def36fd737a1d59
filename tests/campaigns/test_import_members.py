"""The Excel import's rules, through the engine's entry point and `manage.py import_members`.
Every refusal proves that nothing was written."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from campaigns.audiences.imports.engine import ImportOptions, members_import, opening_reference
from campaigns.audiences.imports.errors import ImportRefused
from campaigns.audiences.imports.models import MemberImport
from campaigns.audiences.models import CustomerGroup
from members.models import Card, LedgerEntry, Member, PointLot
from members.selectors import ledger_drift, programme_settings_get, programme_zone
from members.services import lot_expires_at, member_block, member_merge
from tests.campaigns.test_import_support import counts, english, media, workbook_bytes, write, zip_bomb_bytes
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
__all__ = ["english", "media"]  # the fixture, imported for the tests below

VI_HEADERS = ["Họ và tên", "Số điện thoại", "Ngày sinh", "Email", "Giới tính", "Mã thẻ", "Ghi chú nội bộ"]


def run(content: bytes, **options) -> object:
    return members_import(io.BytesIO(content), options=ImportOptions(**options))


def today() -> datetime.date:
    return timezone.localtime(timezone.now(), programme_zone()).date()


# --- Reading messy workbooks ------------------------------------------------------------------


def test_a_messy_vietnamese_workbook_is_normalised(media):
    content = workbook_bytes(
        [
            VI_HEADERS,
            ["  Nguyễn   Văn An ", 912345678, datetime.datetime(1990, 3, 15), "An@Example.COM", "Nam", "the 0001", "x"],
            ["Trần Thị Bình", "+84 912.345.679", "15/03/1991", None, "Nữ", None, None],
            ["Lê Văn Cường", "0912-345-680", 32947, None, "KHÁC", None, None],
            [None, None, None, None, None, None, "only a note"],
            [],
            ["Phạm Dung", "(091) 234 5681", "1992-01-02", None, "female", 12345678, None],
        ],
        title_rows=1,
    )

    result = run(content)

    assert result.written and not result.errors
    assert (result.rows_total, result.new) == (4, 4)
    assert result.ignored_columns == ["Ghi chú nội bộ"]
    an = Member.objects.get(phone="+84912345678")
    assert (an.name, an.email, an.birthday, an.gender) == (
        "Nguyễn Văn An",
        "An@example.com",
        datetime.date(1990, 3, 15),
        "male",
    )
    assert an.enrolment_channel == Member.Channel.IMPORT
    assert len(an.code) == 8 and len(an.referral_code) == 6
    assert Member.objects.get(phone="+84912345679").birthday == datetime.date(1991, 3, 15)
    assert Member.objects.get(phone="+84912345680").birthday == datetime.date(1990, 3, 15)
    assert Member.objects.get(phone="+84912345680").gender == "other"
    assert Member.objects.get(phone="+84912345681").birthday == datetime.date(1992, 1, 2)
    assert sorted(Card.objects.values_list("number", flat=True)) == ["12345678", "THE0001"]


def test_english_headers_in_any_case_spacing_and_accents():
    content = workbook_bytes(
        [
            ["  FULL   NAME ", "phone_number", "Date of Birth", "E-mail", "GENDER", "Card Number", "Loyalty tier"],
            ["Ngô Minh", "84912000001", "2000-12-31", "minh@example.vn", "M", "C-0009", "VIP"],
        ]
    )
    other = workbook_bytes([["HO TEN", "so dien thoai", "NGAY SINH"], ["Đỗ Hà", "0912000002", "01/02/2001"]])

    assert run(content).new == 1
    assert run(other).new == 1
    minh = Member.objects.get(phone="+84912000001")
    assert (minh.birthday, minh.gender, minh.cards.get().number) == (datetime.date(2000, 12, 31), "male", "C0009")
    assert Member.objects.get(phone="+84912000002").birthday == datetime.date(2001, 2, 1)


def test_a_file_without_a_phone_column_is_refused_and_writes_nothing():
    before = counts()
    content = workbook_bytes([["Họ và tên", "Ngày sinh"], ["An", "01/01/1990"]])

    with pytest.raises(ImportRefused) as refused:
        run(content)

    assert "phone" in str(refused.value.detail) and "Họ và tên" in str(refused.value.detail)
    assert counts() == before


def test_formula_cells_without_a_cached_value_are_row_errors_and_blank_lines_are_skipped():
    content = workbook_bytes(
        [
            ["Họ tên", "SĐT", "Ngày sinh"],
            ["An", "0912000011", None],
            [None, None, None],
            [None, None, None],
            ["Bình", "=TEXT(A1)", None],
            ["Chi", "0912000013", "=DATE(1990,1,1)"],
        ]
    )
    before = counts()

    result = run(content)

    assert result.rows_total == 3
    assert sorted(result.error_rows) == [5, 6]
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert "formula" in messages[(5, "SĐT (B)")]
    assert "formula" in messages[(6, "Ngày sinh (C)")]
    assert not result.written
    assert counts() == before  # by default a file with errors imports nothing


def test_excel_error_values_are_row_errors():
    def prepare(sheet):
        sheet["C2"].value = "#N/A"
        sheet["C2"].data_type = "e"  # a formula that failed, as Excel saves it

    result = run(workbook_bytes([["Họ tên", "SĐT", "Ngày sinh"], ["An", "0912000015", None]], prepare=prepare))

    [error] = result.errors
    assert (error.row, error.column) == (2, "Ngày sinh (C)") and "#N/A" in error.message


def test_progress_is_reported_while_the_file_is_read():
    rows = [["Họ tên", "SĐT"]] + [[f"Khách {i}", f"0914{i:06d}"] for i in range(6000)]
    seen: list[int] = []

    members_import(
        io.BytesIO(workbook_bytes(rows)),
        options=ImportOptions(dry_run=True),
        progress=lambda percent, stage: seen.append(percent),
    )

    assert any(1 < percent < 60 for percent in seen)
    assert seen == sorted(seen)


def test_a_libreoffice_file_claiming_a_million_rows_reads_only_its_data():
    def prepare(sheet):
        sheet.cell(row=1_048_576, column=3).number_format = "DD/MM/YYYY"  # a formatted, empty last row

    content = workbook_bytes([["Họ tên", "SĐT"], ["An", "0912000021"], ["Bình", "0912000022"]], prepare=prepare)
    assert openpyxl.load_workbook(io.BytesIO(content), read_only=True).active.max_row == 1_048_576

    result = run(content)

    assert (result.rows_total, result.new) == (2, 2)


def test_every_bad_cell_names_the_excel_row_and_the_column():
    content = workbook_bytes(
        [
            ["Họ tên", "Điện thoại", "Ngày sinh", "Email", "Giới tính", "Mã thẻ"],
            ["An", "12345", "31/02/1990", "not-an-email", "maybe", "x"],
            ["", "0912000031", datetime.date(2090, 1, 1), None, None, None],
        ]
    )

    result = run(content)

    columns = {(e.row, e.column) for e in result.errors}
    expected = {(2, "Điện thoại (B)"), (2, "Ngày sinh (C)"), (2, "Email (D)"), (2, "Giới tính (E)"), (2, "Mã thẻ (F)")}
    assert expected <= columns
    assert (3, "Ngày sinh (C)") in columns  # a birthday in the future
    assert str(result.errors[0]).startswith("Row 2, column")


def test_the_same_phone_twice_is_an_error_on_both_rows_found_before_anything_is_written():
    before = counts()
    content = workbook_bytes(
        [["Họ tên", "SĐT"], ["An", "0912000041"], ["Bình", "0912000042"], ["An again", "+84 912 000 041"]]
    )

    result = run(content, skip_invalid=True)

    assert sorted(result.error_rows) == [2, 4]
    assert any("row(s) 4" in e.message for e in result.errors if e.row == 2)
    assert result.written and result.new == 1
    assert counts()["members"] == before["members"] + 1
    assert not Member.objects.filter(phone="+84912000041").exists()


def test_a_new_member_needs_a_name_and_a_card_of_another_member_is_refused():
    holder = MemberFactory(card_number="CARD7777")
    content = workbook_bytes(
        [["Họ tên", "SĐT", "Mã thẻ"], [None, "0912000051", None], ["Lan", "0912000052", "card7777"]]
    )
    before = counts()

    result = run(content)

    messages = {e.row: e.message for e in result.errors}
    assert "name" in messages[2]
    assert "another member" in messages[3]
    assert counts() == before
    assert holder.cards.get().number == "CARD7777"


# --- Refused files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"Ho ten,SDT\nAn,0912345678\n", "not an Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old Excel file"),
        (b"", "empty"),
        (b"PK\x03\x04 this is not really a zip", "not an Excel workbook"),
    ],
)
def test_a_file_that_is_not_a_workbook_is_refused_with_a_clear_message(content, words):
    before = counts()
    with pytest.raises(ImportRefused) as refused:
        run(content)
    assert words in str(refused.value.detail)
    assert counts() == before


def test_a_damaged_workbook_is_refused_not_a_traceback():
    good = workbook_bytes([["SĐT"], ["0912345678"]])
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut in the middle of the XML
            target.writestr(item, data)
    with pytest.raises(ImportRefused) as refused:
        run(buffer.getvalue())
    assert "damaged" in str(refused.value.detail)
    assert Member.objects.count() == 0


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    before = counts()
    with pytest.raises(ImportRefused) as refused:
        run(zip_bomb_bytes())
    assert "ZIP bomb" in str(refused.value.detail)
    assert counts() == before


@override_settings(MEMBER_IMPORT_MAX_UNPACKED_BYTES=1000)
def test_a_workbook_unpacking_to_too_much_data_is_refused():
    with pytest.raises(ImportRefused) as refused:
        run(workbook_bytes([["SĐT"], ["0912345678"]]))
    assert "unpacks to" in str(refused.value.detail)


@override_settings(MEMBER_IMPORT_MAX_ROWS=2)
def test_the_row_cap_refuses_the_whole_file():
    content = workbook_bytes([["SĐT"], ["0912000061"], [None], ["0912000062"], ["0912000063"]])
    with pytest.raises(ImportRefused) as refused:
        run(content)
    assert "more than 2 rows" in str(refused.value.detail)
    assert Member.objects.count() == 0


@override_settings(MEMBER_IMPORT_MAX_UPLOAD_BYTES=100)
def test_a_file_over_the_size_limit_is_refused():
    with pytest.raises(ImportRefused) as refused:
        run(workbook_bytes([["SĐT"], ["0912345678"]]))
    assert "largest file" in str(refused.value.detail)


def test_without_defusedxml_nothing_is_parsed(monkeypatch):
    import openpyxl.xml

    monkeypatch.setattr(openpyxl.xml, "DEFUSEDXML", False)
    with pytest.raises(ImportRefused) as refused:
        run(workbook_bytes([["SĐT"], ["0912345678"]]))
    assert "defusedxml" in str(refused.value.detail)


# --- Upsert by phone --------------------------------------------------------------------------


def test_existing_members_get_only_their_empty_fields_filled_never_blanks_never_overwrites():
    full = MemberFactory(name="Nguyễn Thị Hoa", phone="+84912000071", email="hoa@example.vn", gender="female")
    sparse = MemberFactory(name="Trần Văn Nam", phone="+84912000072")
    content = workbook_bytes(
        [
            ["Họ tên", "SĐT", "Email", "Ngày sinh", "Giới tính"],
            ["Hoa Nguyễn", "0912000071", None, "01/01/1985", None],  # name differs, birthday empty
            ["Trần Văn Nam", "0912000072", "nam@example.vn", None, "Nam"],
            ["Hoa Nguyễn", "0912000073", None, None, None],
        ]
    )

    result = run(content)

    assert (result.new, result.updated, result.unchanged, result.conflicts) == (1, 2, 0, 1)
    full.refresh_from_db()
    sparse.refresh_from_db()
    assert (full.name, full.email, full.gender, full.birthday) == (
        "Nguyễn Thị Hoa",
        "hoa@example.vn",
        "female",
        datetime.date(1985, 1, 1),
    )
    assert (sparse.email, sparse.gender) == ("nam@example.vn", "male")
    [difference] = result.differences
    assert (difference.row, difference.kept, difference.in_file) == (2, "Nguyễn Thị Hoa", "Hoa Nguyễn")

    again = run(content)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)


def test_a_merged_record_s_phone_fills_its_survivor():
    survivor = MemberFactory(name="Lý Văn Tài", phone="+84912000081")
    merged = MemberFactory(name="Lý Tài", phone="+84912000082")
    member_merge(survivor=survivor, merged=merged)
    content = workbook_bytes([["Họ tên", "SĐT", "Email"], ["Lý Tài", "0912000082", "tai@example.vn"]])

    result = run(content)

    assert result.updated == 1
    survivor.refresh_from_db()
    assert survivor.email == "tai@example.vn"


# --- Opening balances -------------------------------------------------------------------------


def test_opening_balances_are_credited_through_the_ledger_with_their_real_expiry():
    existing = MemberFactory(phone="+84912000091")
    earned = today() - datetime.timedelta(days=40)
    content = workbook_bytes(
        [
            ["Họ tên", "SĐT", "Điểm đầu kỳ", "Ngày tích điểm"],
            ["Mới", "0912000090", 1500, earned.strftime("%d/%m/%Y")],
            ["Cũ", "0912000091", "2.000", datetime.datetime.combine(earned, datetime.time())],
        ]
    )

    result = run(content)

    assert result.points_credited == 3500
    new = Member.objects.get(phone="+84912000090")
    existing.refresh_from_db()
    assert (new.points_balance, existing.points_balance) == (1500, 2000)
    entry = LedgerEntry.objects.get(reference=opening_reference(new.pk))
    assert entry.kind == LedgerEntry.Kind.EARN and entry.cause_kind == "import"
    lot = PointLot.objects.get(entry=entry)
    expected = lot_expires_at(
        programme=programme_settings_get(),
        earned_at=datetime.datetime.combine(earned, datetime.time.min, tzinfo=programme_zone()),
    )
    assert timezone.localtime(lot.earned_at, programme_zone()).date() == earned
    assert lot.expires_at == expected
    assert ledger_drift() == []

    # The same file again credits nothing twice.
    entries = LedgerEntry.objects.count()
    again = run(content)
    assert (again.points_credited, again.unchanged) == (0, 2)
    assert LedgerEntry.objects.count() == entries


def test_opening_points_need_an_earning_date_that_has_not_expired_yet():
    blocked = MemberFactory(phone="+84912000102")
    member_block(member=blocked, reason="test")
    content = workbook_bytes(
        [
            ["Họ tên", "SĐT", "Điểm", "Ngày tích"],
            ["A", "0912000100", 100, None],
            ["B", "0912000101", 100, (today() - datetime.timedelta(days=800)).strftime("%Y-%m-%d")],
            ["C", "0912000102", 100, today().strftime("%d/%m/%Y")],
            ["D", "0912000103", 100, (today() + datetime.timedelta(days=3)).strftime("%d/%m/%Y")],
            ["E", "0912000104", -5, today().strftime("%d/%m/%Y")],
        ]
    )
    before = counts()

    result = run(content)

    messages = {e.row: e.message for e in result.errors}
    assert "date the points were earned" in messages[2]
    assert "expired" in messages[3]
    assert "blocked" in messages[4]
    assert "future" in messages[5]
    assert "whole number" in messages[6]
    assert counts() == before


# --- The command ------------------------------------------------------------------------------


def test_command_dry_run_writes_nothing_but_records_the_check(tmp_path, media, capsys):
    path = write(tmp_path, workbook_bytes([["Họ tên", "SĐT"], ["An", "0912000111"]]))

    call_command("import_members", path, "--dry-run")

    out = capsys.readouterr().out
    assert "New: 1" in out and "Dry run: nothing was written." in out
    assert Member.objects.count() == 0
    record = MemberImport.objects.get()
    assert (record.status, record.source, record.rows_new) == ("checked", "command", 1)


def test_command_refuses_a_file_with_errors_unless_skip_invalid(tmp_path, media, capsys):
    path = write(tmp_path, workbook_bytes([["Họ tên", "SĐT"], ["An", "0912000121"], ["Bình", "không có"]]))

    with pytest.raises(CommandError) as refused:
        call_command("import_members", path)
    assert "nothing was imported" in str(refused.value)
    assert "Row 3" in capsys.readouterr().out
    assert Member.objects.count() == 0
    assert MemberImport.objects.get().status == "rejected"

    call_command("import_members", path, "--skip-invalid", "--group", "Khách  cũ")

    assert Member.objects.filter(phone="+84912000121").exists()
    record = MemberImport.objects.latest("pk")
    assert (record.status, record.rows_new, record.rows_errors) == ("imported", 1, 1)
    assert record.error_report
    report = openpyxl.load_workbook(record.error_report.path, read_only=True)
    rows = list(report.worksheets[0].iter_rows(values_only=True))
    assert rows[1][:2] == (3, "SĐT (B)")
    group = CustomerGroup.objects.get(name="Khách cũ")
    assert list(group.members.values_list("phone", flat=True)) == ["+84912000121"]


def test_command_reports_refusals_as_errors(tmp_path, media):
    path = write(tmp_path, b"not a workbook", name="list.xlsx")
    with pytest.raises(CommandError) as refused:
        call_command("import_members", path)
    assert "not an Excel workbook" in str(refused.value)
    assert MemberImport.objects.get().status == "refused"
    with pytest.raises(CommandError):
        call_command("import_members", str(tmp_path / "missing.xlsx"))
