"""One raw row of the sheet -> clean values, or errors that name the Excel row and column.

The rules are those of the member model and services (phone via `members.phones`, the birthday
validator, the card-number form); they are applied here once per cell instead of through
`Member.full_clean()` per row, which would parse every phone a second time."""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _
from openpyxl.utils.datetime import from_excel

from campaigns.audiences.imports import headers as h
from campaigns.audiences.imports.reader import FORMULA_WITHOUT_VALUE, ExcelError
from members.models import OLDEST_BIRTHDAY, Member, validate_birthday
from members.phones import phone_normalise
from members.services import card_number_normalise

# As members.services.members checks a card number (4 to 32 letters or digits).
CARD_NUMBER = re.compile(r"^[A-Z0-9]{4,32}$")
NAME_MAX = Member._meta.get_field("name").max_length
EMAIL_MAX = Member._meta.get_field("email").max_length
MAX_OPENING_POINTS = 1_000_000_000
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")
_LAST_EXCEL_SERIAL = 2_958_465  # 31/12/9999
_POINTS_TEXT = re.compile(r"^\d{1,3}(?:[.,\s]\d{3})+$|^\d+$")
_email_validator = EmailValidator()
# The common shapes, decided without the general path (a 100,000-row list pays it per cell);
# each fast path only ever accepts what the general one would, and leaves the rest to it.
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")  # as strptime's "%d/%m/%Y"
# EmailValidator's own patterns, compiled here rather than through its lazy objects.
_EMAIL_USER = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
_EMAIL_DOMAIN = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)
_EMAIL_MAX_RFC = 320

GENDERS = {
    "nam": Member.Gender.MALE,
    "male": Member.Gender.MALE,
    "m": Member.Gender.MALE,
    "trai": Member.Gender.MALE,
    "nu": Member.Gender.FEMALE,
    "female": Member.Gender.FEMALE,
    "f": Member.Gender.FEMALE,
    "gai": Member.Gender.FEMALE,
    "khac": Member.Gender.OTHER,
    "other": Member.Gender.OTHER,
    "o": Member.Gender.OTHER,
}


@dataclass(slots=True)
class RowError:
    """One problem in one cell (or with the whole row when `column` is empty)."""

    row: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("Row %(row)d, column %(column)s: %(message)s") % {
                "row": self.row,
                "column": self.column,
                "message": self.message,
            }
        return _("Row %(row)d: %(message)s") % {"row": self.row, "message": self.message}


@dataclass(slots=True)
class ParsedRow:
    row: int
    phone: str = ""
    name: str = ""
    email: str = ""
    birthday: datetime.date | None = None
    gender: str = ""
    card_number: str = ""
    opening_points: int = 0
    points_earned_on: datetime.date | None = None
    errors: list[RowError] = field(default_factory=list)


class CellError(ValueError):
    pass


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def display(value: Any) -> str:
    """The cell's value as the error report shows it."""
    if value is FORMULA_WITHOUT_VALUE:
        return _("(formula)")
    return _text(value)


def parse_phone(value: Any) -> str:
    if isinstance(value, bool | datetime.date):
        raise CellError(_("Enter a valid Vietnamese phone number, e.g. 0912345678."))
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(_("Enter a valid Vietnamese phone number, e.g. 0912345678."))
        value = int(value)
    try:
        return phone_normalise(value)
    except ValidationError as exc:
        raise CellError(exc.messages[0]) from None


