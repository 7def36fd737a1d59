"""Reads of the tiers app: the ladder, a member's tier and its benefits, and "why this tier".
Nothing here writes (except `tier_settings_get`, which creates the settings row with its
defaults the first time). The ladder and the settings, read by every sale, are cached."""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.config_cache import config_cache_invalidate, config_cached
from loyalty_site.core.money import HUNDRED, ZERO, RoundingMode, percent_of, round_to_int, to_decimal
from members.models import Member
from tiers.errors import TiersNotConfigured
from tiers.models import Tier, TierChange, TierSettings, TierStatus

TIERS_LADDER_CACHE_KEY = "tiers:ladder:v1"
TIER_SETTINGS_CACHE_KEY = "tiers:settings:v1"
# As members.selectors.PROGRAMME_SETTINGS_CACHE_SECONDS: the safety net behind the explicit
# invalidation, not the way changes reach the tills.
TIERS_CACHE_SECONDS = 60

# --- Time -------------------------------------------------------------------------------------


def tiers_zone() -> zoneinfo.ZoneInfo:
    """The zone in which cycle days are counted (the programme's, settings.TIME_ZONE)."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_today() -> datetime.date:
    return timezone.localtime(timezone.now(), tiers_zone()).date()


def local_date(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment, tiers_zone()).date()


def start_of_day(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day` in the programme's zone."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tiers_zone())


def cycle_deadline(start_day: datetime.date, months: int) -> datetime.date:
    """The last day of a retention cycle of `months` that starts on `start_day`: reached on
    15 January with 12 months, the member has until the end of 14 January next year."""
    return start_day + relativedelta(months=months) - datetime.timedelta(days=1)


# --- Settings and the ladder ------------------------------------------------------------------


def tier_settings_get(*, fresh: bool = False) -> TierSettings:
    """The programme's tier settings (the one row, created with the defaults if missing).
    Cached (see `loyalty_site.core.config_cache`) and invalidated whenever the row is saved;
    `fresh=True` reads the database: for the jobs that depend on `last_evaluated_on`, which they
    update themselves."""
    return config_cached(TIER_SETTINGS_CACHE_KEY, _tier_settings_load, timeout=TIERS_CACHE_SECONDS, fresh=fresh)


def _tier_settings_load() -> TierSettings:
    found, _created = TierSettings.objects.get_or_create(pk=TierSettings.SINGLETON_PK)
    return found


def tiers_ladder(*, fresh: bool = False) -> list[Tier]:
    """Every tier, lowest rank first. Cached like the settings (a new list each call);
    `fresh=True` reads the database."""
    return config_cached(TIERS_LADDER_CACHE_KEY, _tiers_ladder_load, timeout=TIERS_CACHE_SECONDS, fresh=fresh)


def _tiers_ladder_load() -> list[Tier]:
    return list(Tier.objects.order_by("rank"))


def tiers_cache_invalidate() -> None:
    """Drop the cached ladder and settings: called by the services that change them, and by the
    signal receivers of `tiers.apps` for writes that bypass the services (the admin, fixtures)."""
    config_cache_invalidate(TIERS_LADDER_CACHE_KEY)
    config_cache_invalidate(TIER_SETTINGS_CACHE_KEY)


def entry_tier() -> Tier:
    """The tier of every member who has not qualified for more (the lowest rank)."""
    ladder = tiers_ladder()
    if not ladder:
        raise TiersNotConfigured(_("No tier is configured yet: add at least the entry tier."))
    return ladder[0]


def tier_next(*, tier: Tier, ladder: list[Tier] | None = None) -> Tier | None:
    """The tier one rank above `tier`, or None at the top."""
    ladder = ladder if ladder is not None else tiers_ladder()
    higher = [t for t in ladder if t.rank > tier.rank]
    return higher[0] if higher else None


def tier_below(*, tier: Tier, ladder: list[Tier] | None = None) -> Tier | None:
    """The tier one rank below `tier`, or None for the entry tier."""
    ladder = ladder if ladder is not None else tiers_ladder()
    lower = [t for t in ladder if t.rank < tier.rank]
    return lower[-1] if lower else None


def tier_supported_by(*, qualifying: Decimal, ladder: list[Tier]) -> Tier:
    """The highest tier whose threshold `qualifying` reaches (the entry tier at least)."""
    reached = [t for t in ladder if t.threshold <= qualifying]
    return reached[-1] if reached else ladder[0]


def tier_retention_requirement(tier: Tier) -> Decimal:
    """What a cycle's spend must reach for a failing member to land in `tier` under the
    "drop to the tier the spend supports" rule: the tier's own retention spend, or its entry
    threshold when it has no retention rule."""
    return tier.retention_spend if tier.has_retention else tier.threshold


# --- A member's tier and benefits -------------------------------------------------------------


def member_tier_status(*, member: Member) -> TierStatus | None:
    return TierStatus.objects.select_related("tier", "floor_tier").filter(member_id=member.pk).first()


def member_tier(*, member: Member) -> Tier:
    """The member's current tier: the entry tier when the member has no status row yet."""
    status = TierStatus.objects.select_related("tier").filter(member_id=member.pk).only("tier").first()
    return status.tier if status is not None else entry_tier()


def tier_earn_rate(*, member: Member) -> Decimal:
    """The earn rate (% of the earn base) of the member's current tier."""
    return member_tier(member=member).earn_rate_percent


def tier_invoice_discount(*, tier: Tier, amount: Decimal) -> Decimal:
    """The tier's standing discount on an invoice of `amount` VND, in whole dong (half-up)."""
    if tier.invoice_discount_percent <= 0:
        return ZERO
    return Decimal(round_to_int(percent_of(to_decimal(amount), tier.invoice_discount_percent)))


