"""Crediting the referrer for a sale of the member they referred, and taking it back on a refund.
The points go through the ledger (`members.services.points_earn`, kind referral) with the
reference `referral:<sale reference>`, so a sale credits its referrer at most once."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.referral.models import ReferralProgramme
from campaigns.referral.selectors import referral_points_for, referral_programme_get, referral_referrer
from loyalty_site.core.errors import ValidationFailed, clean_or_refuse
from members.errors import MemberBlocked, MemberMerged
from members.models import LedgerEntry, Member
from members.services import points_earn, points_reverse


def referral_reference(sale_reference: str) -> str:
    return f"referral:{sale_reference}"


def _require_reference(sale_reference: str) -> str:
    sale_reference = (sale_reference or "").strip()
    if not sale_reference:
        raise ValidationFailed(errors={"sale_reference": [_("A sale reference is required.")]})
    return sale_reference


def referral_reward(*, member: Member, earn_base: Decimal, sale_reference: str, at: datetime.datetime) -> int | None:
    """Credit the referrer of `member` for a sale (`sale_reference`, made at `at`, with this earn
    base). Returns the points credited, or None when nothing is due (see
    `referral_points_for`; also when the referrer is blocked). Idempotent per sale reference:
    a second call returns the points of the first, even if the settings changed meanwhile.
    Runs inside the caller's transaction when there is one (the checkout's)."""
    sale_reference = _require_reference(sale_reference)
    reference = referral_reference(sale_reference)
    existing = LedgerEntry.objects.filter(reference=reference).only("points").first()
    if existing is not None:
        return existing.points
    points = referral_points_for(member=member, earn_base=earn_base, at=at)
    if points <= 0:
        return None
    referrer = referral_referrer(member=member)
    if referrer is None:
        return None
    try:
        entry = points_earn(
            member=referrer,
            points=points,
            reference=reference,
            kind=LedgerEntry.Kind.REFERRAL,
            occurred_at=at,
            cause_kind="referral",
            cause_reference=sale_reference,
            reason=_("Referral: a sale of member %(code)s") % {"code": member.code},
        )
    except (MemberBlocked, MemberMerged):
        # Blocked or merged since `referral_referrer` looked: nothing is due to them.
        return None
    return entry.points


def referral_reward_reverse(*, sale_reference: str, reference: str, points: int | None = None) -> int:
    """Take back `points` (default: all that is left) of the referral credit of a sale, e.g. on
    a refund; `reference` names the refund (idempotent on it). Returns the points taken back,
    0 when the sale credited no referrer."""
    sale_reference = _require_reference(sale_reference)
    entry = LedgerEntry.objects.filter(reference=referral_reference(sale_reference)).first()
    if entry is None:
        return 0
    reversal = points_reverse(
        entry=entry,
        reference=reference,
        points=points,
        cause_kind="referral",
        cause_reference=sale_reference,
        reason=_("Referral taken back: refund of the sale"),
    )
    return -reversal.points


def referral_programme_update(*, data: dict, by=None) -> ReferralProgramme:
    """Change the referral settings (is_active, percent, days). Refusals write nothing."""
    allowed = {"is_active", "percent", "days"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"referral_programme_update cannot change {sorted(unknown)}")
    with transaction.atomic():
        programme = referral_programme_get()
        programme = ReferralProgramme.objects.select_for_update().get(pk=programme.pk)
        for name, value in data.items():
            setattr(programme, name, value)
        programme.updated_by = by
        clean_or_refuse(programme)
        programme.save()
    return programme
