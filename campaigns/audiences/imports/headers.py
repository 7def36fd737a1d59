"""Which column is which: header names in Vietnamese or English, whatever their case, accents,
spacing or punctuation ("Số điện thoại", "SO DIEN THOAI", "so_dien_thoai", "SĐT" all match)."""

from __future__ import annotations

import re
import unicodedata

PHONE = "phone"
NAME = "name"
EMAIL = "email"
BIRTHDAY = "birthday"
GENDER = "gender"
CARD_NUMBER = "card_number"
OPENING_POINTS = "opening_points"
POINTS_EARNED_ON = "points_earned_on"

FIELDS = (NAME, PHONE, BIRTHDAY, EMAIL, GENDER, CARD_NUMBER, OPENING_POINTS, POINTS_EARNED_ON)

# The header row of the downloadable template (and the first alias of each field).
TEMPLATE_HEADERS = {
    NAME: "Họ và tên",
    PHONE: "Số điện thoại",
    BIRTHDAY: "Ngày sinh",
    EMAIL: "Email",
    GENDER: "Giới tính",
    CARD_NUMBER: "Mã thẻ",
    OPENING_POINTS: "Điểm đầu kỳ",
    POINTS_EARNED_ON: "Ngày tích điểm",
}

_ALIASES = {
    NAME: [
        "Họ và tên",
        "Họ tên",
        "Tên khách hàng",
        "Tên",
        "Tên thành viên",
        "Khách hàng",
        "name",
        "full name",
        "customer name",
        "member name",
    ],
    PHONE: [
        "Số điện thoại",
        "SĐT",
        "Điện thoại",
        "Số ĐT",
        "Di động",
        "Số di động",
        "ĐTDĐ",
        "phone",
        "phone number",
        "mobile",
        "mobile phone",
        "telephone",
        "tel",
    ],
    BIRTHDAY: ["Ngày sinh", "Sinh nhật", "birthday", "date of birth", "birth date", "dob"],
    EMAIL: ["Email", "E-mail", "Thư điện tử", "email address"],
    GENDER: ["Giới tính", "gender", "sex"],
    CARD_NUMBER: ["Mã thẻ", "Số thẻ", "Mã thẻ thành viên", "card number", "card", "card no", "member card"],
    OPENING_POINTS: [
        "Điểm đầu kỳ",
        "Điểm",
        "Số điểm",
        "Số dư điểm",
        "Điểm hiện có",
        "Điểm tích lũy",
        "points",
        "opening points",
        "opening balance",
        "points balance",
        "balance",
    ],
    POINTS_EARNED_ON: [
        "Ngày tích điểm",
        "Ngày tích",
        "Ngày có điểm",
        "Ngày phát sinh điểm",
        "points earned on",
        "earned on",
        "earned at",
        "earned date",
        "points date",
        "date earned",
    ],
}


def header_key(text: object) -> str:
    """Lower case, no accents (đ -> d), every run of non-letters and non-digits one space."""
    value = unicodedata.normalize("NFKD", str(text or "")).replace("đ", "d").replace("Đ", "D")
    value = "".join(char for char in value if not unicodedata.combining(char)).lower()
    return " ".join(re.split(r"[^a-z0-9]+", value)).strip()


ALIASES: dict[str, str] = {header_key(alias): field for field, aliases in _ALIASES.items() for alias in aliases}


def field_for_header(text: object) -> str | None:
    """The field a header names, or None for a column the import ignores."""
    return ALIASES.get(header_key(text))