def tier_voucher_points_cost(*, tier: Tier, points_cost: int) -> int:
    """The points a voucher costs a member of `tier`: the catalogue cost less the tier's
    discount, rounded up to whole points (5 % off 50 points is 47.5, so 48)."""
    points_cost = int(points_cost)
    if points_cost <= 0 or tier.voucher_points_discount_percent <= 0:
        return max(points_cost, 0)
    discounted = percent_of(Decimal(points_cost), HUNDRED - tier.voucher_points_discount_percent)
    return round_to_int(discounted, RoundingMode.CEIL)


def tier_member_counts() -> dict[int, int]:
    """Members per tier id, counting members without a status row in the entry tier."""
    counts = dict(TierStatus.objects.order_by().values_list("tier_id").annotate(n=Count("pk")))
    entry = Tier.objects.order_by("rank").first()
    if entry is not None:
        without_row = Member.objects.count() - sum(counts.values())
        counts[entry.pk] = counts.get(entry.pk, 0) + max(without_row, 0)
    return counts


def member_tier_history(*, member: Member, limit: int | None = 10) -> list[TierChange]:
    changes = TierChange.objects.filter(member_id=member.pk).select_related("from_tier", "to_tier", "staff_user")
    return list(changes[:limit] if limit else changes)


# --- "Why this tier" --------------------------------------------------------------------------


@dataclass(frozen=True)
class TierExplanation:
    """Everything the member page and the POS need to say why a member is in a tier and what
    comes next. Amounts are in the programme's basis (VND, or points)."""

    member_id: int
    tier: Tier
    since: datetime.datetime | None
    basis: str
    qualifying_spend: Decimal
    counted_from: datetime.datetime | None
    next_tier: Tier | None
    needed_for_next: Decimal | None  # still to spend to reach next_tier
    retention_required: Decimal | None  # to keep the tier in this cycle
    cycle_spend: Decimal
    still_needed_to_keep: Decimal | None
    retention_deadline: datetime.date | None  # the last day of the cycle
    grace_until: datetime.date | None  # the last day of the grace period, if any
    in_grace: bool
    drops_to: Tier | None  # where the member lands if the cycle ends as it stands
    floor_tier: Tier | None
    floor_until: datetime.date | None
    has_status_row: bool

    @property
    def keeps_tier(self) -> bool:
        return self.still_needed_to_keep is None or self.still_needed_to_keep <= 0


def _drop_target(status: TierStatus, ladder: list[Tier]) -> Tier | None:
    tier = status.tier
    lower = [t for t in ladder if t.rank < tier.rank]
    if not lower:
        return None
    if tier.on_failure == Tier.OnFailure.ONE_DOWN:
        target = lower[-1]
    else:
        target = next((t for t in reversed(lower) if status.cycle_spend >= tier_retention_requirement(t)), lower[0])
    return target


def member_tier_explain(*, member: Member, as_of: datetime.date | None = None) -> TierExplanation:
    """Why the member is in their tier: since when, the qualifying spend and what is still
    needed for the next tier, and what is needed to keep the tier and by when."""
    as_of = as_of or local_today()
    ladder = tiers_ladder()
    if not ladder:
        raise TiersNotConfigured(_("No tier is configured yet: add at least the entry tier."))
    programme = tier_settings_get()
    status = member_tier_status(member=member)
    if status is None:
        tier = ladder[0]
        next_tier = tier_next(tier=tier, ladder=ladder)
        return TierExplanation(
            member_id=member.pk,
            tier=tier,
            since=getattr(member, "enrolled_at", None),
            basis=programme.basis,
            qualifying_spend=ZERO,
            counted_from=getattr(member, "enrolled_at", None),
            next_tier=next_tier,
            needed_for_next=next_tier.threshold if next_tier else None,
            retention_required=None,
            cycle_spend=ZERO,
            still_needed_to_keep=None,
            retention_deadline=None,
            grace_until=None,
            in_grace=False,
            drops_to=None,
            floor_tier=None,
            floor_until=None,
            has_status_row=False,
        )
    tier = status.tier
    next_tier = tier_next(tier=tier, ladder=ladder)
    needed_for_next = max(next_tier.threshold - status.qualifying_spend, ZERO) if next_tier else None
    floor_active = status.floor_until is not None and status.floor_until >= as_of
    retention_required = tier.retention_spend if tier.has_retention and status.retention_deadline else None
    still_needed = max(retention_required - status.cycle_spend, ZERO) if retention_required is not None else None
    grace_until = None
    in_grace = False
    if retention_required is not None and tier.grace_days:
        grace_until = status.retention_deadline + datetime.timedelta(days=tier.grace_days)
        in_grace = status.retention_deadline < as_of <= grace_until
    drops_to = None
    if still_needed:
        drops_to = _drop_target(status, ladder)
        if floor_active and drops_to is not None and status.floor_tier.rank > drops_to.rank:
            drops_to = status.floor_tier
    return TierExplanation(
        member_id=member.pk,
        tier=tier,
        since=status.since,
        basis=programme.basis,
        qualifying_spend=status.qualifying_spend,
        counted_from=status.counted_from,
        next_tier=next_tier,
        needed_for_next=needed_for_next,
        retention_required=retention_required,
        cycle_spend=status.cycle_spend,
        still_needed_to_keep=still_needed,
        retention_deadline=status.retention_deadline if retention_required is not None else None,
        grace_until=grace_until,
        in_grace=in_grace,
        drops_to=drops_to,
        floor_tier=status.floor_tier if floor_active else None,
        floor_until=status.floor_until if floor_active else None,
        has_status_row=True,
    )
