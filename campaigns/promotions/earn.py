"""Which lines of a cart earn differently (the earn rules of `EarnRule`): the one read the POS
quote and the sale share. Nothing here writes.

Per line, in the store's local date:
- a line matched by an active `exclude` rule earns nothing (no points, no bonus, no tier spend);
- otherwise a `rate` rule replaces the tier's earn rate for the line (promotion multipliers
  still apply to it); a rule naming the line's SKU wins over one naming its category, then the
  first by code;
- a `bonus` rule adds its points for each item of the line (the largest one when several
  match); bonus points are not multiplied.
A rule with brands applies only in their stores; its dates are store-local days, both ends
included."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from campaigns.promotions.models import EarnRule
from loyalty_site.core.cart import Cart, CartLine
from loyalty_site.core.config_cache import config_cache_invalidate, config_cached
from stores.models import Store

EARN_RULES_CACHE_KEY = "campaigns:earn-rules:v1"
EARN_RULES_CACHE_SECONDS = 60


@dataclass(frozen=True)
class LineEarning:
    """How one line earns when a rule touches it. `rate_percent` None: the tier's rate."""

    excluded: bool = False
    rate_percent: Decimal | None = None
    bonus_points: int = 0
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class EarnPlan:
    """The lines some rule touches, by line index; a line not listed earns at the tier's rate."""

    lines: dict[int, LineEarning] = field(default_factory=dict)

    def line(self, index: int) -> LineEarning | None:
        return self.lines.get(index)


NO_RULES = EarnPlan()

_Cached = tuple[tuple[EarnRule, frozenset[int]], ...]


def _load() -> _Cached:
    rules = list(EarnRule.objects.filter(is_active=True).order_by("code"))
    if not rules:
        return ()
    brands: dict[int, set[int]] = {}
    for rule_id, brand_id in EarnRule.brands.through.objects.filter(earnrule_id__in=[r.pk for r in rules]).values_list(
        "earnrule_id", "brand_id"
    ):
        brands.setdefault(rule_id, set()).add(brand_id)
    return tuple((rule, frozenset(brands.get(rule.pk, ()))) for rule in rules)


def earn_rules_cache_invalidate() -> None:
    """Whoever changes an earn rule or its brands calls it in the same transaction (the receivers
    of `campaigns.promotions.receivers` do for every save)."""
    config_cache_invalidate(EARN_RULES_CACHE_KEY)


def _in_force(rule: EarnRule, brand_ids: frozenset[int], store: Store, day: datetime.date) -> bool:
    if brand_ids and store.brand_id not in brand_ids:
        return False
    return (rule.valid_from is None or rule.valid_from <= day) and (rule.valid_until is None or rule.valid_until >= day)


def _matches(rule: EarnRule, line: CartLine) -> bool:
    return line.sku in rule.sku_set or (bool(line.category) and line.category in rule.category_set)


def _line_earning(rules: list[EarnRule], line: CartLine) -> LineEarning | None:
    matching = [r for r in rules if _matches(r, line)]
    if not matching:
        return None
    excluded = [r for r in matching if r.kind == EarnRule.Kind.EXCLUDE]
    if excluded:
        return LineEarning(excluded=True, rules=(excluded[0].code,))
    used: list[str] = []
    rate = None
    rates = [r for r in matching if r.kind == EarnRule.Kind.RATE]
    if rates:
        chosen = min(rates, key=lambda r: (line.sku not in r.sku_set, r.code))
        rate = chosen.rate_percent
        used.append(chosen.code)
    bonus = 0
    bonuses = [r for r in matching if r.kind == EarnRule.Kind.BONUS]
    if bonuses:
        chosen = min(bonuses, key=lambda r: (-r.bonus_points, r.code))
        bonus = chosen.bonus_points * line.quantity
        used.append(chosen.code)
    return LineEarning(rate_percent=rate, bonus_points=bonus, rules=tuple(used))


def earn_rules_applicable(*, cart: Cart, store: Store, at: datetime.datetime) -> EarnPlan:
    """How the lines of `cart` sold at `store` at `at` (aware) earn under the active earn rules.
    From the cache: no query once cached."""
    if at.tzinfo is None:
        raise ValueError("`at` must be an aware datetime")
    cached = config_cached(EARN_RULES_CACHE_KEY, _load, timeout=EARN_RULES_CACHE_SECONDS)
    if not cached or not cart.lines:
        return NO_RULES
    day = at.astimezone(store.zone).date()
    rules = [rule for rule, brand_ids in cached if _in_force(rule, brand_ids, store, day)]
    if not rules:
        return NO_RULES
    lines = {}
    for line in cart.lines:
        earning = _line_earning(rules, line)
        if earning is not None:
            lines[line.index] = earning
    return EarnPlan(lines=lines) if lines else NO_RULES
