"""Plausibility limits on tills (risk.md "Tills", pos-api.md 1.1): the most a sale may total, the
most points one sale may earn, the most points a terminal may give out in a local day.

- The programme sets them (`SaleLimits`, one row), a store may override each (`StoreSaleLimits`);
  every sale reads them from the configuration cache, so they cost a warm sale no query.
- The two per-sale limits are checked on the priced cart, before the sale writes anything; the
  quote checks them the same way (`quote_limits_check`), and reads the terminal's day counter.
- The daily cap is taken in the sale's transaction, as its last lock (after the referrer's):
  one `INSERT ... ON CONFLICT DO UPDATE ... WHERE points_given + n <= cap RETURNING`, so twenty
  parallel sales of one terminal queue on the counter row and cannot together pass the cap. No
  row back means the cap would be passed: the sale is refused and its whole transaction rolls
  back. The counter is the day the sale is *recorded* (the store's local day), not its
  `occurred_at`: a leaked key cannot reopen past days by back-dating.
- A refusal is recorded for staff (`limit_refusal_record`) after the sale's transaction rolled
  back: the API calls it from the idempotency layer's outer transaction, so it commits with the
  stored refusal and a replay records nothing again. Each terminal keeps at most
  `REFUSALS_KEPT_PER_DAY` rows a day; beyond that its latest row counts the repeats."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty_site.core.config_cache import config_cache_invalidate, config_cached
from loyalty_site.core.errors import UnprocessableError, clean_or_refuse
from pos.models import LimitRefusal, SaleLimits, StoreSaleLimits, TerminalDay
from stores.models import Store, Terminal

if TYPE_CHECKING:
    from pos.checkout.pricing import Quote

SALE_LIMITS_CACHE_KEY = "pos:sale-limits:v1"
SALE_LIMITS_CACHE_SECONDS = 60
# Refusals kept one by one per terminal and local day; later ones are counted on the latest row.
REFUSALS_KEPT_PER_DAY = 20
LIMIT_FIELDS = ("max_sale_amount", "max_points_per_sale", "max_terminal_points_per_day")
# Whatever the settings say, a sale never earns more than a ledger entry can hold (32 bits).
POINTS_PER_SALE_CEILING = 2**31 - 1


@dataclass(frozen=True)
class Limits:
    """The limits in force at one store; None: no limit."""

    max_sale_amount: Decimal | None
    max_points_per_sale: int | None
    max_terminal_points_per_day: int | None


@dataclass(frozen=True)
class LimitsTable:
    """What the cache holds: the programme's limits and each store's overrides."""

    programme: Limits
    stores: dict[int, dict[str, Any]] = field(default_factory=dict)

    def at(self, store_id: int) -> Limits:
        own = self.stores.get(store_id, {})
        return Limits(
            **{name: own[name] if own.get(name) is not None else getattr(self.programme, name) for name in LIMIT_FIELDS}
        )


def _load() -> LimitsTable:
    # A read creates nothing: until staff save the row, the model's defaults are the limits.
    programme = SaleLimits.objects.filter(pk=SaleLimits.SINGLETON_PK).first() or SaleLimits()
    stores = {row["store_id"]: row for row in StoreSaleLimits.objects.values("store_id", *LIMIT_FIELDS)}
    return LimitsTable(programme=Limits(**{name: getattr(programme, name) for name in LIMIT_FIELDS}), stores=stores)


def sale_limits_for(*, store: Store, fresh: bool = False) -> Limits:
    """The limits in force at `store` (cached, see `loyalty_site.core.config_cache`)."""
    table = config_cached(SALE_LIMITS_CACHE_KEY, _load, timeout=SALE_LIMITS_CACHE_SECONDS, fresh=fresh)
    return table.at(store.pk)


def sale_limits_cache_invalidate() -> None:
    config_cache_invalidate(SALE_LIMITS_CACHE_KEY)


# --- Changing them ----------------------------------------------------------------------------


def sale_limits_update(*, data: dict[str, Any], updated_by=None) -> SaleLimits:
    """Change the programme's limits (None: no limit)."""
    unknown = set(data) - set(LIMIT_FIELDS)
    if unknown:
        raise ValueError(f"not sale limits: {sorted(unknown)}")
    with transaction.atomic():
        limits, _created = SaleLimits.objects.select_for_update().get_or_create(pk=SaleLimits.SINGLETON_PK)
        for name, value in data.items():
            setattr(limits, name, value)
        limits.updated_by = updated_by
        clean_or_refuse(limits)
        limits.save()
    return limits


