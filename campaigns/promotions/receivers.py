"""Signal receivers that keep the cached promotion rules (`campaigns.promotions.selectors`)
honest.

Not domain flow (architecture.md: no signals for that): they only drop a cached copy, whatever
wrote the rows: the admin (which saves a promotion's stores, brands and tiers after the
promotion itself), the services, fixtures, the demo loader, a shell.

Django sends no post_save / post_delete for the rows of an automatic many-to-many table, so the
links are watched through `m2m_changed` (add, remove, clear, set), and through the deletion of
a store, a brand or a tier, which deletes its links silently: a promotion that loses its only
tier applies to every tier. Writing the link tables directly
(`Promotion.stores.through.objects...`) is not seen: call `promotion_rules_cache_invalidate`."""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save

from campaigns.promotions.models import Promotion
from campaigns.promotions.selectors import promotion_rules_cache_invalidate

LINKS = ("stores", "brands", "tiers", "groups", "segments")


def _promotions_changed(sender, **kwargs) -> None:
    promotion_rules_cache_invalidate()


def _links_changed(sender, action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        promotion_rules_cache_invalidate()


def connect() -> None:
    """Called once, from `CampaignsConfig.ready`."""
    post_save.connect(_promotions_changed, sender=Promotion, dispatch_uid="promotion-rules-promotion-saved")
    post_delete.connect(_promotions_changed, sender=Promotion, dispatch_uid="promotion-rules-promotion-deleted")
    for name in LINKS:
        field = Promotion._meta.get_field(name)
        m2m_changed.connect(_links_changed, sender=field.remote_field.through, dispatch_uid=f"promotion-rules-{name}")
        post_delete.connect(
            _promotions_changed, sender=field.related_model, dispatch_uid=f"promotion-rules-{name}-deleted"
        )
