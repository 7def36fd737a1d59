"""Reads of the member pages. Nothing here writes."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from loyalty_site.core.money import points_to_money
from members.models import Member
from members.selectors import member_points_expiring, programme_settings_get
from memberships.selectors import MembershipStanding, membership_standing
from stores.models import DEFAULT_BRAND_COLOUR, Brand
from tiers.errors import TiersNotConfigured
from tiers.selectors import TierExplanation, member_tier_explain
from vouchers.models import Voucher
from vouchers.selectors import member_usable_vouchers

EXPIRING_WITHIN_DAYS = 30


@dataclass(frozen=True)
class Look:
    """The brand the member pages are dressed in."""

    name: str
    colour: str
    logo_url: str


def page_brand(member: Member | None) -> Look:
    """The brand of the member's home store; else (no member, no home store) the first brand by
    code; else the programme's default look."""
    brand = None
    if member is not None and member.home_store_id:
        brand = Brand.objects.filter(stores__pk=member.home_store_id).first()
    if brand is None:
        brand = Brand.objects.order_by("code").first()
    if brand is None:
        return Look(name="", colour=DEFAULT_BRAND_COLOUR, logo_url="")
    return Look(
        name=brand.name, colour=brand.colour or DEFAULT_BRAND_COLOUR, logo_url=brand.logo.url if brand.logo else ""
    )


@dataclass(frozen=True)
class TierProgress:
    explanation: TierExplanation
    percent: int  # towards the next tier, 0-100 (100 at the top)


@dataclass(frozen=True)
class HomeSummary:
    member: Member
    tier: TierProgress | None
    points_balance: int
    points_value: Decimal
    points_expiring: int
    expiring_within_days: int
    vouchers: list[Voucher]
    membership: MembershipStanding | None = None  # the paid membership running now


def _tier_progress(member: Member) -> TierProgress | None:
    try:
        explanation = member_tier_explain(member=member)
    except TiersNotConfigured:
        return None
    if explanation.next_tier is None:
        return TierProgress(explanation=explanation, percent=100)
    threshold = explanation.next_tier.threshold
    reached = threshold - (explanation.needed_for_next or Decimal(0))
    percent = int(max(Decimal(0), min(Decimal(100), reached * 100 / threshold))) if threshold > 0 else 100
    return TierProgress(explanation=explanation, percent=percent)


def member_home(*, member: Member, at: datetime.datetime | None = None) -> HomeSummary:
    at = at or timezone.now()
    programme = programme_settings_get()
    return HomeSummary(
        member=member,
        tier=_tier_progress(member),
        points_balance=member.points_balance,
        points_value=points_to_money(max(member.points_balance, 0), programme.point_value),
        points_expiring=member_points_expiring(member=member, within_days=EXPIRING_WITHIN_DAYS, at=at),
        expiring_within_days=EXPIRING_WITHIN_DAYS,
        vouchers=member_usable_vouchers(member=member, at=at),
        membership=membership_standing(member=member, at=at),
    )
