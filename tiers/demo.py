"""The tiers of the demo programme (demo-programme.md). Safe to run again: what exists is left
exactly as it is, so edits an operator made in the admin survive."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from tiers.errors import TierConfigInvalid
from tiers.models import Tier, TierSettings
from tiers.services import tier_save

DEMO_TIERS = [
    {
        "code": "MEMBER",
        "name": "Thành viên",
        "name_en": "Member",
        "description": "Hạng khởi đầu của mọi thành viên: tích 5 % giá trị mỗi hóa đơn.",
        "description_en": "Every member starts here: earn 5 % of every invoice.",
        "rank": 10,
        "threshold": Decimal(0),
        "earn_rate_percent": Decimal(5),
    },
    {
        "code": "VIP",
        "name": "VIP",
        "name_en": "VIP",
        "description": (
            "Chi tiêu từ 5.000.000đ: tích 10 % mỗi hóa đơn. Giữ hạng khi chi tiêu 10.000.000đ trong 12 tháng "
            "kể từ ngày lên hạng; nếu không, quay về hạng Thành viên và tính lại chi tiêu từ 0."
        ),
        "description_en": (
            "From 5,000,000 VND spent: earn 10 % of every invoice. Keep it by spending 10,000,000 VND within "
            "12 months of reaching it; otherwise back to Member, with the spend counted again from 0."
        ),
        "rank": 20,
        "threshold": Decimal(5_000_000),
        "earn_rate_percent": Decimal(10),
        "retention_spend": Decimal(10_000_000),
        "retention_months": 12,
        "on_failure": Tier.OnFailure.SUPPORTED,
        "reset_spend_on_downgrade": True,
    },
    {
        "code": "DIAMOND",
        "name": "Kim Cương",
        "name_en": "Diamond",
        "description": (
            "Chi tiêu từ 20.000.000đ: tích 12 % mỗi hóa đơn, giảm 5 % mọi hóa đơn, đổi voucher ít hơn 5 % điểm. "
            "Giữ hạng khi chi tiêu 30.000.000đ trong 12 tháng; nếu không, xuống hạng VIP."
        ),
        "description_en": (
            "From 20,000,000 VND spent: earn 12 % of every invoice, 5 % off every invoice, vouchers cost 5 % "
            "fewer points. Keep it by spending 30,000,000 VND within 12 months; otherwise down to VIP."
        ),
        "rank": 30,
        "threshold": Decimal(20_000_000),
        "earn_rate_percent": Decimal(12),
        "invoice_discount_percent": Decimal(5),
        "voucher_points_discount_percent": Decimal(5),
        "retention_spend": Decimal(30_000_000),
        "retention_months": 12,
        "on_failure": Tier.OnFailure.ONE_DOWN,
        "reset_spend_on_downgrade": False,
    },
]


def demo_tiers_load() -> int:
    """Create the demo tiers that are missing (by code; a tier whose rank is taken by another
    tier is left out rather than moving anyone's) and the tier settings row (qualifying spend
    in VND, counted since enrolment or the last downgrade). Returns the number of tiers
    created."""
    created = 0
    with transaction.atomic():
        TierSettings.objects.get_or_create(
            pk=TierSettings.SINGLETON_PK,
            defaults={"basis": TierSettings.Basis.SPEND, "window": TierSettings.Window.SINCE_ENROLMENT},
        )
        for spec in DEMO_TIERS:
            if Tier.objects.filter(code=spec["code"]).exists() or Tier.objects.filter(rank=spec["rank"]).exists():
                continue
            try:
                tier_save(tier=Tier(**spec))
            except TierConfigInvalid:
                # The operator's ladder has no room for it (e.g. thresholds changed): theirs stands.
                continue
            created += 1
    return created
