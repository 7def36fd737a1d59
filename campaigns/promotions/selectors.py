"""What promotions give to a cart: the one pricing read the POS quote and the sale share, so the
two can never disagree. Nothing here writes.

Rules, in the store's local time zone:
- validity dates, weekdays and the time window are read on the store's local clock; a window
  that ends before it starts (22:00 to 02:00) crosses midnight, and its hours after midnight
  belong to the day it opened (for the weekday and the validity dates);
- stores and brands: the store is listed, or its brand is (none of either: every store);
- member conditions (tiers, customer groups and segments, birthday, members only, a per-member
  limit) and every point effect
  (multiplier, bonus) need an identified member; an anonymous sale gets only the discounts
  without them;
- groups and segments: the member is in one of the promotion's groups, or in one of its
  segments as the segment's last refresh stored it (`campaigns.audiences.refresh`); the sale
  never evaluates a segment's rules. Tiers are a separate condition (both must hold);
- the minimum spend is compared with the cart's subtotal before any discount;
- a per-member limit counts the recorded, not reversed applications of the promotion to the
  member in the store-local day or month of the sale (or ever).

How promotions combine (one rule per effect, `stackable` decides):
- multipliers: of the non-stackable ones, the highest wins (they never multiply together);
  stackable ones multiply with it: x2 stackable with a winning x3 gives x6;
- bonus points: the highest non-stackable one, plus every stackable one;
- discounts: of the non-stackable ones, only one applies: the highest priority, then the largest
  amount, then the code; stackable ones apply too. Line discounts come first (higher priority
  first), then invoice discounts on what the lines still cost. Each amount is rounded to whole
  dong (half-up) and never takes a line or the invoice below zero."""

from __future__ import annotations

import copy
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.audiences.membership import member_audiences
from campaigns.calendar.selectors import DateRange, calendar_today, schedule_ranges
from campaigns.promotions.models import Promotion, PromotionApplication
from loyalty_site.core.cart import Cart, CartLine
from loyalty_site.core.config_cache import config_cache_invalidate, config_cached
from loyalty_site.core.money import ZERO, clamp_discount, percent_of, quantize_money
from members.models import Member
from stores.models import Store
from tiers.models import Tier
from tiers.selectors import member_tier

ONE = Decimal(1)
Kind = Promotion.Kind


@dataclass(frozen=True)
class AppliedPromotion:
    """One promotion that applies, with what it gives. `discount` is its total money off
    (`line_discounts` + `invoice_discount`)."""

    promotion_id: int
    code: str
    name: str
    kind: str
    description: str
    stackable: bool
    discount: Decimal = ZERO
    line_discounts: dict[int, Decimal] = field(default_factory=dict)
    invoice_discount: Decimal = ZERO
    multiplier: Decimal | None = None
    bonus_points: int = 0


@dataclass(frozen=True)
class PromotionResult:
    """Everything the promotions give to one cart.

    - `line_discounts`: money off per line index (all promotions together), never more than the
      line still cost;
    - `invoice_discount`: money off the invoice after the line discounts;
    - `multiplier`: the effective earn multiplier (1 when none applies);
    - `bonus_points`: points added to the sale;
    - `applied`: the promotions that gave something, in the order they were applied."""

    line_discounts: dict[int, Decimal]
    invoice_discount: Decimal
    multiplier: Decimal
    bonus_points: int
    applied: tuple[AppliedPromotion, ...]

    @property
    def discount_total(self) -> Decimal:
        return sum(self.line_discounts.values(), ZERO) + self.invoice_discount

    @property
    def invoice_discounts(self) -> list[tuple[str, Decimal]]:
        """(promotion code, amount) of each invoice-level discount."""
        return [(a.code, a.invoice_discount) for a in self.applied if a.invoice_discount > 0]

    def cart_after_lines(self, cart: Cart) -> Cart:
        """`cart` with the promotions' line discounts added to what it already carried: the cart
        the next pricing step (the tier's standing discount) works on."""
        merged = dict(cart.line_discounts)
        for index, amount in self.line_discounts.items():
            merged[index] = merged.get(index, ZERO) + amount
        return Cart(lines=cart.lines, line_discounts=merged)


