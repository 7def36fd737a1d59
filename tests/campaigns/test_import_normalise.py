"""The import's fast paths give exactly what the general rules give: the cell checks (dd/mm/yyyy
text dates, plain email addresses, genders as a list writes them), the duplicate search, and
the sample of rows the preview shows (outcomes built for the rows shown only)."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import translation

from campaigns.audiences.imports.engine import SAMPLE_PER_STATUS, ImportOptions, _flag_duplicates, members_import
from campaigns.audiences.imports.headers import header_key
from campaigns.audiences.imports.normalise import (
    GENDERS,
    CellError,
    ParsedRow,
    parse_date,
    parse_email,
    parse_gender,
)
from members.models import Member
from tests.campaigns.test_import_support import workbook_bytes


@pytest.mark.parametrize(
    "text",
    ["05/03/1990", "5/3/1990", "31/12/1999", "29/02/2000", "1/1/0001", "07/11/2024 08:30", "15/03/1990T00:00"],
)
def test_a_day_month_year_text_is_the_date_strptime_reads(text):
    expected = datetime.datetime.strptime(text.split("T")[0].split(" ")[0], "%d/%m/%Y").date()
    assert parse_date(f" {text} ") == expected


@pytest.mark.parametrize("text", ["31/02/1990", "29/02/1900", "00/01/1990", "12/13/1990", "1/1/90", "123/1/1990"])
def test_an_impossible_day_month_year_is_still_refused(text):
    with pytest.raises(CellError):
        parse_date(text)


@pytest.mark.parametrize(
    "text",
    [
        "Khach0912345678@Example.VN",
        "a.b+c@mail.example.com",
        "khach@localhost",
        "khach@[127.0.0.1]",
        "khach@[::1]",
        '"quoted name"@example.vn',
        "khách@example.vn",
        "a..b@example.vn",
        "khach@example",
        "khach@-example.vn",
        "khach@example.vn.",
        "@example.vn",
        "khach@",
        "khach",
        "a@b@example.vn",
        "khach@example.v",
        "khach@exa_mple.vn",
        "x" * 250 + "@example.vn",
    ],
)
def test_an_email_is_accepted_exactly_when_django_accepts_it(text):
    local, at, domain = text.rpartition("@")
    expected = f"{local}@{domain.lower()}" if at else text
    try:
        EmailValidator()(expected)
        valid = len(expected) <= Member._meta.get_field("email").max_length
    except ValidationError:
        valid = False
    if valid:
        assert parse_email(text) == expected
    else:
        with pytest.raises(CellError):
            parse_email(text)


@pytest.mark.parametrize("text", ["Nam", "nam", "NAM", "Nữ", "nữ", "NỮ", "nu", "Khác", "khac", "Male", "f", " Nữ "])
def test_a_gender_is_read_the_same_the_first_time_and_every_time_after(text):
    expected = GENDERS[header_key(text)]
    assert parse_gender(text) == expected
    assert parse_gender(text) == expected


@pytest.mark.parametrize("text", ["Không rõ", "x", "", 1])
def test_an_unknown_gender_is_refused_every_time(text):
    for _attempt in range(2):
        with pytest.raises(CellError):
            parse_gender(text)


def test_without_duplicates_no_row_gets_an_error_and_with_them_every_occurrence_does():
    rows = [ParsedRow(row=n, phone=f"+8491234567{n}", card_number="" if n % 2 else f"TH{n}") for n in range(2, 8)]
    _flag_duplicates(rows, str)
    assert not any(parsed.errors for parsed in rows)

    rows[4].phone = rows[0].phone
    rows[5].card_number = rows[1].card_number = "TH9"
    with translation.override("en"):
        _flag_duplicates(rows, str)
    assert [(p.row, [e.message for e in p.errors]) for p in rows if p.errors] == [
        (2, ["The same phone number is also on row(s) 6."]),
        (3, ["The same card number is also on row(s) 7."]),
        (6, ["The same phone number is also on row(s) 2."]),
        (7, ["The same card number is also on row(s) 3."]),
    ]


@pytest.mark.django_db
def test_the_preview_counts_every_row_and_shows_the_first_of_each_status():
    enrolled = SAMPLE_PER_STATUS + 5
    rows = [["Họ và tên", "Số điện thoại"]]
    rows += [[f"Khách {n}", f"09120{n:05d}"] for n in range(enrolled)]
    rows += [["", f"09130{n:05d}"] for n in range(3)]  # a new member without a name: an error
    result = members_import(io.BytesIO(workbook_bytes(rows)), options=ImportOptions(dry_run=True))
    assert (result.new, result.error_count) == (enrolled, 3)
    shown = [(outcome.row, outcome.status, outcome.phone, outcome.name) for outcome in result.sample]
    assert shown == [(n + 2, "new", f"09120{n:05d}", f"Khách {n}") for n in range(SAMPLE_PER_STATUS)] + [
        (enrolled + 2 + n, "error", f"09130{n:05d}", "") for n in range(3)
    ]
