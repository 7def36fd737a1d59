"""Drop the cached stamp cards (`campaigns.stamps.selectors`) whatever wrote them: the admin, the
services, the demo loader, a shell (not domain flow: architecture.md)."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from campaigns.stamps.models import StampCard
from campaigns.stamps.selectors import STAMP_CARDS_CACHE_KEY
from loyalty_site.core.config_cache import config_cache_invalidate


def _cards_changed(sender, **kwargs) -> None:
    config_cache_invalidate(STAMP_CARDS_CACHE_KEY)


def connect() -> None:
    """Called once, from `CampaignsConfig.ready`."""
    post_save.connect(_cards_changed, sender=StampCard, dispatch_uid="stamp-cards-saved")
    post_delete.connect(_cards_changed, sender=StampCard, dispatch_uid="stamp-cards-deleted")
