"""Signal receivers that keep the cached sale limits (`pos.checkout.limits`) honest.

Not domain flow (architecture.md: no signals for that): they only drop a cached copy, whoever
saved the rows (the admin, fixtures, a shell)."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from pos.checkout.limits import sale_limits_cache_invalidate
from pos.models import SaleLimits, StoreSaleLimits


@receiver(post_save, sender=SaleLimits, dispatch_uid="pos-sale-limits-saved")
@receiver(post_delete, sender=SaleLimits, dispatch_uid="pos-sale-limits-deleted")
@receiver(post_save, sender=StoreSaleLimits, dispatch_uid="pos-store-sale-limits-saved")
@receiver(post_delete, sender=StoreSaleLimits, dispatch_uid="pos-store-sale-limits-deleted")
def _limits_changed(sender, **kwargs) -> None:
    sale_limits_cache_invalidate()
