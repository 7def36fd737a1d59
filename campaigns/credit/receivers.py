"""Drop the cached store-credit rules (`campaigns.credit.selectors`) whatever wrote them: the
admin, the demo loader, a shell (not domain flow: architecture.md)."""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save

from campaigns.credit.models import StoreCreditRule
from campaigns.credit.selectors import store_credit_rules_cache_invalidate


def _rules_changed(sender, **kwargs) -> None:
    store_credit_rules_cache_invalidate()


def connect() -> None:
    """Called once, from `CampaignsConfig.ready`."""
    post_save.connect(_rules_changed, sender=StoreCreditRule, dispatch_uid="store-credit-rules-saved")
    post_delete.connect(_rules_changed, sender=StoreCreditRule, dispatch_uid="store-credit-rules-deleted")
    for through in (StoreCreditRule.brands.through, StoreCreditRule.stores.through):
        m2m_changed.connect(_rules_changed, sender=through, dispatch_uid=f"store-credit-rules-{through.__name__}")