def store_sale_limits_set(*, store: Store, data: dict[str, Any], updated_by=None) -> StoreSaleLimits:
    """Set a store's own limits (None: the programme's)."""
    unknown = set(data) - set(LIMIT_FIELDS)
    if unknown:
        raise ValueError(f"not sale limits: {sorted(unknown)}")
    with transaction.atomic():
        own, _created = StoreSaleLimits.objects.select_for_update().get_or_create(store=store)
        for name, value in data.items():
            setattr(own, name, value)
        own.updated_by = updated_by
        clean_or_refuse(own)
        own.save()
    return own


# --- Refusing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitAttempt:
    """What a limit refused, as staff will see it."""

    terminal_id: int
    store_id: int
    member_id: int | None
    receipt_number: str
    limit: str
    maximum: Decimal
    amount: Decimal
    points: int


class LimitExceeded(UnprocessableError):
    code = "limit-exceeded"
    title = gettext_lazy("The sale is beyond a limit the programme sets.")

    def __init__(self, detail: Any, *, attempt: LimitAttempt) -> None:
        maximum = int(attempt.maximum) if attempt.maximum == int(attempt.maximum) else str(attempt.maximum)
        super().__init__(detail, extra={"limit": attempt.limit, "maximum": maximum})
        self.attempt = attempt


def store_day(*, store: Store, at: datetime.datetime | None = None) -> datetime.date:
    """The store's local day at `at` (default now): the day a terminal's cap counts."""
    return timezone.localtime(at or timezone.now(), store.zone).date()


def _attempt(terminal: Terminal, quote: Quote, receipt_number: str, limit: str, maximum) -> LimitAttempt:
    return LimitAttempt(
        terminal_id=terminal.pk,
        store_id=terminal.store_id,
        member_id=quote.member.pk if quote.member is not None else None,
        receipt_number=receipt_number,
        limit=limit,
        maximum=Decimal(maximum),
        amount=quote.subtotal,
        points=quote.points_to_earn,
    )


def sale_limits_check(*, terminal: Terminal, quote: Quote, receipt_number: str = "") -> Limits:
    """Refuse a priced sale beyond the per-sale limits (no query once the cache is warm);
    returns the limits in force for the daily cap."""
    limits = sale_limits_for(store=terminal.store)
    if limits.max_sale_amount is not None and quote.subtotal > limits.max_sale_amount:
        raise LimitExceeded(
            _("A sale may total at most %(max)s VND at this store.") % {"max": f"{limits.max_sale_amount:,.0f}"},
            attempt=_attempt(terminal, quote, receipt_number, LimitRefusal.Limit.SALE_AMOUNT, limits.max_sale_amount),
        )
    most_points = min(limits.max_points_per_sale or POINTS_PER_SALE_CEILING, POINTS_PER_SALE_CEILING)
    if quote.points_to_earn > most_points:
        raise LimitExceeded(
            _("A sale may earn at most %(max)s points.") % {"max": f"{most_points:,}"},
            attempt=_attempt(terminal, quote, receipt_number, LimitRefusal.Limit.POINTS_PER_SALE, most_points),
        )
    return limits


def _over_daily_cap(terminal: Terminal, quote: Quote, receipt_number: str, cap: int) -> LimitExceeded:
    return LimitExceeded(
        _("This terminal may give out at most %(max)s points a day; this sale would pass it.") % {"max": f"{cap:,}"},
        attempt=_attempt(terminal, quote, receipt_number, LimitRefusal.Limit.TERMINAL_POINTS_PER_DAY, cap),
    )