EMPTY_RESULT = PromotionResult(line_discounts={}, invoice_discount=ZERO, multiplier=ONE, bonus_points=0, applied=())


# --- Loading ----------------------------------------------------------------------------------


@dataclass
class _Rule:
    promotion: Promotion
    store_ids: set[int]
    brand_ids: set[int]
    tier_ids: set[int]
    date_ranges: tuple[DateRange, ...] = ()
    group_ids: set[int] = field(default_factory=set)
    segment_ids: set[int] = field(default_factory=set)

    @property
    def targets_audience(self) -> bool:
        return bool(self.group_ids or self.segment_ids)

    @property
    def needs_member(self) -> bool:
        p = self.promotion
        return bool(
            p.members_only
            or p.kind in Promotion.POINT_KINDS
            or p.birthday
            or p.limit_count
            or self.tier_ids
            or self.targets_audience
        )


# Every active promotion with its store, brand and tier ids and, for one on a date schedule, the
# schedule's solar date ranges around this year (resolved by the lunar calendar as the rules are
# loaded): the static part of the rules, read by every sale and changed a few times a month. Per-member limits are
# counted per sale (`_over_limit`), never cached.
PROMOTION_RULES_CACHE_KEY = "campaigns:promotion-rules:v2"
# The safety net behind the explicit invalidation (`promotion_rules_cache_invalidate`), as for
# the programme settings.
PROMOTION_RULES_CACHE_SECONDS = 60

_LINKS = (
    ("stores", "store_id"),
    ("brands", "brand_id"),
    ("tiers", "tier_id"),
    ("groups", "customergroup_id"),
    ("segments", "segment_id"),
)
_CachedRule = tuple[
    Promotion, frozenset[int], frozenset[int], frozenset[int], frozenset[int], frozenset[int], tuple[DateRange, ...]
]
# The years whose schedule ranges are kept with the rules: enough for a sale back-dated across New
# Year and for a range of last year's Tết still running in January.
SCHEDULE_YEARS_AROUND = 1


def _date_ranges(promotion: Promotion, years: range) -> tuple[DateRange, ...]:
    if promotion.date_schedule_id is None:
        return ()
    return tuple(schedule_ranges(promotion.date_schedule, years))


def _active_rules_load() -> tuple[_CachedRule, ...]:
    """Every active promotion with its store, brand, tier, group and segment ids and its schedule's
    date ranges: six small queries, once per cache period (the schedule and its holiday come joined
    to the promotions)."""
    promotions = list(
        Promotion.objects.filter(is_active=True).select_related("date_schedule__holiday").order_by("-priority", "code")
    )
    if not promotions:
        return ()
    ids = [p.pk for p in promotions]
    relations: dict[str, dict[int, set[int]]] = {}
    for name, column in _LINKS:
        through = getattr(Promotion, name).through
        found: dict[int, set[int]] = defaultdict(set)
        for promotion_id, other_id in through.objects.filter(promotion_id__in=ids).values_list("promotion_id", column):
            found[promotion_id].add(other_id)
        relations[name] = found
    today = calendar_today()
    years = range(today.year - SCHEDULE_YEARS_AROUND, today.year + SCHEDULE_YEARS_AROUND + 1)
    return tuple(
        (
            p,
            frozenset(relations["stores"].get(p.pk, ())),
            frozenset(relations["brands"].get(p.pk, ())),
            frozenset(relations["tiers"].get(p.pk, ())),
            frozenset(relations["groups"].get(p.pk, ())),
            frozenset(relations["segments"].get(p.pk, ())),
            _date_ranges(p, years),
        )
        for p in promotions
    )


def promotion_rules_cache_invalidate() -> None:
    """Drop the cached rules: whoever changes a promotion or its stores, brands or tiers calls it
    in the same transaction (the receivers of `campaigns.promotions.receivers` do for every save)."""
    config_cache_invalidate(PROMOTION_RULES_CACHE_KEY)


