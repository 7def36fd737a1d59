"""Signal receivers that keep the cached ladder and tier settings (`tiers.selectors`) honest.

Not domain flow (architecture.md: no signals for that): they only drop a cached copy. The
services that change tiers and settings invalidate it themselves; these receivers catch every
other write of the rows (the admin's plain ModelAdmin saves, fixtures, the demo loader, a shell)
and the deletion of a tier."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tiers.models import Tier, TierSettings
from tiers.selectors import tiers_cache_invalidate


@receiver(post_save, sender=Tier, dispatch_uid="tiers-cache-tier-saved")
@receiver(post_delete, sender=Tier, dispatch_uid="tiers-cache-tier-deleted")
@receiver(post_save, sender=TierSettings, dispatch_uid="tiers-cache-settings-saved")
@receiver(post_delete, sender=TierSettings, dispatch_uid="tiers-cache-settings-deleted")
def _tiers_changed(sender, **kwargs) -> None:
    tiers_cache_invalidate()
