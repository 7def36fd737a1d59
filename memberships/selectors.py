"""Reads of paid membership: who is a paid member when, until when, and the multiplier the
checkout applies. Nothing here writes."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from loyalty_site.core.config_cache import config_cache_invalidate, config_cached
from members.models import Member
from members.selectors import programme_zone
from memberships.models import PaidMembership, PaidPlan
from stores.models import Store

ONE = Decimal(1)
PLANS_CACHE_KEY = "memberships:plans:v1"
PLANS_CACHE_SECONDS = 60


def months_after(moment: datetime.datetime, months: int) -> datetime.datetime:
    """`moment` plus whole calendar months on the programme's clock (31 Jan + 1 month = 28/29
    Feb), as an aware UTC-comparable datetime."""
    local = timezone.localtime(moment, programme_zone())
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight starting `day` on the programme's clock."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=programme_zone())


def not_cancelled() -> Q:
    return ~Q(status=PaidMembership.Status.CANCELLED)


def covering(at: datetime.datetime) -> Q:
    """Periods that make their member a paid member at `at`."""
    return not_cancelled() & Q(started_at__lte=at, ends_at__gt=at)


@dataclass(frozen=True)
class PlanFacts:
    id: int
    code: str
    earn_multiplier: Decimal
    brand_ids: frozenset[int]


def _plans_load() -> dict[int, PlanFacts]:
    plans = list(PaidPlan.objects.order_by("pk"))
    brands: dict[int, set[int]] = {}
    for plan_id, brand_id in PaidPlan.brands.through.objects.values_list("paidplan_id", "brand_id"):
        brands.setdefault(plan_id, set()).add(brand_id)
    return {p.pk: PlanFacts(p.pk, p.code, p.earn_multiplier, frozenset(brands.get(p.pk, ()))) for p in plans}


def plans_cache_invalidate() -> None:
    """Whoever changes a plan or its brands calls it (the plan service does)."""
    config_cache_invalidate(PLANS_CACHE_KEY)


def plans_cached() -> dict[int, PlanFacts]:
    return config_cached(PLANS_CACHE_KEY, _plans_load, timeout=PLANS_CACHE_SECONDS)


def plan_applies(plan: PlanFacts, store: Store) -> bool:
    return not plan.brand_ids or store.brand_id in plan.brand_ids


def membership_multiplier(*, member: Member | None, store: Store, at: datetime.datetime) -> Decimal:
    """The earn multiplier the member's paid membership gives at `store` at `at` (1 without
    one). No query at all while no plan with a multiplier above 1 exists (cached plans); else
    one indexed read of the member's periods covering `at`."""
    if member is None:
        return ONE
    plans = {pk: p for pk, p in plans_cached().items() if p.earn_multiplier > ONE and plan_applies(p, store)}
    if not plans:
        return ONE
    plan_ids = PaidMembership.objects.filter(covering(at), member_id=member.pk, plan_id__in=list(plans)).values_list(
        "plan_id", flat=True
    )
    return max((plans[pk].earn_multiplier for pk in plan_ids), default=ONE)


def membership_current(*, member: Member, at: datetime.datetime | None = None) -> PaidMembership | None:
    """The period making the member a paid member at `at` (default now), or None."""
    at = at or timezone.now()
    return (
        PaidMembership.objects.select_related("plan")
        .filter(covering(at), member_id=member.pk)
        .order_by("started_at", "pk")
        .first()
    )


@dataclass(frozen=True)
class MembershipStanding:
    """The member's paid membership as the till and the member pages show it."""

    membership: PaidMembership
    plan: PaidPlan
    started_at: datetime.datetime
    ends_at: datetime.datetime  # the end of the last period following on without a gap
    renewed: bool  # a period bought after the current one


def membership_standing(*, member: Member, at: datetime.datetime | None = None) -> MembershipStanding | None:
    """The current period and the end of the run of periods following it without a gap."""
    if not plans_cached():  # a programme without paid membership: no query
        return None
    at = at or timezone.now()
    periods = list(
        PaidMembership.objects.select_related("plan")
        .filter(not_cancelled(), member_id=member.pk, ends_at__gt=at)
        .order_by("started_at", "pk")
    )
    current = next((p for p in periods if p.started_at <= at), None)
    if current is None:
        return None
    ends_at, renewed = current.ends_at, False
    for period in periods:
        if period.pk != current.pk and period.started_at <= ends_at < period.ends_at:
            ends_at, renewed = period.ends_at, True
    return MembershipStanding(
        membership=current, plan=current.plan, started_at=current.started_at, ends_at=ends_at, renewed=renewed
    )


def member_memberships(*, member: Member) -> list[PaidMembership]:
    """Every period of the member, newest first (the member pages, the admin)."""
    return list(PaidMembership.objects.select_related("plan").filter(member_id=member.pk).order_by("-started_at"))