def _rules_on(day: datetime.date) -> list[_Rule]:
    """Active promotions that may be valid on `day` (or the day before, for a window crossing
    midnight), with their store, brand and tier ids. From the cache: no query once cached. The
    rules are new objects on every call: a caller may change them without touching the cache or
    another caller's copy."""
    cached = config_cached(PROMOTION_RULES_CACHE_KEY, _active_rules_load, timeout=PROMOTION_RULES_CACHE_SECONDS)
    day_before = day - datetime.timedelta(days=1)
    return [
        _Rule(
            promotion=copy.copy(p),
            store_ids=set(store_ids),
            brand_ids=set(brand_ids),
            tier_ids=set(tier_ids),
            group_ids=set(group_ids),
            segment_ids=set(segment_ids),
            date_ranges=date_ranges,
        )
        for p, store_ids, brand_ids, tier_ids, group_ids, segment_ids, date_ranges in cached
        if (p.valid_from is None or p.valid_from <= day) and (p.valid_until is None or p.valid_until >= day_before)
    ]


# --- Conditions -------------------------------------------------------------------------------


def promotion_service_day(promotion: Promotion, local: datetime.datetime) -> datetime.date | None:
    """The store-local day the moment `local` counts for, or None when it is outside the
    promotion's time window. After midnight, a window that crossed midnight still belongs to the
    day it opened."""
    start, end = promotion.time_from, promotion.time_until
    day = local.date()
    if start is None or end is None:
        return day
    now = local.time().replace(tzinfo=None)
    if start < end:
        return day if start <= now < end else None
    if now >= start:
        return day
    if now < end:
        return day - datetime.timedelta(days=1)
    return None