def quote_limits_check(*, terminal: Terminal, quote: Quote) -> None:
    """The quote's view of every limit: the per-sale ones, and whether the terminal's day has
    room for the points (one read of its counter; nothing is written or locked)."""
    limits = sale_limits_check(terminal=terminal, quote=quote)
    cap = limits.max_terminal_points_per_day
    if cap is None or not quote.points_to_earn or quote.member is None:
        return
    given = (
        TerminalDay.objects.filter(terminal=terminal, day=store_day(store=terminal.store))
        .values_list("points_given", flat=True)
        .first()
        or 0
    )
    if given + quote.points_to_earn > cap:
        raise _over_daily_cap(terminal, quote, "", cap)


def terminal_points_take(*, terminal: Terminal, quote: Quote, receipt_number: str, limits: Limits) -> None:
    """Count the sale's points on its terminal's day, or refuse when they would pass the cap.
    Inside the sale's transaction (its last lock): one statement, which locks the counter row
    until the sale commits or rolls back."""
    cap, points = limits.max_terminal_points_per_day, quote.points_to_earn
    if cap is None or not points:
        return
    if points > cap:
        raise _over_daily_cap(terminal, quote, receipt_number, cap)
    connection = transaction.get_connection()
    meta = TerminalDay._meta
    table = connection.ops.quote_name(TerminalDay._meta.db_table)
    day = meta.get_field("day").get_db_prep_save(store_day(store=terminal.store), connection)
    # Only identifiers from the model's meta go into the text; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (terminal_id, day, points_given, refusals) VALUES (%s, %s, %s, 0) "  # noqa: S608
        f"ON CONFLICT (terminal_id, day) DO UPDATE SET points_given = {table}.points_given + %s "
        f"WHERE {table}.points_given + %s <= %s RETURNING points_given"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [terminal.pk, day, points, points, points, cap])
        row = cursor.fetchone()
    if row is None:
        raise _over_daily_cap(terminal, quote, receipt_number, cap)


def limit_refusal_record(*, attempt: LimitAttempt) -> LimitRefusal | None:
    """Keep a refused sale for staff, after the sale's transaction rolled back. Counts the
    refusal on the terminal's day; past `REFUSALS_KEPT_PER_DAY` that day, adds it to the latest
    kept row instead of a new one. Returns the row it wrote to (None: none found to fold into)."""
    now = timezone.now()
    store = Store.objects.only("time_zone").get(pk=attempt.store_id)
    day_value = store_day(store=store, at=now)
    connection = transaction.get_connection()
    meta = TerminalDay._meta
    table = connection.ops.quote_name(TerminalDay._meta.db_table)
    day = meta.get_field("day").get_db_prep_save(day_value, connection)
    sql = (
        f"INSERT INTO {table} (terminal_id, day, points_given, refusals) VALUES (%s, %s, 0, 1) "  # noqa: S608
        f"ON CONFLICT (terminal_id, day) DO UPDATE SET refusals = {table}.refusals + 1 RETURNING refusals"
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [attempt.terminal_id, day])
            (refusals,) = cursor.fetchone()
        if refusals > REFUSALS_KEPT_PER_DAY:
            latest = LimitRefusal.objects.filter(terminal_id=attempt.terminal_id, day=day_value).order_by("-pk").first()
            if latest is not None:
                LimitRefusal.objects.filter(pk=latest.pk).update(repeats=F("repeats") + 1, last_refused_at=now)
                return latest
        return LimitRefusal.objects.create(
            terminal_id=attempt.terminal_id,
            store_id=attempt.store_id,
            member_id=attempt.member_id,
            receipt_number=attempt.receipt_number[:64],
            limit=attempt.limit,
            maximum=attempt.maximum,
            amount=attempt.amount,
            points=attempt.points,
            day=day_value,
            refused_at=now,
            last_refused_at=now,
        )
