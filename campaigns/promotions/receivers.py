"""Signal receivers that keep the cached promotion rules (`campaigns.promotions.selectors`)
honest.

Not domain flow (architecture.md: no signals for that): they only drop a cached copy, whatever
wrote the rows: the admin (which saves a promotion's stores, brands and tiers after the
promotion itself), the services, fixtures, the demo loader, a shell.

Django sends no post_save / post_delete for the rows of an automatic many-to-many table, so the
links are watched through `m2m_changed` (add, remove, clear, set), and through the deletion of
a store, a brand or a tier, which deletes its links silently: a promotion that loses its only
tier applies to every tier. A holiday or a date schedule saved moves the dates of the promotions that follow it.
Writing the link tables directly
(`Promotion.stores.through.objects...`) is not seen: call `promotion_rules_cache_invalidate`."""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save

from campaigns.calendar.models import DateSchedule, Holiday
from campaigns.promotions.earn import earn_rules_cache_invalidate
from campaigns.promotions.models import EarnRule, Promotion
from campaigns.promotions.selectors import promotion_rules_cache_invalidate

LINKS = ("stores", "brands", "tiers", "groups", "segments")


def _promotions_changed(sender, **kwargs) -> None:
    promotion_rules_cache_invalidate()


def _links_changed(sender, action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        promotion_rules_cache_invalidate()


def _earn_rules_changed(sender, **kwargs) -> None:
    earn_rules_cache_invalidate()


def _earn_rule_links_changed(sender, action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        earn_rules_cache_invalidate()


def connect() -> None:
    """Called once, from `CampaignsConfig.ready`."""
    post_save.connect(_promotions_changed, sender=Promotion, dispatch_uid="promotion-rules-promotion-saved")
    post_delete.connect(_promotions_changed, sender=Promotion, dispatch_uid="promotion-rules-promotion-deleted")
    # A promotion on a date schedule keeps the schedule's resolved dates in the cached rules.
    for model in (Holiday, DateSchedule):
        name = model._meta.model_name
        post_save.connect(_promotions_changed, sender=model, dispatch_uid=f"promotion-rules-{name}-saved")
        post_delete.connect(_promotions_changed, sender=model, dispatch_uid=f"promotion-rules-{name}-deleted")
    for name in LINKS:
        field = Promotion._meta.get_field(name)
        m2m_changed.connect(_links_changed, sender=field.remote_field.through, dispatch_uid=f"promotion-rules-{name}")
        post_delete.connect(
            _promotions_changed, sender=field.related_model, dispatch_uid=f"promotion-rules-{name}-deleted"
        )
    # The earn rules (`campaigns.promotions.earn`): the rule, its brands, a brand deleted.
    post_save.connect(_earn_rules_changed, sender=EarnRule, dispatch_uid="earn-rules-saved")
    post_delete.connect(_earn_rules_changed, sender=EarnRule, dispatch_uid="earn-rules-deleted")
    brands = EarnRule._meta.get_field("brands")
    m2m_changed.connect(_earn_rule_links_changed, sender=brands.remote_field.through, dispatch_uid="earn-rules-brands")
    post_delete.connect(_earn_rules_changed, sender=brands.related_model, dispatch_uid="earn-rules-brand-deleted")