def _birthday_in(birthday: datetime.date, year: int) -> datetime.date:
    """The member's birthday in `year` (29 February is celebrated on the 28th in other years)."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return datetime.date(year, 2, 28)


def birthday_matches(rule: str, birthday: datetime.date | None, today: datetime.date) -> bool:
    """Whether the store-local `today` is in the member's birthday day, week (Monday to Sunday)
    or month."""
    if not rule:
        return True
    if birthday is None:
        return False
    if rule == Promotion.Birthday.DAY:
        return _birthday_in(birthday, today.year) == today
    if rule == Promotion.Birthday.MONTH:
        return birthday.month == today.month
    if rule == Promotion.Birthday.WEEK:
        for year in (today.year - 1, today.year, today.year + 1):
            this_one = _birthday_in(birthday, year)
            monday = this_one - datetime.timedelta(days=this_one.weekday())
            if monday <= today <= monday + datetime.timedelta(days=6):
                return True
        return False
    return False


def _period_bounds(period: str, local: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime] | None:
    """The store-local day or month around `local`, as aware datetimes (None: ever)."""
    zone = local.tzinfo
    if period == Promotion.LimitPeriod.DAY:
        start_day = local.date()
        end_day = start_day + datetime.timedelta(days=1)
    elif period == Promotion.LimitPeriod.MONTH:
        start_day = local.date().replace(day=1)
        end_day = (start_day + datetime.timedelta(days=32)).replace(day=1)
    else:
        return None
    return (
        datetime.datetime.combine(start_day, datetime.time.min, tzinfo=zone),
        datetime.datetime.combine(end_day, datetime.time.min, tzinfo=zone),
    )


def _over_limit(rules: list[_Rule], member: Member, local: datetime.datetime) -> set[int]:
    """Ids of the limited promotions the member has already used up: one grouped query."""
    limited = [r.promotion for r in rules if r.promotion.limit_count]
    if not limited:
        return set()
    counts = {}
    aggregates = {}
    for period in Promotion.LimitPeriod.values:
        bounds = _period_bounds(period, local)
        condition = Q(at__gte=bounds[0], at__lt=bounds[1]) if bounds else Q()
        aggregates[period] = Count("pk", filter=condition)
    for row in (
        PromotionApplication.objects.filter(
            member_id=member.pk, promotion_id__in=[p.pk for p in limited], reversed_at__isnull=True
        )
        .order_by()
        .values("promotion_id")
        .annotate(**aggregates)
    ):
        counts[row["promotion_id"]] = row
    over = set()
    for promotion in limited:
        used = counts.get(promotion.pk, {}).get(promotion.limit_period, 0)
        if used >= promotion.limit_count:
            over.add(promotion.pk)
    return over


def _member_tier_id(member: Member) -> int | None:
    tier = member_tier(member=member)
    return tier.pk if tier is not None else None


def _in_audience(rules: list[_Rule], member: Member) -> list[_Rule]:
    """The rules whose audience holds the member (a rule without groups or segments: everyone).
    At most two indexed look-ups, and none when no rule names a group or a segment."""
    targeted = [r for r in rules if r.targets_audience]
    if not targeted:
        return rules
    groups, segments = member_audiences(
        member_id=member.pk,
        group_ids=set().union(*(r.group_ids for r in targeted)),
        segment_ids=set().union(*(r.segment_ids for r in targeted)),
    )
    return [r for r in rules if not r.targets_audience or (r.group_ids & groups) or (r.segment_ids & segments)]


def _eligible(
    rules: list[_Rule],
    *,
    cart: Cart,
    member: Member | None,
    store: Store,
    local: datetime.datetime,
    tier: Tier | None = None,
):
    subtotal = cart.subtotal
    # Looked up once, only when a promotion names tiers (and the caller did not say).
    tier_id: list[int | None] = [tier.pk] if tier is not None else []
    eligible = []
    for rule in rules:
        p = rule.promotion
        if rule.needs_member and member is None:
            continue
        if (rule.store_ids or rule.brand_ids) and not (store.pk in rule.store_ids or store.brand_id in rule.brand_ids):
            continue
        day = promotion_service_day(p, local)
        if day is None:
            continue
        if (p.valid_from and day < p.valid_from) or (p.valid_until and day > p.valid_until):
            continue
        if p.weekdays and str(day.isoweekday()) not in p.weekdays:
            continue
        if p.date_schedule_id and not any(start <= day <= end for start, end in rule.date_ranges):
            continue
        if p.min_spend is not None and subtotal < p.min_spend:
            continue
        if p.birthday and not birthday_matches(p.birthday, member.birthday, local.date()):
            continue
        if rule.tier_ids:
            if not tier_id:
                tier_id.append(_member_tier_id(member))
            if tier_id[0] not in rule.tier_ids:
                continue
        eligible.append(rule)
    if member is not None:
        eligible = _in_audience(eligible, member)
        over = _over_limit(eligible, member, local)
        eligible = [r for r in eligible if r.promotion.pk not in over]
    return eligible


# --- Effects ----------------------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    """2.00 -> "2", 1.50 -> "1.5"."""
    return format(value.normalize(), "f")


def _money_text(value: Decimal) -> str:
    return f"{int(value):,}".replace(",", ".")


def _discount_text(p: Promotion) -> str:
    if p.kind == Kind.PERCENT_DISCOUNT:
        return _("%(percent)s %% off") % {"percent": _plain(p.percent)}
    return _("%(amount)s VND off") % {"amount": _money_text(p.amount)}


def _listed(items: set[str], limit: int = 5) -> str:
    """A list a changelist cell can hold: the first `limit` in order, and how many in all."""
    ordered = sorted(items)
    if len(ordered) <= limit:
        return ", ".join(ordered)
    return _("%(items)s … (%(count)d in all)") % {"items": ", ".join(ordered[:limit]), "count": len(ordered)}


def _lines_target(p: Promotion) -> str:
    """What a discount on lines applies to: its SKUs, its categories (a line matches either)."""
    skus, categories = p.sku_set, p.category_set
    sku_text = ngettext("SKU %(items)s", "SKUs %(items)s", len(skus)) % {"items": _listed(skus)}
    category_text = ngettext("category %(items)s", "categories %(items)s", len(categories)) % {
        "items": _listed(categories)
    }
    if skus and categories:
        return _("%(skus)s or %(categories)s") % {"skus": sku_text, "categories": category_text}
    return sku_text if skus else category_text


def promotion_effect(p: Promotion) -> str:
    """What a promotion gives, as its rule says (the promotions list): a discount on lines names
    the SKUs and categories it applies to. `promotion_describe` says what it gave one sale."""
    if p.kind == Kind.EARN_MULTIPLIER:
        return _("earn x%(multiplier)s") % {"multiplier": _plain(p.multiplier)}
    if p.kind == Kind.BONUS_POINTS:
        return _("%(points)d bonus points") % {"points": p.bonus_points}
    if p.scope != Promotion.Scope.LINES:
        return _discount_text(p)
    if p.kind == Kind.PERCENT_DISCOUNT:
        return _("%(percent)s %% off %(target)s") % {"percent": _plain(p.percent), "target": _lines_target(p)}
    return _("%(amount)s VND off %(target)s") % {"amount": _money_text(p.amount), "target": _lines_target(p)}


def promotion_describe(p: Promotion, *, lines: int = 0) -> str:
    """What a promotion gave one sale, with its name (`lines`: how many of the sale's lines a
    discount on lines met), as the quote and the sale record it."""
    name = p.display_name
    if p.kind == Kind.EARN_MULTIPLIER:
        return _("%(name)s: earn x%(multiplier)s") % {"name": name, "multiplier": _plain(p.multiplier)}
    if p.kind == Kind.BONUS_POINTS:
        return _("%(name)s: %(points)d bonus points") % {"name": name, "points": p.bonus_points}
    effect = _discount_text(p)
    if p.scope == Promotion.Scope.LINES:
        return ngettext("%(name)s: %(effect)s on %(count)d line", "%(name)s: %(effect)s on %(count)d lines", lines) % {
            "name": name,
            "effect": effect,
            "count": lines,
        }
    return f"{name}: {effect}"


def _matching_lines(p: Promotion, cart: Cart) -> list[CartLine]:
    return cart.lines_in(skus=p.sku_set, categories=p.category_set)


def _line_discounts(p: Promotion, cart: Cart, taken: dict[int, Decimal]) -> dict[int, Decimal]:
    """Money off each matching line, on what the line still costs after `taken`."""
    result = {}
    for line in _matching_lines(p, cart):
        remaining = cart.line_remaining(line) - taken.get(line.index, ZERO)
        if remaining <= 0:
            continue
        if p.kind == Kind.PERCENT_DISCOUNT:
            raw = quantize_money(percent_of(remaining, p.percent))
        else:
            raw = p.amount * line.quantity
        amount = clamp_discount(raw, remaining)
        if amount > 0:
            result[line.index] = amount
    return result


def _invoice_discount(p: Promotion, remaining: Decimal) -> Decimal:
    if remaining <= 0:
        return ZERO
    raw = quantize_money(percent_of(remaining, p.percent)) if p.kind == Kind.PERCENT_DISCOUNT else p.amount
    return clamp_discount(raw, remaining)


def _discount_size(p: Promotion, cart: Cart) -> Decimal:
    """What the promotion would take off the cart on its own (to choose among rivals)."""
    if p.scope == Promotion.Scope.LINES:
        return sum(_line_discounts(p, cart, {}).values(), ZERO)
    remaining = sum((cart.line_remaining(line) for line in cart.lines), ZERO)
    return _invoice_discount(p, remaining)


def _apply_discounts(rules: list[_Rule], cart: Cart) -> tuple[dict[int, Decimal], Decimal, list[AppliedPromotion]]:
    sized = [(rule.promotion, _discount_size(rule.promotion, cart)) for rule in rules]
    sized = [(p, size) for p, size in sized if size > 0]
    rivals = [(p, size) for p, size in sized if not p.stackable]
    chosen = [p for p, _size in sized if p.stackable]
    if rivals:
        winner = min(rivals, key=lambda item: (-item[0].priority, -item[1], item[0].code))[0]
        chosen.append(winner)
    order = sorted(chosen, key=lambda p: (p.scope != Promotion.Scope.LINES, -p.priority, p.code))
    taken: dict[int, Decimal] = {}
    invoice_total = ZERO
    applied = []
    for p in order:
        if p.scope == Promotion.Scope.LINES:
            lines = _line_discounts(p, cart, taken)
            if not lines:
                continue
            for index, amount in lines.items():
                taken[index] = taken.get(index, ZERO) + amount
            total = sum(lines.values(), ZERO)
            applied.append(
                AppliedPromotion(
                    promotion_id=p.pk,
                    code=p.code,
                    name=p.display_name,
                    kind=p.kind,
                    description=promotion_describe(p, lines=len(lines)),
                    stackable=p.stackable,
                    discount=total,
                    line_discounts=lines,
                )
            )
        else:
            remaining = (
                sum((cart.line_remaining(line) for line in cart.lines), ZERO)
                - sum(taken.values(), ZERO)
                - invoice_total
            )
            amount = _invoice_discount(p, remaining)
            if amount <= 0:
                continue
            invoice_total += amount
            applied.append(
                AppliedPromotion(
                    promotion_id=p.pk,
                    code=p.code,
                    name=p.display_name,
                    kind=p.kind,
                    description=promotion_describe(p),
                    stackable=p.stackable,
                    discount=amount,
                    invoice_discount=amount,
                )
            )
    return taken, invoice_total, applied


def _best(promotions: Iterable[Promotion], value) -> Promotion | None:
    candidates = list(promotions)
    if not candidates:
        return None
    return min(candidates, key=lambda p: (-value(p), -p.priority, p.code))


def _point_effects(rules: list[_Rule]) -> tuple[Decimal, int, list[AppliedPromotion]]:
    multipliers = [r.promotion for r in rules if r.promotion.kind == Kind.EARN_MULTIPLIER]
    bonuses = [r.promotion for r in rules if r.promotion.kind == Kind.BONUS_POINTS]
    chosen_multipliers = [p for p in multipliers if p.stackable]
    best = _best((p for p in multipliers if not p.stackable), lambda p: p.multiplier)
    if best is not None:
        chosen_multipliers.insert(0, best)
    chosen_bonuses = [p for p in bonuses if p.stackable]
    best = _best((p for p in bonuses if not p.stackable), lambda p: p.bonus_points)
    if best is not None:
        chosen_bonuses.insert(0, best)
    multiplier = ONE
    for p in chosen_multipliers:
        multiplier *= p.multiplier
    applied = [
        AppliedPromotion(
            promotion_id=p.pk,
            code=p.code,
            name=p.display_name,
            kind=p.kind,
            description=promotion_describe(p),
            stackable=p.stackable,
            multiplier=p.multiplier,
        )
        for p in chosen_multipliers
    ] + [
        AppliedPromotion(
            promotion_id=p.pk,
            code=p.code,
            name=p.display_name,
            kind=p.kind,
            description=promotion_describe(p),
            stackable=p.stackable,
            bonus_points=p.bonus_points,
        )
        for p in chosen_bonuses
    ]
    return multiplier, sum(p.bonus_points for p in chosen_bonuses), applied


# --- The selector -----------------------------------------------------------------------------


def promotions_applicable(
    *, cart: Cart, member: Member | None, store: Store, at: datetime.datetime, tier: Tier | None = None
) -> PromotionResult:
    """What the active promotions give to `cart`, sold to `member` (None: an anonymous sale) at
    `store` at the moment `at` (aware; read in the store's time zone). A pure read: the quote and
    the sale call it alike; the sale then records `result.applied` with
    `promotion_applications_record`. `tier`: the member's current tier when the caller has it
    (otherwise read when a promotion names tiers). See the module docstring for the rules."""
    if at.tzinfo is None:
        raise ValueError("`at` must be an aware datetime")
    local = at.astimezone(store.zone)
    rules = _rules_on(local.date())
    if not rules or not cart.lines:
        return EMPTY_RESULT
    eligible = _eligible(rules, cart=cart, member=member, store=store, local=local, tier=tier)
    if not eligible:
        return EMPTY_RESULT
    discounts = [r for r in eligible if r.promotion.is_discount]
    line_discounts, invoice_discount, applied_discounts = _apply_discounts(discounts, cart)
    multiplier, bonus_points, applied_points = _point_effects([r for r in eligible if not r.promotion.is_discount])
    return PromotionResult(
        line_discounts=line_discounts,
        invoice_discount=invoice_discount,
        multiplier=multiplier,
        bonus_points=bonus_points,
        applied=tuple(applied_discounts + applied_points),
    )
