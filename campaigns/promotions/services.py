"""Recording what promotions a sale used, and releasing it on a full refund. The checkout calls
these inside the sale's (or the refund's) transaction, after locking the member's row, so two
sales of one member cannot both use the last trigger of a limited promotion."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.promotions.models import Promotion, PromotionApplication
from campaigns.promotions.selectors import AppliedPromotion, promotion_rules_cache_invalidate
from loyalty_site.core.errors import ValidationFailed, clean_or_refuse
from loyalty_site.core.money import ZERO
from members.models import Member
from stores.models import Store


def _row(item, *, member, store, sale_reference, at) -> PromotionApplication:
    if isinstance(item, AppliedPromotion):
        return PromotionApplication(
            promotion_id=item.promotion_id,
            member=member,
            store=store,
            sale_reference=sale_reference,
            at=at,
            discount=item.discount,
            multiplier=item.multiplier,
            bonus_points=item.bonus_points,
        )
    promotion_id = item.pk if isinstance(item, Promotion) else int(item)
    return PromotionApplication(
        promotion_id=promotion_id, member=member, store=store, sale_reference=sale_reference, at=at, discount=ZERO
    )


def promotion_applications_record(
    *,
    promotions: Iterable[AppliedPromotion | Promotion | int],
    member: Member | None,
    sale_reference: str,
    at: datetime.datetime,
    store: Store | None = None,
) -> QuerySet[PromotionApplication]:
    """Record that a sale (`sale_reference`, made at `at`) used these promotions: pass
    `PromotionResult.applied` (the amounts are kept for reports), or promotions / ids.
    Idempotent: recording the same sale again adds nothing (unique on promotion and sale).
    Returns the sale's applications as a queryset, read only if the caller looks (the checkout
    does not). One INSERT, atomic by itself: no savepoint inside the caller's transaction."""
    sale_reference = (sale_reference or "").strip()
    errors = {}
    if not sale_reference:
        errors["sale_reference"] = [_("A sale reference is required.")]
    if at is None or timezone.is_naive(at):
        errors["at"] = [_("Give the time with its time zone.")]
    if errors:
        raise ValidationFailed(errors=errors)
    rows = [_row(item, member=member, store=store, sale_reference=sale_reference, at=at) for item in promotions]
    if not rows:
        return PromotionApplication.objects.none()
    PromotionApplication.objects.bulk_create(rows, ignore_conflicts=True)
    return PromotionApplication.objects.filter(
        sale_reference=sale_reference, promotion_id__in=[row.promotion_id for row in rows]
    ).order_by("pk")


def promotion_applications_reverse(
    *, sale_reference: str, at: datetime.datetime | None = None, reference: str = ""
) -> int:
    """A full refund of the sale: its applications stop counting against per-member limits.
    Idempotent (already reversed ones are left as they are); returns how many were reversed now.
    A partial refund should not call this: the member still had the benefit."""
    sale_reference = (sale_reference or "").strip()
    if not sale_reference:
        raise ValidationFailed(errors={"sale_reference": [_("A sale reference is required.")]})
    return PromotionApplication.objects.filter(sale_reference=sale_reference, reversed_at__isnull=True).update(
        reversed_at=at or timezone.now(), reversal_reference=(reference or "")[:100]
    )


def promotion_save(*, promotion: Promotion, by=None) -> Promotion:
    """Create or change a promotion (its fields already set; the admin then saves its stores,
    brands and tiers). Refusals write nothing."""
    if promotion.pk is None and by is not None:
        promotion.created_by = by
    clean_or_refuse(promotion)
    promotion.save()
    # The signal receivers do it too (and for the links the admin saves next); said here so the
    # service does not depend on them.
    promotion_rules_cache_invalidate()
    return promotion


def promotions_set_active(*, promotions: Iterable[Promotion], active: bool) -> int:
    """Switch promotions on or off; returns how many changed."""
    ids = [p.pk for p in promotions]
    with transaction.atomic():
        changed = (
            Promotion.objects.filter(pk__in=ids)
            .exclude(is_active=active)
            .update(is_active=active, updated_at=timezone.now())
        )
        if changed:
            promotion_rules_cache_invalidate()  # an UPDATE sends no signal
    return changed
