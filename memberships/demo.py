"""The paid membership of the demo programme (`demo-programme.md`): `CLUB`, 199,000 VND a year;
while active, points x1.5 and a `PCT10` voucher each month. Created only when missing: a plan
an operator changed is left alone."""

from __future__ import annotations

from decimal import Decimal

from memberships.models import PaidPlan
from memberships.services import plan_save
from vouchers.models import Reward


def demo_memberships_load() -> int:
    if PaidPlan.objects.filter(code="CLUB").exists():
        return 0
    plan_save(
        plan=PaidPlan(
            code="CLUB",
            name="Hội viên CLUB",
            name_en="CLUB membership",
            fee=Decimal(199_000),
            period_months=12,
            earn_multiplier=Decimal("1.5"),
            monthly_reward=Reward.objects.filter(code="PCT10").first(),
            refund_window_days=14,
            reminder_days=14,
            renewable=True,
        ),
        brands=[],
    )
    return 1
