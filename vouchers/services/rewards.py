"""Writing the catalogue: the admin saves rewards through here so that an edit never writes back
a stale issued count (the counter moves with F() while exchanges run)."""

from __future__ import annotations

from django.db import transaction

from loyalty_site.core.errors import clean_or_refuse
from vouchers.models import Reward

# Written only by the issuing services.
_COUNTERS = frozenset({"issued_count"})


def reward_save(*, reward: Reward) -> Reward:
    """Create or update `reward` (its many-to-many brands and stores are saved by the caller,
    e.g. the admin form, afterwards). On update the row is locked and the issued count re-read,
    so the stock check sees the real count and the save never overwrites it."""
    with transaction.atomic():
        if reward.pk is not None and not reward._state.adding:
            current = Reward.objects.select_for_update(no_key=True).get(pk=reward.pk)
            reward.issued_count = current.issued_count
        clean_or_refuse(reward)
        if reward._state.adding:
            reward.issued_count = 0
            reward.save(force_insert=True)
        else:
            fields = [
                f.name
                for f in Reward._meta.concrete_fields
                if not f.primary_key and f.name not in _COUNTERS and f.name != "created_at"
            ]
            reward.save(update_fields=fields)
    return reward
