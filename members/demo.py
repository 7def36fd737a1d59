"""The members part of the demo programme (`demo-programme.md`): the point settings and about
200 members with Vietnamese names, phone numbers and birthdays (some in the current month),
some with cards, referrals and opening points.

Deterministic: a seeded random generator draws the same people, phones, codes and cards on
every machine. Idempotent: members are found by phone and skipped, opening points carry a
fixed ledger reference, and settings an operator has edited are left alone."""

from __future__ import annotations

import calendar
import datetime
import random
from decimal import Decimal

from django.utils import timezone

from loyalty_site.core.money import RoundingMode
from members.codes import ALPHABET, LETTERS, MEMBER_CODE_LENGTH
from members.models import ConsentChange, LedgerEntry, Member, ProgrammeSettings
from members.phones import phone_or_none
from members.selectors import programme_settings_get
from members.services import member_enrol, points_earn, programme_settings_update
from stores.models import Store

SEED = 20250301
MEMBER_COUNT = 200
STORE_CODES = ["PHO-HN01", "PHO-HCM01", "CAFE-HN01", "CAFE-DN01"]
DEMO_SETTINGS = {
    "point_value": Decimal(1000),
    "rounding_mode": RoundingMode.HALF_UP,
    "expiry_policy": ProgrammeSettings.ExpiryPolicy.MONTHS_AFTER_EARNING,
    "expiry_months": 12,
    "pending_days": 0,
    "backdating_limit_days": 7,
    "clawback_policy": ProgrammeSettings.ClawbackPolicy.ALLOW_NEGATIVE,
    # risk.md "Staff": adjustments above these wait for a programme lead's approval.
    "adjustment_max_points": 500,
    "adjustment_daily_points": 2000,
    "presence_proof": ProgrammeSettings.PresenceProof.ABOVE,
    "presence_free_points": 100,
    # Version 2: points pay at most half of an invoice after discounts, and at least 10 at a time.
    "redeem_max_percent": Decimal(50),
    "redeem_min_points": 10,
}
REDEEM_LIMITS = ("redeem_max_percent", "redeem_min_points")

FAMILY_NAMES = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trịnh", "Đinh", "Mai", "Tạ",
]  # fmt: skip
MIDDLE_NAMES = {
    Member.Gender.FEMALE: ["Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Hồng", "Bảo", "Khánh"],
    Member.Gender.MALE: ["Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Công", "Gia", "Hoàng"],
}
GIVEN_NAMES = {
    Member.Gender.FEMALE: [
        "An", "Anh", "Chi", "Giang", "Hà", "Hạnh", "Hằng", "Hương", "Lan", "Linh", "Mai", "My",
        "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Tâm", "Thảo", "Trang", "Trâm",
        "Uyên", "Vân", "Vy", "Yến",
    ],
    Member.Gender.MALE: [
        "An", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Hải", "Hiếu", "Hùng", "Huy", "Khang",
        "Khoa", "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Sơn", "Tài", "Thắng",
        "Toàn", "Trung", "Tuấn", "Việt",
    ],
}  # fmt: skip
# Mobile prefixes of the Vietnamese networks (Viettel, Vinaphone, MobiFone, Vietnamobile).
MOBILE_PREFIXES = [
    "090", "091", "093", "094", "096", "097", "098", "086", "088", "089", "032", "033", "034",
    "035", "036", "037", "038", "039", "070", "076", "077", "078", "079", "081", "082", "083",
    "084", "085", "056", "058",
]  # fmt: skip
CHANNELS = [Member.Channel.STORE] * 6 + [Member.Channel.API] * 2 + [Member.Channel.IMPORT, Member.Channel.ADMIN]


def _birthday(rng: random.Random, index: int, today: datetime.date) -> datetime.date | None:
    year = rng.randint(1965, 2004)
    if index % 8 == 0:  # about one in eight has a birthday this month
        month = today.month
    elif index % 17 == 0:
        return None  # not everybody gives a birthday
    else:
        month = rng.randint(1, 12)
    day = rng.randint(1, calendar.monthrange(year, month)[1])
    return datetime.date(year, month, day)


def _phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        phone = phone_or_none(rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 9_999_999):07d}")
        if phone and phone not in taken:
            taken.add(phone)
            return phone


def _code(rng: random.Random, taken: set[str]) -> str:
    while True:
        code = rng.choice(LETTERS) + "".join(rng.choice(ALPHABET) for _ in range(MEMBER_CODE_LENGTH - 1))
        if code not in taken:
            taken.add(code)
            return code


def demo_members_load() -> int:
    """Create the demo programme's settings (when missing) and members; returns the number of
    members created (0 when run again)."""
    programme, created = ProgrammeSettings.objects.get_or_create(
        pk=ProgrammeSettings.SINGLETON_PK, defaults=DEMO_SETTINGS
    )
    untouched = ProgrammeSettings()
    if (
        not created
        and programme.updated_by_id is None
        and all(getattr(programme, name) == getattr(untouched, name) for name in REDEEM_LIMITS)
    ):
        # A demo built before the redemption limits existed, never edited since: add them.
        programme_settings_update(data={name: DEMO_SETTINGS[name] for name in REDEEM_LIMITS})
    programme_settings_get(fresh=True)
    stores = list(Store.objects.filter(code__in=STORE_CODES).order_by("code"))
    rng = random.Random(SEED)  # noqa: S311 -- sample data must be reproducible, not secret
    now = timezone.now()
    today = timezone.localdate()
    phones: set[str] = set()
    codes: set[str] = set()
    created = 0
    enrolled: list[Member] = []
    for index in range(MEMBER_COUNT):
        gender = rng.choice([Member.Gender.FEMALE, Member.Gender.MALE])
        name = " ".join([rng.choice(FAMILY_NAMES), rng.choice(MIDDLE_NAMES[gender]), rng.choice(GIVEN_NAMES[gender])])
        phone = _phone(rng, phones)
        code = _code(rng, codes)
        birthday = _birthday(rng, index, today)
        enrolled_days_ago = rng.randint(1, 720)
        channel = rng.choice(CHANNELS)
        store = rng.choice(stores) if stores else None
        with_email = rng.random() < 0.6
        consents = {"sms": rng.random() < 0.7, "email": with_email and rng.random() < 0.5, "zalo": rng.random() < 0.5}
        card_number = f"8400{index + 1:08d}" if index % 3 == 0 else ""
        opening_points = rng.randint(20, 400) if index % 4 == 0 else 0
        opening_days_ago = rng.randint(3, min(364, enrolled_days_ago + 3))

        member = Member.objects.filter(phone=phone).first()
        if member is None:
            referrer = enrolled[index - 7] if index % 10 == 3 and index >= 7 else None
            member = member_enrol(
                name=name,
                phone=phone,
                email=f"{code.lower()}@example.vn" if with_email else "",
                birthday=birthday,
                gender=gender,
                home_store=store,
                card_number=card_number,
                referral_code=referrer.referral_code if referrer else "",
                consents=consents,
                consent_source=ConsentChange.Source.SYSTEM,
                enrolled_at=now - datetime.timedelta(days=enrolled_days_ago),
                channel=channel,
                code=code,
            )
            created += 1
        enrolled.append(member)
        reference = f"demo:opening:{member.code}"
        if opening_points and not LedgerEntry.objects.filter(reference=reference).exists():
            points_earn(
                member=member,
                points=opening_points,
                kind=LedgerEntry.Kind.BONUS,
                reference=reference,
                occurred_at=now - datetime.timedelta(days=opening_days_ago),
                cause_kind="demo",
                reason="Điểm khởi tạo dữ liệu mẫu",
            )
    return created
