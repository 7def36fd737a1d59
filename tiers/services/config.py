"""The tier ladder and the programme's tier settings, as marketing edits them."""

from __future__ import annotations

import itertools
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from loyalty_site.core.errors import clean_or_refuse
from tiers.errors import TierConfigInvalid, TierInUse
from tiers.models import Tier, TierSettings, TierStatus
from tiers.selectors import tiers_cache_invalidate
from tiers.services.common import now, qualifying_refresh

SETTINGS_FIELDS = frozenset({"basis", "window", "window_months"})
# Changing one of these changes what the stored counters mean: they are rebuilt from the
# recorded events in the same transaction.
COUNTER_FIELDS = frozenset({"basis", "window", "window_months"})


def tier_ladder_errors(tier: Tier, *, deleting: bool = False) -> dict[str, list[str]]:
    """What would be wrong with the ladder if `tier` were saved as it is (or deleted), keyed by
    the field of `tier` to blame ("__all__" for the ladder as a whole). Empty when it is fine.

    The rules: at least one tier; the entry tier (lowest rank) has threshold 0 and no retention
    rule; every higher rank has a strictly higher threshold; a retention rule gives both the
    spend and the period."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    others = [t for t in Tier.objects.order_by("rank") if tier.pk is None or t.pk != tier.pk]
    ladder = sorted(others if deleting else [*others, tier], key=lambda t: t.rank if t.rank is not None else -1)
    if not ladder:
        add("__all__", _("The programme needs at least one tier: the entry tier."))
        return errors
    if (tier.retention_spend is None) != (tier.retention_months is None) and not deleting:
        add("retention_months", _("Give both the spend to keep the tier and its period, or neither."))
    entry = ladder[0]
    blame_entry = "__all__" if deleting or entry is not tier else None
    if entry.threshold != 0:
        add(
            blame_entry or "threshold",
            _("The entry tier %(code)s (the lowest rank) must have a threshold of 0.") % {"code": entry.code},
        )
    if entry.retention_spend is not None or entry.retention_months is not None:
        add(
            blame_entry or "retention_spend",
            _("The entry tier %(code)s cannot have a retention rule: there is no lower tier.") % {"code": entry.code},
        )
    for lower, higher in itertools.pairwise(ladder):
        if higher.threshold is None or lower.threshold is None:
            continue
        if higher.threshold <= lower.threshold:
            field = "threshold" if not deleting and tier in (lower, higher) else "__all__"
            add(
                field,
                _(
                    "%(higher)s (rank %(higher_rank)s) must have a higher threshold than "
                    "%(lower)s (rank %(lower_rank)s)."
                )
                % {
                    "higher": higher.code,
                    "higher_rank": higher.rank,
                    "lower": lower.code,
                    "lower_rank": lower.rank,
                },
            )
    return errors


def tier_save(*, tier: Tier) -> Tier:
    """Create or change a tier. Refused, with nothing written, when a field is invalid
    (ValidationFailed) or the ladder would be (TierConfigInvalid). Members keep their tier:
    run the recompute (with its preview) to apply new thresholds to everyone."""
    with transaction.atomic():
        # One editor of the ladder at a time: two saves checked against the same old ladder
        # could together break it.
        list(Tier.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        clean_or_refuse(tier)
        errors = tier_ladder_errors(tier)
        if errors:
            raise TierConfigInvalid(errors=errors)
        tier.save()
        # Every sale reads the cached ladder: drop it now and again when this commits.
        tiers_cache_invalidate()
    return tier


def tier_delete(*, tier: Tier) -> None:
    """Delete a tier nobody is in and nothing refers to; refused if the ladder would be left
    without a valid entry tier."""
    with transaction.atomic():
        list(Tier.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        errors = tier_ladder_errors(tier, deleting=True)
        if errors:
            raise TierConfigInvalid(errors=errors)
        if TierStatus.objects.filter(tier=tier).exists():
            raise TierInUse(_("Members are in tier %(code)s: move them first.") % {"code": tier.code})
        try:
            with transaction.atomic():
                tier.delete()
            tiers_cache_invalidate()
        except ProtectedError:
            raise TierInUse(
                _("Tier %(code)s is referred to by the tier history or a guarantee; it cannot be deleted.")
                % {"code": tier.code}
            ) from None


def tier_settings_update(*, data: dict[str, Any], updated_by=None) -> TierSettings:
    """Change what thresholds count and over which period. When that changes, every member's
    qualifying spend is rebuilt from the recorded sales and refunds in the same transaction
    (one set-based UPDATE); tiers do not move until the recompute is run."""
    unknown = set(data) - SETTINGS_FIELDS
    if unknown:
        raise ValueError(f"not tier settings: {sorted(unknown)}")
    with transaction.atomic():
        programme, _created = TierSettings.objects.select_for_update().get_or_create(pk=TierSettings.SINGLETON_PK)
        before = {name: getattr(programme, name) for name in COUNTER_FIELDS}
        for name, value in data.items():
            setattr(programme, name, value)
        programme.updated_by = updated_by
        clean_or_refuse(programme)
        programme.save()
        tiers_cache_invalidate()
        if any(getattr(programme, name) != value for name, value in before.items()):
            qualifying_refresh(TierStatus.objects.all(), programme, now())
    return programme
