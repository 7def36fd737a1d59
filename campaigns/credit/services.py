"""Writes of the store-credit rules (the admin and the demo loader call them)."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from campaigns.credit.models import StoreCreditRule
from campaigns.credit.selectors import store_credit_rules_cache_invalidate
from loyalty_site.core.errors import ValidationFailed
from stores.models import Brand, Store


def store_credit_rule_save(
    *, rule: StoreCreditRule, brands: Iterable[Brand] | None = None, stores: Iterable[Store] | None = None
) -> StoreCreditRule:
    """Validate and save `rule` (and, when given, its brands and stores); the cached rules are
    dropped in the same transaction."""
    try:
        rule.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(errors=exc.message_dict) from exc
    with transaction.atomic():
        rule.save()
        if brands is not None:
            rule.brands.set(brands)
        if stores is not None:
            rule.stores.set(stores)
        store_credit_rules_cache_invalidate()
    return rule
