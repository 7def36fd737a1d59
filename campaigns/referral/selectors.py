"""Reads of the referral programme. `referral_points_for` is the pure figure a quote may show;
`campaigns.referral.services.referral_reward` credits it."""

from __future__ import annotations

import datetime
from decimal import Decimal

from campaigns.referral.models import ReferralProgramme
from loyalty_site.core.money import points_for_amount, to_decimal
from members.models import Member
from members.selectors import member_resolve, programme_settings_get


def referral_programme_get() -> ReferralProgramme:
    """The referral settings (the one row, created switched off if missing)."""
    programme, _created = ReferralProgramme.objects.get_or_create(pk=ReferralProgramme.SINGLETON_PK)
    return programme


def referral_window_end(*, member: Member, programme: ReferralProgramme) -> datetime.datetime:
    """The first moment the member's sales no longer earn their referrer anything."""
    return member.enrolled_at + datetime.timedelta(days=programme.days)


def referral_referrer(*, member: Member) -> Member | None:
    """The member who referred `member` and can be credited now: a merged referrer stands for
    the member it was merged into; nobody when that is `member` itself or when the referrer is
    not active (blocked)."""
    if member is None or member.referred_by_id is None or member.referred_by_id == member.pk:
        return None
    referrer = member_resolve(Member.objects.get(pk=member.referred_by_id))
    if referrer.pk == member.pk or referrer.status != Member.Status.ACTIVE:
        return None
    return referrer


def referral_points_for(
    *,
    member: Member | None,
    earn_base: Decimal,
    at: datetime.datetime,
    programme: ReferralProgramme | None = None,
) -> int:
    """The points `member`'s referrer earns on a sale of `member` with this earn base at `at`:
    the programme's percentage of the base, converted with the point value and the programme's
    rounding; 0 when the programme is off, the member has no referrer (or "referred" themself),
    the sale is outside the window of N days from enrolment, or the base is not positive.
    Costs no query for a member without a referrer."""
    if member is None or member.referred_by_id is None or member.referred_by_id == member.pk:
        return 0
    earn_base = to_decimal(earn_base)
    if earn_base <= 0:
        return 0
    programme = programme or referral_programme_get()
    if not programme.is_active:
        return 0
    if not (member.enrolled_at <= at < referral_window_end(member=member, programme=programme)):
        return 0
    settings = programme_settings_get()
    return max(
        0,
        points_for_amount(
            earn_base,
            rate_percent=programme.percent,
            point_value=settings.point_value,
            mode=settings.rounding_mode,
        ),
    )
