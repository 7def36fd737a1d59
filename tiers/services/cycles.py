"""The daily evaluation of retention cycles, and the recompute after the rules change.

Both are set-based: members are never loaded one by one to be looked at. Each rule is one
UPDATE over the members it applies to (per tier, and per cycle end date for renewals). Moves
that must be recorded and told to the member (downgrades, recomputed tiers) are done in chunks
of CHUNK members: lock the chunk's status rows in member order, UPDATE them, bulk-insert their
history and enqueue their messages, commit; so a long run holds few locks for a short time,
never loads more than a chunk, and a crash leaves every chunk either done or not started.

Running either again changes nothing: a member moved or renewed has a cycle that ends in the
future, and a recomputed member is in the tier the rules give."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, DecimalField, F, Q, QuerySet, Value
from django.db.models.functions import Least
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, ZERO
from tiers.models import Tier, TierChange, TierSettings, TierSpend, TierStatus
from tiers.selectors import (
    cycle_deadline,
    local_today,
    start_of_day,
    tier_retention_requirement,
    tier_settings_get,
    tiers_cache_invalidate,
    tiers_ladder,
)
from tiers.services.common import (
    active_floor,
    cycle_values,
    history_many,
    notify_many,
    now,
    qualifying_refresh,
    window_start,
)

# Members moved per transaction. Small enough that a till selling to one of them waits at most
# a moment for the chunk's row locks (each move also writes the member's message); large
# enough that the per-chunk queries do not matter.
CHUNK = 250
MONEY = DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)


def _no_active_floor(as_of: datetime.date) -> Q:
    return Q(floor_until__isnull=True) | Q(floor_until__lt=as_of)


@dataclass(frozen=True)
class Move:
    statuses: QuerySet
    from_tier: Tier
    to_tier: Tier
    values: dict
    # Rows are locked in this order, the same in every run (so two runs cannot deadlock); the
    # evaluation's order follows the (tier, retention_deadline) index, so a chunk is found
    # without sorting every member of the tier.
    order: tuple[str, ...] = ("member_id",)


def _move_in_chunks(
    move: Move, *, kind: str, reference: str, dedupe_key: str, at: datetime.datetime, staff_user=None
) -> tuple[int, int]:
    """Apply `move.values` to every status of `move.statuses`, a chunk at a time, recording the
    history and enqueueing the messages of each chunk in its transaction. Returns (members
    moved, messages written). `move.statuses` must stop matching a row once it is moved."""
    moved = written = 0
    while True:
        with transaction.atomic():
            ids = list(
                move.statuses.select_for_update(no_key=True)
                .order_by(*move.order)
                .values_list("member_id", flat=True)[:CHUNK]
            )
            if not ids:
                break
            TierStatus.objects.filter(member_id__in=ids).update(**move.values)
            history_many(
                ids,
                from_tier=move.from_tier,
                to_tier=move.to_tier,
                kind=kind,
                reference=reference,
                at=at,
                staff_user=staff_user,
            )
            written += notify_many(ids, tier=move.to_tier, dedupe_key=dedupe_key)
        moved += len(ids)
    return moved, written


# --- Evaluation -------------------------------------------------------------------------------


@dataclass
class EvaluationSummary:
    as_of: datetime.date
    renewed: int = 0
    downgraded: int = 0
    kept_by_guarantee: int = 0
    in_grace: int = 0
    guarantees_ended: int = 0
    cycles_started: int = 0
    cycles_cleared: int = 0
    qualifying_refreshed: int = 0
    messages: int = 0
    moves: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return self.downgraded


def _downgrade_targets(tier: Tier, ladder: list[Tier], as_of: datetime.date) -> Iterator[tuple[Tier, Q]]:
    """For members of `tier` who failed its retention (and have no guarantee at `tier`
    itself): each tier they may land in, with the condition that sends them there. Yielded
    highest first; each UPDATE takes its members out of `tier`, so later conditions only see
    the rest."""
    lower = [t for t in reversed(ladder) if t.rank < tier.rank]
    if not lower:
        return
    if tier.on_failure == Tier.OnFailure.ONE_DOWN:
        # Any remaining guarantee is below `tier`, so at or below the one-down tier.
        yield lower[0], Q()
        return
    for target in lower:
        at_or_below = [t.pk for t in ladder if t.rank <= target.rank]
        supported = Q(cycle_spend__gte=tier_retention_requirement(target)) & (
            _no_active_floor(as_of) | Q(floor_tier_id__in=at_or_below)
        )
        yield target, supported | (active_floor(as_of) & Q(floor_tier=target))


def _downgrade_values(from_tier: Tier, to_tier: Tier, day_start: datetime.datetime, moment: datetime.datetime) -> dict:
    if from_tier.reset_spend_on_downgrade:
        kept = Value(ZERO, output_field=MONEY)
    else:
        kept = Least(F("qualifying_spend"), Value(to_tier.threshold, output_field=MONEY), output_field=MONEY)
    return {
        "tier": to_tier,
        "since": day_start,
        "counted_from": day_start,
        "qualifying_spend": kept,
        "carried_spend": kept,
        "updated_at": moment,
        **cycle_values(to_tier, day_start),
    }


def _refresh_rolling_window(programme: TierSettings, as_of: datetime.date) -> int:
    """Spend that left the rolling window since the last evaluation no longer counts."""
    if programme.window != TierSettings.Window.ROLLING:
        return 0
    day_start = start_of_day(as_of)
    leaving = TierSpend.objects.filter(occurred_at__lt=window_start(programme, day_start))
    if programme.last_evaluated_on is not None and programme.last_evaluated_on < as_of:
        leaving = leaving.filter(occurred_at__gte=window_start(programme, start_of_day(programme.last_evaluated_on)))
    statuses = TierStatus.objects.filter(member_id__in=leaving.values("member_id"))
    with transaction.atomic():
        return qualifying_refresh(statuses, programme, day_start)


def tiers_evaluate(*, as_of: datetime.date | None = None) -> EvaluationSummary:
    """End the retention cycles that ended before `as_of` (default: today in the programme's
    zone). For each tier with a retention rule, members whose cycle ended:
    - reached the spend: a new cycle starts the day after the old one ended;
    - did not, within the grace period: nothing yet (they may still reach it);
    - did not, after it: guaranteed at this tier by staff, a new cycle starts today; otherwise
      they drop (to the tier their cycle's spend supports, or one tier, never below a staff
      guarantee), their qualifying spend restarts (or keeps credit up to the new tier's
      threshold), the history records it and they are told.
    Also ends guarantees that ran out, starts or clears cycles of tiers whose rule was added or
    removed, and (rolling window) drops spend that left the window. A future day is refused:
    it would end cycles members may still complete."""
    today = local_today()
    as_of = as_of or today
    if as_of > today:
        raise ValidationFailed(errors={"as_of": [_("Tier cycles cannot be evaluated for a future day.")]})
    summary = EvaluationSummary(as_of=as_of)
    # Fresh reads: the job depends on `last_evaluated_on`, which it sets itself, and moves many
    # members, so it never works from a copy cached before a change.
    ladder = tiers_ladder(fresh=True)
    if not ladder:
        return summary
    programme = tier_settings_get(fresh=True)
    moment = now()
    day_start = start_of_day(as_of)
    reference = f"evaluate:{as_of.isoformat()}"

    summary.qualifying_refreshed = _refresh_rolling_window(programme, as_of)
    with transaction.atomic():
        summary.guarantees_ended = TierStatus.objects.filter(floor_until__lt=as_of).update(
            floor_tier=None, floor_until=None, updated_at=moment
        )

    for tier in reversed(ladder):
        of_tier = TierStatus.objects.filter(tier=tier)
        if not tier.has_retention:
            with transaction.atomic():
                summary.cycles_cleared += of_tier.filter(retention_deadline__isnull=False).update(
                    cycle_started_at=None, retention_deadline=None, cycle_spend=ZERO, updated_at=moment
                )
            continue
        with transaction.atomic():
            summary.cycles_started += of_tier.filter(retention_deadline__isnull=True).update(
                **cycle_values(tier, day_start), updated_at=moment
            )
        required = tier.retention_spend
        due = of_tier.filter(retention_deadline__lt=as_of)

        # Reached: the next cycle follows on from the one that ended (or starts today when the
        # evaluation did not run for a whole cycle).
        met = due.filter(cycle_spend__gte=required)
        for deadline in sorted(met.order_by().values_list("retention_deadline", flat=True).distinct()):
            start = deadline + datetime.timedelta(days=1)
            if cycle_deadline(start, tier.retention_months) < as_of:
                start = as_of
            with transaction.atomic():
                summary.renewed += met.filter(retention_deadline=deadline).update(
                    cycle_started_at=start_of_day(start),
                    retention_deadline=cycle_deadline(start, tier.retention_months),
                    cycle_spend=ZERO,
                    updated_at=moment,
                )

        failed = due.filter(cycle_spend__lt=required)
        grace_start = as_of - datetime.timedelta(days=tier.grace_days)
        summary.in_grace += failed.filter(retention_deadline__gte=grace_start).count()
        failed = failed.filter(retention_deadline__lt=grace_start)
        # Guaranteed at this tier (or above it, should ranks have been edited since): no drop,
        # a new cycle from today.
        at_or_above = [t.pk for t in ladder if t.rank >= tier.rank]
        guaranteed = active_floor(as_of) & Q(floor_tier_id__in=at_or_above)
        with transaction.atomic():
            summary.kept_by_guarantee += failed.filter(guaranteed).update(
                **cycle_values(tier, day_start), updated_at=moment
            )
        failed = failed.exclude(guaranteed)
        for target, condition in _downgrade_targets(tier, ladder, as_of):
            moved, written = _move_in_chunks(
                Move(
                    failed.filter(condition),
                    tier,
                    target,
                    _downgrade_values(tier, target, day_start, moment),
                    order=("retention_deadline", "member_id"),
                ),
                kind=TierChange.Kind.RETENTION_NOT_MET,
                reference=reference,
                dedupe_key=f"tier-evaluate:{as_of.isoformat()}:{tier.code}:{target.code}",
                at=moment,
            )
            if moved:
                summary.downgraded += moved
                summary.messages += written
                summary.moves[(tier.code, target.code)] = summary.moves.get((tier.code, target.code), 0) + moved

    if programme.last_evaluated_on is None or programme.last_evaluated_on < as_of:
        TierSettings.objects.filter(pk=programme.pk).update(last_evaluated_on=as_of)
        tiers_cache_invalidate()  # an UPDATE sends no signal
    return summary


# --- Recompute after the rules change ---------------------------------------------------------


@dataclass
class RecomputeSummary:
    """Members who would move (preview) or moved, per (from code, to code)."""

    moves: dict[tuple[str, str], int] = field(default_factory=dict)
    up: int = 0
    down: int = 0
    messages: int = 0

    @property
    def total(self) -> int:
        return self.up + self.down


def _recompute_targets(ladder: list[Tier], as_of: datetime.date) -> Iterator[tuple[Tier, Q]]:
    """Each tier with the condition that puts a member there under the current rules: the
    highest threshold their qualifying spend reaches, raised to an active staff guarantee."""
    for index, target in enumerate(ladder):
        upper = ladder[index + 1].threshold if index + 1 < len(ladder) else None
        supported = Q(qualifying_spend__gte=target.threshold) if index else Q()
        if upper is not None:
            supported &= Q(qualifying_spend__lt=upper)
        at_or_below = [t.pk for t in ladder if t.rank <= target.rank]
        guaranteed_higher_than_supported = (
            active_floor(as_of) & Q(floor_tier=target) & Q(qualifying_spend__lt=target.threshold)
        )
        yield (
            target,
            (supported & (_no_active_floor(as_of) | Q(floor_tier_id__in=at_or_below)))
            | (guaranteed_higher_than_supported),
        )


def tiers_recompute_preview() -> RecomputeSummary:
    """How many members would move up and down if every member were put in the tier the
    current thresholds give their qualifying spend (never below a staff guarantee). Members
    without a status row have no spend and stay in the entry tier."""
    ladder = tiers_ladder(fresh=True)  # run right after thresholds change: never a cached copy
    summary = RecomputeSummary()
    if not ladder:
        return summary
    as_of = local_today()
    by_pk = {t.pk: t for t in ladder}
    for target, condition in _recompute_targets(ladder, as_of):
        rows = (
            TierStatus.objects.filter(condition)
            .exclude(tier=target)
            .order_by()
            .values_list("tier_id")
            .annotate(n=Count("pk"))
        )
        for tier_id, count in rows:
            source = by_pk[tier_id]
            summary.moves[(source.code, target.code)] = count
            if target.rank > source.rank:
                summary.up += count
            else:
                summary.down += count
    return summary


def tiers_recompute(*, staff_user=None) -> RecomputeSummary:
    """Put every member in the tier the current rules give (see `tiers_recompute_preview`).
    Each member who moves starts the new tier's retention cycle today, keeps their qualifying
    spend, gets a history entry (reason: recompute) and is told."""
    ladder = tiers_ladder(fresh=True)  # run right after thresholds change: never a cached copy
    summary = RecomputeSummary()
    if not ladder:
        return summary
    as_of = local_today()
    moment = now()
    day_start = start_of_day(as_of)
    for target, condition in _recompute_targets(ladder, as_of):
        for source in ladder:
            if source.pk == target.pk:
                continue
            moved, written = _move_in_chunks(
                Move(
                    TierStatus.objects.filter(condition, tier=source),
                    source,
                    target,
                    {"tier": target, "since": moment, "updated_at": moment, **cycle_values(target, day_start)},
                ),
                kind=TierChange.Kind.RECOMPUTE,
                reference=f"recompute:{moment.isoformat()}",
                dedupe_key=f"tier-recompute:{moment.isoformat()}:{target.code}",
                at=moment,
                staff_user=staff_user,
            )
            if moved:
                summary.moves[(source.code, target.code)] = moved
                summary.messages += written
                if target.rank > source.rank:
                    summary.up += moved
                else:
                    summary.down += moved
    return summary


__all__ = [
    "EvaluationSummary",
    "RecomputeSummary",
    "tiers_evaluate",
    "tiers_recompute",
    "tiers_recompute_preview",
]
