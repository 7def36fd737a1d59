"""Which lines of a cart earn store credit, and at which percent: the one read the POS quote and
the sale share. Nothing here writes. From the cache: no query once cached (a sale at a brand
with no rule costs nothing)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from campaigns.credit.models import StoreCreditRule
from loyalty_site.core.cart import Cart, CartLine
from loyalty_site.core.config_cache import config_cache_invalidate, config_cached
from stores.models import Store

STORE_CREDIT_RULES_CACHE_KEY = "campaigns:store-credit-rules:v1"
STORE_CREDIT_RULES_CACHE_SECONDS = 60


@dataclass(frozen=True)
class _Rule:
    code: str
    percent: Decimal
    brand_ids: frozenset[int]
    store_ids: frozenset[int]
    full_price_only: bool
    included: frozenset[str]
    excluded: frozenset[str]
    valid_from: datetime.date | None
    valid_until: datetime.date | None

    def in_force(self, store: Store, day: datetime.date) -> bool:
        if self.store_ids and store.pk not in self.store_ids:
            return False
        if self.brand_ids and store.brand_id not in self.brand_ids:
            return False
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or self.valid_until >= day
        )

    def matches(self, line: CartLine, *, discounted: bool) -> bool:
        if self.full_price_only and discounted:
            return False
        if self.included and line.category not in self.included:
            return False
        return line.category not in self.excluded


@dataclass(frozen=True)
class CreditLine:
    """A line that earns store credit: its percent and the rule that gave it."""

    percent: Decimal
    rule: str


def _load() -> tuple[_Rule, ...]:
    rules = list(StoreCreditRule.objects.filter(is_active=True).order_by("code"))
    if not rules:
        return ()
    ids = [rule.pk for rule in rules]
    brands: dict[int, set[int]] = {}
    for rule_id, brand_id in StoreCreditRule.brands.through.objects.filter(storecreditrule_id__in=ids).values_list(
        "storecreditrule_id", "brand_id"
    ):
        brands.setdefault(rule_id, set()).add(brand_id)
    stores: dict[int, set[int]] = {}
    for rule_id, store_id in StoreCreditRule.stores.through.objects.filter(storecreditrule_id__in=ids).values_list(
        "storecreditrule_id", "store_id"
    ):
        stores.setdefault(rule_id, set()).add(store_id)
    return tuple(
        _Rule(
            code=rule.code,
            percent=rule.percent,
            brand_ids=frozenset(brands.get(rule.pk, ())),
            store_ids=frozenset(stores.get(rule.pk, ())),
            full_price_only=rule.full_price_only,
            included=rule.included,
            excluded=rule.excluded,
            valid_from=rule.valid_from,
            valid_until=rule.valid_until,
        )
        for rule in rules
    )


def store_credit_rules_cache_invalidate() -> None:
    """Whoever changes a rule or its brands and stores calls it in the same transaction (the
    receivers of `campaigns.credit.receivers` do for every save)."""
    config_cache_invalidate(STORE_CREDIT_RULES_CACHE_KEY)


def store_credit_plan(*, priced_cart: Cart, store: Store, at: datetime.datetime) -> dict[int, CreditLine]:
    """The lines of `priced_cart` (the cart after the promotions' line discounts) that earn store
    credit at `store` at `at` (aware), by line index: the highest percent of the rules in force
    that match the line. A line is discounted when a promotion took something off it."""
    if at.tzinfo is None:
        raise ValueError("`at` must be an aware datetime")
    cached = config_cached(STORE_CREDIT_RULES_CACHE_KEY, _load, timeout=STORE_CREDIT_RULES_CACHE_SECONDS)
    if not cached or not priced_cart.lines:
        return {}
    day = at.astimezone(store.zone).date()
    rules = [rule for rule in cached if rule.in_force(store, day)]
    if not rules:
        return {}
    plan: dict[int, CreditLine] = {}
    for line in priced_cart.lines:
        discounted = priced_cart.line_discounts.get(line.index, 0) > 0
        matching = [rule for rule in rules if rule.matches(line, discounted=discounted)]
        if matching:
            best = max(matching, key=lambda rule: rule.percent)  # ties: the first by code
            plan[line.index] = CreditLine(percent=best.percent, rule=best.code)
    return plan