def parse_date(value: Any, *, epoch: datetime.datetime | None = None) -> datetime.date:
    """An Excel date cell, an Excel serial number (a date typed in a cell formatted as a
    number), or text as dd/mm/yyyy or yyyy-mm-dd (also dd-mm-yyyy, dd.mm.yyyy)."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        text = value.strip().split("T")[0].split(" ")[0]
        if match := _DAY_MONTH_YEAR.match(text):
            day, month, year = match.groups()
            try:
                return datetime.date(int(year), int(month), int(day))
            except ValueError:
                pass  # e.g. 31/02: the formats below refuse it as they always did
        for date_format in _DATE_FORMATS:
            try:
                return datetime.datetime.strptime(text, date_format).date()
            except ValueError:
                continue
        if text.isdigit() and len(text) <= 7:
            value = int(text)
        else:
            raise CellError(_("Write the date as dd/mm/yyyy (e.g. 15/03/1990) or yyyy-mm-dd."))
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= _LAST_EXCEL_SERIAL:
        converted = from_excel(value, epoch) if epoch is not None else from_excel(value)
        if isinstance(converted, datetime.datetime):
            return converted.date()
    raise CellError(_("Write the date as dd/mm/yyyy (e.g. 15/03/1990) or yyyy-mm-dd."))


def parse_name(value: Any) -> str:
    name = " ".join(_text(value).split())
    if len(name) > NAME_MAX:
        raise CellError(_("The name is longer than %(max)d characters.") % {"max": NAME_MAX})
    return name


def parse_email(value: Any) -> str:
    email = _text(value).strip()
    local, at, domain = email.rpartition("@")
    email = f"{local}@{domain.lower()}" if at else email
    if len(email) > EMAIL_MAX:
        raise CellError(_("The email address is too long."))
    if at and len(email) <= _EMAIL_MAX_RFC and _EMAIL_USER.match(local) and _EMAIL_DOMAIN.match(domain.lower()):
        return email
    try:
        _email_validator(email)
    except ValidationError:
        raise CellError(_("Enter a valid email address.")) from None
    return email


_GENDERS_AS_TYPED = {"Nam": Member.Gender.MALE, "Nữ": Member.Gender.FEMALE, "Khác": Member.Gender.OTHER}


@functools.lru_cache(maxsize=1024)
def _gender_written(text: str) -> str | None:
    """A list writes genders a few ways ("nữ", "NAM"...): each is keyed once."""
    return GENDERS.get(h.header_key(text))


def parse_gender(value: Any) -> str:
    gender = _GENDERS_AS_TYPED.get(value)
    if gender is None:
        gender = _gender_written(value) if isinstance(value, str) else GENDERS.get(h.header_key(value))
    if gender is None:
        raise CellError(_("Write Nam, Nữ or Khác (or male, female, other)."))
    return gender


def parse_card_number(value: Any) -> str:
    number = card_number_normalise(_text(value))
    if not CARD_NUMBER.match(number):
        raise CellError(_("A card number has 4 to 32 letters or digits."))
    return number


def parse_points(value: Any) -> int:
    if isinstance(value, bool):
        raise CellError(_("Enter a whole number of points (0 or more)."))
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(_("Enter a whole number of points (0 or more)."))
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not _POINTS_TEXT.match(text):
            raise CellError(_("Enter a whole number of points (0 or more)."))
        value = int(re.sub(r"[.,\s]", "", text))
    if not isinstance(value, int) or value < 0:
        raise CellError(_("Enter a whole number of points (0 or more)."))
    if value > MAX_OPENING_POINTS:
        raise CellError(_("That is more points than any member can hold."))
    return value


@dataclass
class RowContext:
    """What every row is checked against: the sheet's columns, the workbook's date epoch,
    today in the programme's time zone, and when points earned on a day expire."""

    column_label: Any
    epoch: datetime.datetime | None
    today: datetime.date
    expires_on: Any  # date -> datetime | None


_PARSERS = {
    h.PHONE: parse_phone,
    h.NAME: parse_name,
    h.EMAIL: parse_email,
    h.GENDER: parse_gender,
    h.CARD_NUMBER: parse_card_number,
    h.OPENING_POINTS: parse_points,
}


_DATE_FIELDS = frozenset((h.BIRTHDAY, h.POINTS_EARNED_ON))


def row_parse(row_number: int, values: dict[str, Any], context: RowContext) -> ParsedRow:
    """Clean every known cell of one row; the result's `errors` lists what is wrong."""
    parsed = ParsedRow(row=row_number)
    errors = parsed.errors

    def fail(name: str, value: Any, message: str) -> None:
        errors.append(RowError(row_number, context.column_label(name), display(value), message))

    for name, value in values.items():
        if value is FORMULA_WITHOUT_VALUE:
            fail(
                name,
                value,
                _(
                    "The cell holds a formula without a calculated value: open the file in Excel, "
                    "save it, and import it again (or paste the values only)."
                ),
            )
            continue
        if isinstance(value, ExcelError):
            fail(name, value, _("The cell holds the Excel error %(error)s.") % {"error": value})
            continue
        try:
            if name in _DATE_FIELDS:
                day = parse_date(value, epoch=context.epoch)
                if name == h.BIRTHDAY and not OLDEST_BIRTHDAY <= day <= context.today:
                    # The model's validator, for its message (the range test above is its rule).
                    try:
                        validate_birthday(day)
                    except ValidationError as exc:
                        raise CellError(exc.messages[0]) from None
                elif day > context.today:
                    raise CellError(_("Points cannot have been earned in the future."))
                setattr(parsed, name, day)
            else:
                setattr(parsed, name, _PARSERS[name](value))
        except CellError as exc:
            fail(name, value, str(exc))

    if h.PHONE not in values:
        fail(h.PHONE, "", _("The phone number is missing."))
    if parsed.opening_points and not any(e.column == context.column_label(h.OPENING_POINTS) for e in errors):
        if parsed.points_earned_on is None and h.POINTS_EARNED_ON not in values:
            fail(
                h.POINTS_EARNED_ON,
                "",
                _("Give the date the points were earned, so that they expire on the right day."),
            )
        elif parsed.points_earned_on is not None:
            expires_at = context.expires_on(parsed.points_earned_on)
            if expires_at is not None and expires_at.date() <= context.today:
                fail(
                    h.POINTS_EARNED_ON,
                    values.get(h.POINTS_EARNED_ON),
                    _("Points earned on this day could be used until %(day)s only: they have expired, leave them out.")
                    % {"day": (expires_at - datetime.timedelta(days=1)).strftime("%d/%m/%Y")},
                )
    return parsed
