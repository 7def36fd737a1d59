"""Every write of the tiers app. Import from here: `from tiers.services import tier_spend_record`.

The API for other apps (all keyword-only, each owning its transaction and nesting in the
caller's):

    tier_spend_record(*, member, amount, reference, occurred_at=None, points=None,
                      lock=None) -> TierOutcome
    with tier_status_lock(*, member) as lock: StatusLock   (the checkout: lock, price, then
                      record with `lock.vouching_new(sale reference)`)
    tier_spend_reverse(*, member, amount, reference, original_reference, full, points=None) -> TierOutcome
    tier_set(*, member, tier, reason, staff_user, floor_until=None) -> TierChange
    tiers_evaluate(*, as_of=None) -> EvaluationSummary
    tiers_recompute_preview() -> RecomputeSummary
    tiers_recompute(*, staff_user=None) -> RecomputeSummary

The reads (`member_tier`, `tier_earn_rate`, `entry_tier`, `tier_voucher_points_cost`,
`member_tier_explain`...) are in `tiers.selectors`."""

from tiers.services.config import (
    tier_delete,
    tier_ladder_errors,
    tier_save,
    tier_settings_update,
)
from tiers.services.cycles import (
    EvaluationSummary,
    RecomputeSummary,
    tiers_evaluate,
    tiers_recompute,
    tiers_recompute_preview,
)
from tiers.services.spend import StatusLock, TierOutcome, tier_spend_record, tier_spend_reverse, tier_status_lock
from tiers.services.staff import tier_set

__all__ = [
    "EvaluationSummary",
    "RecomputeSummary",
    "StatusLock",
    "TierOutcome",
    "tier_delete",
    "tier_ladder_errors",
    "tier_save",
    "tier_set",
    "tier_settings_update",
    "tier_spend_record",
    "tier_spend_reverse",
    "tier_status_lock",
    "tiers_evaluate",
    "tiers_recompute",
    "tiers_recompute_preview",
]
