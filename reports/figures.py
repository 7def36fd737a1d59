"""The figures of reports.md for a period and a scope: what the dashboard, the export and
`summary.json` show. Nothing here writes.

**Days.** A period is a range of local dates `[start, end]`, both included, in the programme's
zone (`settings.TIME_ZONE`, Asia/Ho_Chi_Minh by default; one zone for the whole programme: a
chain with stores in other zones would see their days cut at the programme's midnight). A sale
counts on the local day of its `occurred_at` (a late-synced sale on the day it happened), and a
refund on its sale's day, whenever it was made.

**Where a figure comes from.** Figures that add up day by day (sales, points moved, enrolments,
vouchers) come from the daily rollups (`reports.models`) for the days that were rolled up and
not touched since, and from the raw tables for every other day: today, any day not rolled up
yet, and any day a row created after the rollups' watermark belongs to (a late-synced sale, a
refund of an old sale, a back-dated ledger entry). So the figures are exact whether the rollups
are fresh or not; the rollups only make them fast. Active members and the returning rate (distinct
members) come from the kept member activity structure (`MemberDay`, `ActivityGap`, rebuilt with
the rollups) for the clean days and from the sales for the others (`active_members_in`);
balances and tiers from the members' current state with what happened since undone (what
occurred since, for every store: from the daily points figures, rollups for the most part).

**Filters.** A `Scope` narrows to a brand, a store, and the staff user's own stores (all three
intersect; `None` = no restriction). What each figure follows under a filter:
- sales, orders, active members, returning rate: the sale's store;
- points issued / redeemed / expired / adjusted: the entry's store where it has one (the entries
  of a sale or of a refund: the sale's store); entries without one (redemptions for vouchers,
  expiry, adjustments, campaigns, referrals) count only when there is no filter;
- vouchers: issued at (`issued_store`) and used at (`used_store`) a store of the scope; vouchers
  issued without a store (campaigns, staff) count only when there is no filter;
- member-level figures (new members, outstanding points and liability, expiring points, members
  per tier, upgrades and downgrades): the member's home store; members without one count only
  when there is no filter.

**Definitions** (reports.md): net sales = Σ `total` − Σ `refunded_paid` of the period's sales;
gross = Σ `subtotal`; orders = sales not refunded in full; AOV = net ÷ orders; a share or rate
with nothing to divide by is 0. Points issued = earn + referral + bonus entries, redeemed = spend
entries, expired = expire entries, adjusted = adjust entries (signed); a reversal counts with the
kind it reverses, negatively (a refund's claw-back lowers points issued). Outstanding points at
the end of the period = Σ of the members' balances counting every entry that occurred by the end
of the period (by `occurred_at`, as points issued: a late-synced sale's points and an expiry run
late count on the day they happened), so that outstanding at the end of a period = outstanding at
the end of the one before + issued − redeemed − expired + adjusted in it; liability = that ×
today's point value. Expiring in 30 / 60 / 90 days: points still in lots (as they are now) whose expiry falls
within that many days after the end of the period (cumulative). Tiers: members per tier at the
end of the period (merged members excluded); upgrades / downgrades: tier changes in the period to
a higher / lower rank."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, StrIndex, Substr, TruncDate
from django.utils import timezone

from campaigns.models import Campaign
from loyalty_site.core.money import ZERO, points_to_money
from members.models import LedgerEntry, Member, PointLot
from members.selectors import programme_settings_get, programme_zone
from pos.models import Refund, Sale
from reports.definitions import IS_ORDER, SALE_NET
from reports.memberships import membership_figures
from reports.models import (
    ActivityGap,
    DailyEnrolments,
    DailyPoints,
    DailySales,
    DailyVouchers,
    MemberDay,
    RollupDay,
    RollupState,
)
from stores.models import Store
from tiers.models import Tier, TierChange, TierStatus
from vouchers.models import Reward, Voucher

SHARE_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.01")
EXPIRING_DAYS = (30, 60, 90)
CREDIT_KINDS = [k.value for k in LedgerEntry.CREDIT_KINDS]
DEBITS = [k.value for k in LedgerEntry.DEBIT_KINDS]  # spend, expire: counted as positive figures
Figure = DailyPoints.Figure


def reports_db() -> str:
    """The database alias heavy report reads use: `reports` when `REPORTS_DATABASE_URL` names a
    read replica, else the main database."""
    return "reports" if "reports" in settings.DATABASES else "default"


@dataclass(frozen=True)
class Scope:
    """What to count: brand and store filters, and the staff user's own stores (`store_ids`,
    `None` = every store). All given restrictions apply together."""

    brand_id: int | None = None
    store_id: int | None = None
    store_ids: frozenset[int] | None = None

    def stores(self, db: str | None = None) -> frozenset[int] | None:
        """The store ids the scope allows, or `None` for every store (no filter at all)."""
        allowed = self.store_ids
        if self.store_id is not None:
            allowed = frozenset({self.store_id}) if allowed is None else allowed & {self.store_id}
        if self.brand_id is not None:
            brand_stores = frozenset(
                Store.objects.using(db or reports_db()).filter(brand_id=self.brand_id).values_list("pk", flat=True)
            )
            allowed = brand_stores if allowed is None else allowed & brand_stores
        return allowed


# --- Days and their bounds -------------------------------------------------------------------


def day_start(day: datetime.date) -> datetime.datetime:
    """The first moment of local `day`, as an aware datetime."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=programme_zone())


def local_today() -> datetime.date:
    return timezone.localtime(timezone.now(), programme_zone()).date()


def previous_period(start: datetime.date, end: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The period of the same length just before `[start, end]`."""
    length = (end - start).days + 1
    return start - datetime.timedelta(days=length), start - datetime.timedelta(days=1)


def _days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    return [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]


def day_runs(days: list[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    """Sorted days grouped into contiguous runs (first, last)."""
    runs: list[tuple[datetime.date, datetime.date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + datetime.timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _local_day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=programme_zone())


# --- The day-level queries: raw reads and rollup builds share them -------------------------------


def sales_by_day(lo: datetime.datetime, hi: datetime.datetime) -> QuerySet:
    """Per (local day, store): members' and others' net, gross and orders of the sales that
    occurred in `[lo, hi)`. The columns are those of `DailySales`."""
    member, other = Q(member__isnull=False), Q(member__isnull=True)
    return (
        Sale.objects.filter(occurred_at__gte=lo, occurred_at__lt=hi)
        .annotate(day=_local_day("occurred_at"))
        .values("day", "store_id")
        .annotate(
            member_net=Sum(SALE_NET, filter=member, default=ZERO),
            member_gross=Sum("subtotal", filter=member, default=ZERO),
            member_orders=Count("pk", filter=member & IS_ORDER),
            other_net=Sum(SALE_NET, filter=other, default=ZERO),
            other_gross=Sum("subtotal", filter=other, default=ZERO),
            other_orders=Count("pk", filter=other & IS_ORDER),
        )
        .order_by()
    )


def _entry_store() -> Case:
    """The store of a ledger entry where it has one: a sale's entries (cause `sale:<id>`) and a
    refund's (cause `refund:<id>`) belong to the sale's store."""
    sale_store = Sale.objects.filter(pk=Cast(Substr(OuterRef("cause_reference"), 6), BigIntegerField())).values(
        "store_id"
    )[:1]
    refund_store = Refund.objects.filter(pk=Cast(Substr(OuterRef("cause_reference"), 8), BigIntegerField())).values(
        "sale__store_id"
    )[:1]
    return Case(
        When(cause_kind="sale", cause_reference__startswith="sale:", then=Subquery(sale_store)),
        When(cause_kind="refund", cause_reference__startswith="refund:", then=Subquery(refund_store)),
        default=None,
        output_field=BigIntegerField(),
    )


def points_by_day(lo: datetime.datetime, hi: datetime.datetime) -> QuerySet:
    """Per (local day, store or none, figure): the points of the entries that occurred in
    `[lo, hi)`, signed so that issued, redeemed and expired are positive. The columns are those
    of `DailyPoints`. Entries are found through the `created_at` index: an entry is never posted
    before it occurred."""
    figure = Case(
        When(Q(kind__in=CREDIT_KINDS) | Q(kind="reverse", reverses__kind__in=CREDIT_KINDS), then=Value(Figure.ISSUED)),
        When(Q(kind="spend") | Q(kind="reverse", reverses__kind="spend"), then=Value(Figure.REDEEMED)),
        When(Q(kind="expire") | Q(kind="reverse", reverses__kind="expire"), then=Value(Figure.EXPIRED)),
        default=Value(Figure.ADJUSTED),
        output_field=CharField(),
    )
    signed = Case(
        When(Q(kind__in=DEBITS) | Q(kind="reverse", reverses__kind__in=DEBITS), then=-F("points")),
        default=F("points"),
        output_field=IntegerField(),
    )
    return (
        LedgerEntry.objects.filter(created_at__gte=lo, occurred_at__gte=lo, occurred_at__lt=hi)
        .annotate(day=_local_day("occurred_at"), store_id=_entry_store(), figure=figure)
        .values("day", "store_id", "figure")
        .annotate(points=Sum(signed))
        .order_by()
    )


def enrolments_by_day(lo: datetime.datetime, hi: datetime.datetime) -> QuerySet:
    """Per (local day, home store or none): members enrolled in `[lo, hi)` (`DailyEnrolments`)."""
    return (
        Member.objects.filter(enrolled_at__gte=lo, enrolled_at__lt=hi)
        .annotate(day=_local_day("enrolled_at"), store_id=F("home_store_id"))
        .values("day", "store_id")
        .annotate(members=Count("pk"))
        .order_by()
    )


def _voucher_campaign() -> Case:
    """The campaign a voucher was issued by: its reference is `campaign:<id>:<period>:<member>`."""
    rest = Substr("reference", 10)
    return Case(
        When(
            channel=Voucher.Channel.CAMPAIGN,
            reference__startswith="campaign:",
            then=Cast(Substr(rest, 1, StrIndex(rest, Value(":")) - 1), BigIntegerField()),
        ),
        default=None,
        output_field=BigIntegerField(),
    )


def vouchers_issued_by_day(lo: datetime.datetime, hi: datetime.datetime) -> QuerySet:
    """Per (local day, issuing store, reward, campaign): vouchers issued in `[lo, hi)`."""
    return (
        Voucher.objects.filter(issued_at__gte=lo, issued_at__lt=hi)
        .annotate(day=_local_day("issued_at"), store_id=F("issued_store_id"), campaign_id=_voucher_campaign())
        .values("day", "store_id", "reward_id", "campaign_id")
        .annotate(issued=Count("pk"), used=Value(0, output_field=IntegerField()))
        .order_by()
    )


def vouchers_used_by_day(lo: datetime.datetime, hi: datetime.datetime) -> QuerySet:
    """Per (local day, store used at, reward, campaign): vouchers used in `[lo, hi)` (and not
    given back since: a refund that returns a voucher clears its use)."""
    return (
        Voucher.objects.filter(status=Voucher.Status.USED, used_at__gte=lo, used_at__lt=hi)
        .annotate(day=_local_day("used_at"), store_id=F("used_store_id"), campaign_id=_voucher_campaign())
        .values("day", "store_id", "reward_id", "campaign_id")
        .annotate(issued=Value(0, output_field=IntegerField()), used=Count("pk"))
        .order_by()
    )


def member_days(lo: datetime.datetime, hi: datetime.datetime) -> QuerySet:
    """Per (member, store, local day): the days in `[lo, hi)` on which a member placed an order
    (a sale not refunded in full) at a store. The columns are those of `MemberDay`."""
    return (
        Sale.objects.filter(IS_ORDER, member__isnull=False, occurred_at__gte=lo, occurred_at__lt=hi)
        .annotate(day=_local_day("occurred_at"))
        .values("member_id", "store_id", "day")
        .distinct()
        .order_by()
    )


def dirty_days(*, since: datetime.datetime, db: str | None = None) -> set[datetime.date]:
    """The local days whose rollups rows created at or after `since` change: a sale's day, a
    refunded sale's day, a ledger entry's day, a member's enrolment day, a voucher's issue day,
    and the day of an online order completed since (it becomes a sale then, on its own day)."""
    db = db or reports_db()
    sources = [
        Sale.objects.filter(created_at__gte=since).annotate(d=_local_day("occurred_at")),
        Sale.objects.filter(order_closed_at__gte=since).annotate(d=_local_day("occurred_at")),
        Refund.objects.filter(created_at__gte=since).annotate(d=_local_day("sale__occurred_at")),
        LedgerEntry.objects.filter(created_at__gte=since).annotate(d=_local_day("occurred_at")),
        Member.objects.filter(created_at__gte=since).annotate(d=_local_day("enrolled_at")),
        Voucher.objects.filter(created_at__gte=since).annotate(d=_local_day("issued_at")),
    ]
    days: set[datetime.date] = set()
    for queryset in sources:
        days.update(queryset.using(db).values_list("d", flat=True).order_by().distinct())
    return days


def raw_days(start: datetime.date, end: datetime.date, db: str | None = None) -> list[datetime.date]:
    """The days of `[start, end]` that must be read from the raw tables: today and later, days
    not rolled up, and days touched since the rollups' watermark."""
    db = db or reports_db()
    today = local_today()
    wanted = _days(start, end)
    if start >= today:
        return wanted
    rolled = set(
        RollupDay.objects.using(db).filter(day__gte=start, day__lte=min(end, today)).values_list("day", flat=True)
    )
    state = RollupState.objects.using(db).filter(pk=RollupState.SINGLETON_PK).first()
    if state is None:
        return wanted
    rolled -= dirty_days(since=state.watermark, db=db)
    return [day for day in wanted if day >= today or day not in rolled]


# --- Reading the additive figures ------------------------------------------------------------


@dataclass
class _Additive:
    sales: dict  # day -> {column: value}
    points: dict  # day -> {figure: points}
    enrolments: dict  # day -> members
    # day -> {(reward_id, campaign_id): [issued, used]}; with `periods`: (start, end) -> the same
    vouchers: dict
    periods: list[tuple[datetime.date, datetime.date]] | None = None


SALES_COLUMNS = ("member_net", "member_gross", "member_orders", "other_net", "other_gross", "other_orders")


def _in_stores(queryset: QuerySet, stores: frozenset[int] | None, field: str = "store_id") -> QuerySet:
    return queryset if stores is None else queryset.filter(**{f"{field}__in": stores})


def _additive(
    start: datetime.date,
    end: datetime.date,
    stores: frozenset[int] | None,
    db: str,
    periods: list[tuple[datetime.date, datetime.date]] | None = None,
) -> _Additive:
    """The additive figures of the days `[start, end]`, per day; with `periods` (within those
    days), the vouchers per period instead: no chart shows them per day, and a year of them per
    day, reward and campaign is thousands of rows (issue 15)."""
    result = _Additive(
        periods=periods,
        sales=defaultdict(lambda: dict.fromkeys(SALES_COLUMNS, 0)),
        points=defaultdict(lambda: dict.fromkeys(Figure.values, 0)),
        enrolments=defaultdict(int),
        vouchers=defaultdict(lambda: defaultdict(lambda: [0, 0])),
    )
    raw = raw_days(start, end, db)
    raw_set = set(raw)
    # The rolled-up days: every day of the range that is not read raw.
    rolled = Q(day__gte=start, day__lte=end) & ~Q(day__in=raw) if raw else Q(day__gte=start, day__lte=end)
    if len(raw_set) < (end - start).days + 1:
        sources = [
            (
                _in_stores(DailySales.objects.filter(rolled), stores)
                .values("day")
                .annotate(**{c: Sum(c) for c in SALES_COLUMNS}),
                "sales",
            ),
            (
                _in_stores(DailyPoints.objects.filter(rolled), stores)
                .values("day", "figure")
                .annotate(points=Sum("points")),
                "points",
            ),
            (
                _in_stores(DailyEnrolments.objects.filter(rolled), stores)
                .values("day")
                .annotate(members=Sum("members")),
                "enrolments",
            ),
            (
                _in_stores(DailyVouchers.objects.filter(rolled), stores)
                .values("day", "reward_id", "campaign_id")
                .annotate(issued=Sum("issued"), used=Sum("used"))
                if periods is None
                else _in_stores(DailyVouchers.objects.filter(rolled), stores)
                .values("reward_id", "campaign_id")
                .annotate(
                    **{
                        f"{column}{n}": Sum(column, filter=Q(day__gte=a, day__lte=b), default=0)
                        for n, (a, b) in enumerate(periods)
                        for column in ("issued", "used")
                    }
                ),
                "vouchers",
            ),
        ]
        for queryset, section in sources:
            _fold(result, section, queryset.order_by().using(db))
    for first, last in day_runs(raw):
        lo, hi = day_start(first), day_start(last + datetime.timedelta(days=1))
        _fold(result, "sales", _in_stores(sales_by_day(lo, hi), stores).using(db))
        _fold(result, "points", _in_stores(points_by_day(lo, hi), stores).using(db))
        _fold(result, "enrolments", _in_stores(enrolments_by_day(lo, hi), stores).using(db))
        for queryset in (vouchers_issued_by_day(lo, hi), vouchers_used_by_day(lo, hi)):
            _fold(result, "vouchers", _in_stores(queryset, stores).using(db))
    return result


def _as_date(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


def _fold(result: _Additive, section: str, rows) -> None:
    for row in rows:
        if section == "sales":
            target = result.sales[_as_date(row["day"])]
            for column in SALES_COLUMNS:
                target[column] += row[column] or 0
        elif section == "points":
            result.points[_as_date(row["day"])][row["figure"]] += row["points"] or 0
        elif section == "enrolments":
            result.enrolments[_as_date(row["day"])] += row["members"] or 0
        elif result.periods is None:
            counts = result.vouchers[_as_date(row["day"])][(row["reward_id"], row["campaign_id"])]
            counts[0] += row["issued"] or 0
            counts[1] += row["used"] or 0
        else:
            key = (row["reward_id"], row["campaign_id"])
            for n, (a, b) in enumerate(result.periods):
                if "day" in row:  # a raw day's row
                    if not a <= _as_date(row["day"]) <= b:
                        continue
                    issued, used = row["issued"] or 0, row["used"] or 0
                else:
                    issued, used = row[f"issued{n}"], row[f"used{n}"]
                counts = result.vouchers[(a, b)][key]
                counts[0] += issued
                counts[1] += used


# --- The figures that do not add up across days ----------------------------------------------


def _member_sales(lo, hi, stores, db) -> QuerySet:
    return _in_stores(
        Sale.objects.using(db).filter(IS_ORDER, member__isnull=False, occurred_at__gte=lo, occurred_at__lt=hi), stores
    )


def _members_in(queryset: QuerySet, stores: frozenset[int] | None, path: str = "member__home_store_id") -> QuerySet:
    return queryset if stores is None else queryset.filter(**{f"{path}__in": stores})


def _gap_scope(scope: Scope, stores: frozenset[int] | None, db: str) -> tuple[int, int] | None:
    """The `ActivityGap` scope (kind, id) that counts exactly the members of `stores`, if any:
    every store, one store, or every store of the brand asked for."""
    if stores is None:
        return ActivityGap.Kind.ALL, 0
    if len(stores) == 1:
        return ActivityGap.Kind.STORE, next(iter(stores))
    if scope.brand_id is not None:
        brand_stores = frozenset(Store.objects.using(db).filter(brand_id=scope.brand_id).values_list("pk", flat=True))
        if stores == brand_stores:
            return ActivityGap.Kind.BRAND, scope.brand_id
    return None


def _kept_run(
    a: datetime.date, b: datetime.date, raw: set[datetime.date]
) -> tuple[datetime.date, datetime.date] | None:
    """The longest run of days of `[a, b]` none of which is read raw, if any."""
    best, run_start = None, None
    for day in [*_days(a, b), None]:
        if day is not None and day not in raw:
            run_start = run_start or day
            continue
        if run_start is not None:
            last = (day or b + datetime.timedelta(days=1)) - datetime.timedelta(days=1)
            if best is None or (last - run_start) > (best[1] - best[0]):
                best = (run_start, last)
            run_start = None
    return best


def active_members_in(
    ranges: list[tuple[datetime.date, datetime.date]], scope: Scope, stores: frozenset[int] | None, db: str
) -> list[int]:
    """For each range of local days: the distinct members with an order in it (reports.md,
    active members) at the stores of `stores`.

    Each range's longest run of days that are rolled up and untouched since (`raw_days`) comes
    from the kept structure: the activity gaps (one aggregate for every range) for the whole
    scope, a store or a brand, else the member order days. The rest of the range (today, days
    not rolled up, days touched since the watermark, and whatever lies beyond them) comes from
    the sales, less the members already counted from the structure."""
    if stores is not None and not stores:
        return [0] * len(ranges)
    raw = set(raw_days(min(a for a, _ in ranges), max(b for _, b in ranges), db))
    kept = {n: _kept_run(a, b, raw) for n, (a, b) in enumerate(ranges)}
    wanted = {n: run for n, run in kept.items() if run is not None}
    counts = [0] * len(ranges)
    if wanted:
        gap_scope = _gap_scope(scope, stores, db)
        if gap_scope is not None:
            rows = ActivityGap.objects.using(db).filter(kind=gap_scope[0], scope_id=gap_scope[1])
            sums = {
                f"r{n}": Sum(
                    "members",
                    filter=Q(day__gte=a, day__lte=b) & (Q(previous_day__isnull=True) | Q(previous_day__lt=a)),
                    default=0,
                )
                for n, (a, b) in wanted.items()
            }
        else:
            rows = _in_stores(MemberDay.objects.using(db), stores)
            sums = {
                f"r{n}": Count("member_id", distinct=True, filter=Q(day__gte=a, day__lte=b))
                for n, (a, b) in wanted.items()
            }
        first_kept = min(a for a, _ in wanted.values())
        last_kept = max(b for _, b in wanted.values())
        totals = rows.filter(day__gte=first_kept, day__lte=last_kept).aggregate(**sums)
        for n in wanted:
            counts[n] += int(totals[f"r{n}"] or 0)
    for n, (a, b) in enumerate(ranges):
        run = kept[n]
        if run == (a, b):
            continue
        lo, hi = day_start(a), day_start(b + datetime.timedelta(days=1))
        if run is None:
            sales = _member_sales(lo, hi, stores, db)
        else:  # the days of the run were counted from the structure: the days around it
            run_lo, run_hi = day_start(run[0]), day_start(run[1] + datetime.timedelta(days=1))
            # Each side as its own time range (not the whole range less the run), so that the
            # sales' time indexes read only those days: often just today's.
            around = [(x, y) for x, y in ((lo, run_lo), (run_hi, hi)) if x < y]
            window = Q()
            for x, y in around:
                window |= Q(occurred_at__gte=x, occurred_at__lt=y)
            sales = _in_stores(Sale.objects.using(db).filter(IS_ORDER, member__isnull=False).filter(window), stores)
            counted = _in_stores(
                MemberDay.objects.using(db).filter(member_id=OuterRef("member_id"), day__gte=run[0], day__lte=run[1]),
                stores,
            )
            sales = sales.filter(~Exists(counted))
        counts[n] += sales.order_by().values("member_id").distinct().count()
    return counts


def _net_points(points: dict) -> int:
    """The change of the balances made by one day's points figures."""
    return (
        points.get(Figure.ISSUED, 0)
        - points.get(Figure.REDEEMED, 0)
        - points.get(Figure.EXPIRED, 0)
        + points.get(Figure.ADJUSTED, 0)
    )


def _outstanding(ends: list[datetime.date], balances: int, stores, db, data: _Additive) -> list[int]:
    """For each local day of `ends`: Σ balances at its end, counting every entry that occurred by
    then (a late-synced sale's points count on its own day, as in "points issued", so that the
    outstanding points of two period ends differ by the period's issued − redeemed − expired +
    adjusted), as today's balances (`balances`) minus what occurred since. Every store: what
    occurred since is read from the days' points figures (`data`, covering the days up to the
    latest end, and the days after it to today: rollups, a few hundred rows); some stores: from
    the entries of their members (by home store, as the balances), through the index that holds
    a member's entries with their time and points (`members_ledger_member_cover`)."""
    today = local_today()
    if stores is None:
        latest = max(ends)
        after = _additive(latest + datetime.timedelta(days=1), today, None, db).points if latest < today else {}
        return [
            int(
                balances
                - sum(_net_points(points) for day, points in data.points.items() if day > end)
                - sum(_net_points(points) for day, points in after.items() if day > end)
            )
            for end in ends
        ]
    past = [(n, day_start(end + datetime.timedelta(days=1))) for n, end in enumerate(ends) if end < today]
    if not past:
        return [balances for _ in ends]
    since = min(end_at for _, end_at in past)
    # An entry is never posted before it occurred: the posting time bounds the search too.
    entries = _members_in(LedgerEntry.objects.using(db).filter(created_at__gte=since, occurred_at__gte=since), stores)
    sums = entries.aggregate(
        **{f"s{n}": Sum("points", filter=Q(occurred_at__gte=end_at), default=0) for n, end_at in past}
    )
    return [int(balances - sums.get(f"s{n}", 0)) for n in range(len(ends))]


def _expiring(end_ats: list[datetime.datetime], stores, db) -> list[dict[str, int]]:
    """For each moment of `end_ats`: the points still in lots expiring within 30 / 60 / 90 days
    after it (one read of the lots)."""
    last = max(EXPIRING_DAYS)
    lots = _members_in(
        PointLot.objects.using(db).filter(
            remaining__gt=0, expires_at__gte=min(end_ats), expires_at__lt=max(end_ats) + datetime.timedelta(days=last)
        ),
        stores,
    )
    sums = lots.aggregate(
        **{
            f"e{n}_{days}": Sum(
                "remaining",
                filter=Q(expires_at__gte=end_at, expires_at__lt=end_at + datetime.timedelta(days=days)),
                default=0,
            )
            for n, end_at in enumerate(end_ats)
            for days in EXPIRING_DAYS
        }
    )
    return [{f"expiring_{days}": int(sums[f"e{n}_{days}"]) for days in EXPIRING_DAYS} for n in range(len(end_ats))]


@dataclass
class _TierChanges:
    """The tier changes since the earliest period's start, per (from tier, to tier): the changes
    in each period (`in0`, `in1`, ...) and, for each past end, the changes since it that undo to
    the tier then (`since0`, ...)."""

    pairs: dict[tuple[int, int], dict[str, int]]


def _tier_changes(bounds, past, stores, db) -> _TierChanges:
    """One read of the tier changes for `_moves` and `_tiers`. Every store: the changes alone (no
    join; see `_tiers_everyone`); some stores: those of their members, with the members merged
    or enrolled after an end left out of that end's undoing."""
    counts = {
        f"in{n}": Count("pk", filter=Q(at__gte=start_at, at__lt=end_at)) for n, (start_at, end_at) in enumerate(bounds)
    }
    for n, end_at in past:
        since = Q(at__gte=end_at)
        if stores is not None:
            since &= Q(member__enrolled_at__lt=end_at) & ~Q(member__status=Member.Status.MERGED)
        counts[f"since{n}"] = Count("pk", filter=since)
    changes = _members_in(TierChange.objects.using(db).filter(at__gte=min(start for start, _ in bounds)), stores)
    rows = changes.values_list("from_tier_id", "to_tier_id").annotate(**counts).order_by()
    names = list(counts)
    return _TierChanges(pairs={(row[0], row[1]): dict(zip(names, row[2:], strict=True)) for row in rows})


def _moves(count: int, ranks: dict[int, int], changes: _TierChanges) -> list[tuple[int, int]]:
    """For each of `count` periods: tier upgrades and downgrades in it (to a higher / lower rank)."""
    moves = []
    for n in range(count):
        up = down = 0
        for (from_tier, to_tier), numbers in changes.pairs.items():
            if ranks.get(to_tier, 0) > ranks.get(from_tier, 0):
                up += numbers[f"in{n}"]
            elif ranks.get(to_tier, 0) < ranks.get(from_tier, 0):
                down += numbers[f"in{n}"]
        moves.append((up, down))
    return moves


def _tiers_everyone(end_ats, past, entry: int, changes: _TierChanges, db) -> tuple[list[dict[int, int]], int]:
    """Members per tier at each of `end_ats` for every member, and Σ balances now (merged members
    left out), without joining members to their changes (seconds of hash joins at a million
    members): a member's tier status starts at the entry tier and every change of it is a
    `TierChange` (`tiers.services`), so undoing every change made since a moment gives each
    member's tier then, and the entry tier for each member enrolled since, who is then taken out
    as one count. Merged members, few, are taken out with their own tier at each moment."""
    counts: list[dict[int, int]] = [defaultdict(int) for _ in end_ats]
    # One read of the members: how many, their balances, how many enrolled since each past end.
    now = Member.objects.using(db).aggregate(
        everyone=Count("pk"),
        balances=Sum("points_balance", filter=~Q(status=Member.Status.MERGED), default=0),
        **{f"n{n}": Count("pk", filter=Q(enrolled_at__gte=end_at)) for n, end_at in past},
    )
    for tier_id, number in TierStatus.objects.using(db).values_list("tier_id").annotate(n=Count("pk")).order_by():
        for count in counts:
            count[tier_id] += number
            count[entry] -= number
    for count in counts:
        count[entry] += now["everyone"]
    for n, _end_at in past:
        counts[n][entry] -= now[f"n{n}"]
        for (from_tier, to_tier), numbers in changes.pairs.items():
            counts[n][to_tier] -= numbers[f"since{n}"]
            counts[n][from_tier] += numbers[f"since{n}"]
    # The merged members enrolled before each moment, with their tier then.
    merged = list(
        Member.objects.using(db)
        .filter(merged_into__isnull=False, enrolled_at__lt=max(end_ats))
        .values_list("pk", "enrolled_at", "tier_status__tier_id")
    )
    if merged:
        later = list(
            TierChange.objects.using(db)
            .filter(member_id__in=[pk for pk, _, _ in merged], at__gte=min(end_ats))
            .values_list("member_id", "from_tier_id", "at")
            .order_by("member_id", "-at")
        )
        for n, end_at in enumerate(end_ats):
            back: dict[int, int] = {}
            for member_id, from_tier, at in later:
                if at >= end_at:
                    back[member_id] = from_tier  # rows come latest first: the earliest undone wins
            for pk, enrolled_at, tier_id in merged:
                if enrolled_at < end_at:
                    counts[n][back.get(pk, tier_id if tier_id is not None else entry)] -= 1
    return counts, now["balances"]


def _tiers_of_stores(end_ats, past, entry: int, changes: _TierChanges, stores, db) -> tuple[list[dict[int, int]], int]:
    """Members per tier at each of `end_ats` for the members whose home store is one of
    `stores`, and their Σ balances now: one read of the members with their tier status (merged
    members left out), the changes since undone."""
    counts: list[dict[int, int]] = [defaultdict(int) for _ in end_ats]
    members = _members_in(Member.objects.using(db).exclude(status=Member.Status.MERGED), stores, "home_store_id")
    per_tier = members.values_list("tier_status__tier_id").annotate(
        balances=Sum("points_balance", default=0),
        **{f"n{n}": Count("pk", filter=Q(enrolled_at__lt=end_at)) for n, end_at in enumerate(end_ats)},
    )
    balances = 0
    for tier_id, tier_balances, *numbers in per_tier.order_by():
        balances += tier_balances
        for n, number in enumerate(numbers):
            counts[n][tier_id if tier_id is not None else entry] += number
    for n, _end_at in past:
        for (from_tier, to_tier), numbers in changes.pairs.items():
            counts[n][to_tier] -= numbers[f"since{n}"]
            counts[n][from_tier] += numbers[f"since{n}"]
    return counts, balances


@dataclass
class _MemberLevel:
    """The figures of one period that are read from the members' current state."""

    outstanding: int
    expiring: dict[str, int]
    tiers: dict[str, int]
    moves: tuple[int, int]


def _member_level(
    periods: list[tuple[datetime.date, datetime.date]], stores, db, data: _Additive
) -> list[_MemberLevel]:
    """The member-level figures of `periods`: outstanding points, expiring points, members per
    tier at each end and the tier moves in each; `data`: the additive figures from the earliest
    period's start to the latest period's end. Members per tier at an end are today's tiers with
    the changes made since undone (merged members left out); a member gets a tier status with
    their first qualifying event: until then, the entry tier."""
    ends = [end for _, end in periods]
    bounds = [(day_start(start), day_start(end + datetime.timedelta(days=1))) for start, end in periods]
    end_ats = [end_at for _, end_at in bounds]
    today = local_today()
    past = [(n, end_at) for n, (end, end_at) in enumerate(zip(ends, end_ats, strict=True)) if end < today]
    tiers = list(Tier.objects.using(db).order_by("rank").values_list("pk", "rank", "code"))
    ranks = {pk: rank for pk, rank, _ in tiers}
    if tiers:
        changes = _tier_changes(bounds, past, stores, db)
        entry = tiers[0][0]
        if stores is None:
            counts, balances = _tiers_everyone(end_ats, past, entry, changes, db)
        else:
            counts, balances = _tiers_of_stores(end_ats, past, entry, changes, stores, db)
        per_tier = [{code: count.get(pk, 0) for pk, _, code in tiers} for count in counts]
        moves = _moves(len(periods), ranks, changes)
    else:
        balances = _members_in(
            Member.objects.using(db).exclude(status=Member.Status.MERGED), stores, "home_store_id"
        ).aggregate(total=Sum("points_balance", default=0))["total"]
        per_tier, moves = [{} for _ in periods], [(0, 0) for _ in periods]
    return [
        _MemberLevel(*values)
        for values in zip(
            _outstanding(ends, balances, stores, db, data),
            _expiring(end_ats, stores, db),
            per_tier,
            moves,
            strict=True,
        )
    ]


# --- The API -----------------------------------------------------------------------------------


def _ratio(numerator, denominator, places: Decimal) -> Decimal:
    if not denominator:
        return ZERO.quantize(places)
    return (Decimal(numerator) / Decimal(denominator)).quantize(places)


def _voucher_lists(vouchers: dict, db: str) -> tuple[list[dict], list[dict]]:
    by_reward: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    by_campaign: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for (reward_id, campaign_id), (issued, used) in vouchers.items():
        for target in (by_reward[reward_id], by_campaign[campaign_id]):
            target[0] += issued
            target[1] += used
    rewards = {r.pk: r for r in Reward.objects.using(db).filter(pk__in=by_reward)}
    campaigns = dict(Campaign.objects.using(db).filter(pk__in=[c for c in by_campaign if c]).values_list("pk", "code"))
    reward_rows = [
        {
            "reward": rewards[pk].code,
            "name": rewards[pk].display_name,
            "issued": issued,
            "used": used,
            "use_rate": _ratio(used, issued, SHARE_PLACES),
        }
        for pk, (issued, used) in sorted(by_reward.items(), key=lambda item: rewards[item[0]].code)
        if pk in rewards
    ]
    campaign_rows = [
        {
            "campaign": campaigns.get(pk) if pk else None,
            "issued": issued,
            "used": used,
            "use_rate": _ratio(used, issued, SHARE_PLACES),
        }
        for pk, (issued, used) in sorted(by_campaign.items(), key=lambda item: campaigns.get(item[0]) or "")
    ]
    return reward_rows, campaign_rows


def _in_period(data: _Additive, start: datetime.date, end: datetime.date) -> tuple[dict, dict, dict, int]:
    """The additive figures of the days `[start, end]` of `data`: sales columns, points per
    figure, vouchers per (reward, campaign), enrolments."""
    sales = dict.fromkeys(SALES_COLUMNS, 0)
    points = dict.fromkeys(Figure.values, 0)
    vouchers: dict = defaultdict(lambda: [0, 0])
    enrolments = 0
    for day in _days(start, end):
        for column, value in data.sales.get(day, {}).items():
            sales[column] += value
        for figure, value in data.points.get(day, {}).items():
            points[figure] += value
        if data.periods is None:
            for key, (issued, used) in data.vouchers.get(day, {}).items():
                vouchers[key][0] += issued
                vouchers[key][1] += used
        enrolments += data.enrolments.get(day, 0)
    if data.periods is not None:
        for key, (issued, used) in data.vouchers.get((start, end), {}).items():
            vouchers[key][0] += issued
            vouchers[key][1] += used
    return sales, points, vouchers, enrolments


def _period_figures(
    start: datetime.date,
    end: datetime.date,
    stores: frozenset[int] | None,
    db: str,
    data: _Additive,
    actives: tuple[int, int, int],
    level: _MemberLevel,
) -> dict:
    """Every figure of `[start, end]` from the additive figures `data` (covering the period) and
    the active members of the period, of the previous period and of both together."""
    sales, points, vouchers, enrolments = _in_period(data, start, end)
    member_net, other_net = Decimal(sales["member_net"]), Decimal(sales["other_net"])
    net = member_net + other_net
    orders = sales["member_orders"] + sales["other_orders"]
    active, active_before, either = actives
    returning = active + active_before - either
    outstanding, tiers = level.outstanding, level.tiers
    upgrades, downgrades = level.moves
    by_reward, by_campaign = _voucher_lists(vouchers, db)
    vouchers_issued = sum(v[0] for v in vouchers.values())
    vouchers_used = sum(v[1] for v in vouchers.values())
    start_at, end_at = day_start(start), day_start(end + datetime.timedelta(days=1))
    return {
        "from": start,
        "to": end,
        "net_sales": net.quantize(MONEY_PLACES),
        "gross_sales": Decimal(sales["member_gross"] + sales["other_gross"]).quantize(MONEY_PLACES),
        "member_sales": member_net.quantize(MONEY_PLACES),
        "member_share": _ratio(member_net, net, SHARE_PLACES),
        "orders": orders,
        "member_orders": sales["member_orders"],
        "aov_members": _ratio(member_net, sales["member_orders"], MONEY_PLACES),
        "aov_non_members": _ratio(other_net, sales["other_orders"], MONEY_PLACES),
        "active_members": active,
        "new_members": enrolments,
        "purchase_frequency": _ratio(sales["member_orders"], active, SHARE_PLACES),
        "returning_rate": _ratio(returning, active_before, SHARE_PLACES),
        "points_issued": points[Figure.ISSUED],
        "points_redeemed": points[Figure.REDEEMED],
        "points_expired": points[Figure.EXPIRED],
        "points_adjusted": points[Figure.ADJUSTED],
        "outstanding_points": outstanding,
        "liability_vnd": points_to_money(outstanding, programme_settings_get().point_value).quantize(MONEY_PLACES),
        **level.expiring,
        "vouchers_issued": vouchers_issued,
        "vouchers_used": vouchers_used,
        "voucher_use_rate": _ratio(vouchers_used, vouchers_issued, SHARE_PLACES),
        "vouchers_by_reward": by_reward,
        "vouchers_by_campaign": by_campaign,
        "tiers": tiers,
        "upgrades": upgrades,
        "downgrades": downgrades,
        **membership_figures(start_at=start_at, end_at=end_at, stores=stores, db=db),
    }


def _periods(start: datetime.date, end: datetime.date, back: int) -> list[tuple[datetime.date, datetime.date]]:
    """`[start, end]` and the `back` periods of the same length just before it, latest first."""
    periods = [(start, end)]
    for _ in range(back):
        periods.append(previous_period(*periods[-1]))
    return periods


def period_figures(*, start: datetime.date, end: datetime.date, scope: Scope) -> dict:
    """Every figure of `summary.json` for the local days `[start, end]` and `scope`."""
    return figures_and_previous(start=start, end=end, scope=scope, previous=False)[0]


def figures_and_previous(
    *, start: datetime.date, end: datetime.date, scope: Scope, previous: bool = True
) -> tuple[dict, dict | None, _Additive]:
    """The figures of `[start, end]` and, with `previous`, of the previous period too, from one
    read of the additive figures (both periods' days) and one count of active members (the
    periods, the one before each, and each with the one before it). Also returns the additive
    figures read, for `daily_series_of`."""
    db = reports_db()
    stores = scope.stores(db)
    periods = _periods(start, end, 2 if previous else 1)
    data = _additive(periods[1 if previous else 0][0], end, stores, db, periods[: 2 if previous else 1])
    ranges = []
    for n in range(len(periods) - 1):
        ranges += [periods[n], periods[n + 1], (periods[n + 1][0], periods[n][1])]
    counts = active_members_in(ranges, scope, stores, db)
    levels = _member_level(periods[: 2 if previous else 1], stores, db, data)
    current = _period_figures(start, end, stores, db, data, tuple(counts[0:3]), levels[0])
    before = _period_figures(*periods[1], stores, db, data, tuple(counts[3:6]), levels[1]) if previous else None
    return current, before, data


def daily_series(*, start: datetime.date, end: datetime.date, scope: Scope) -> list[dict]:
    """One row per local day of `[start, end]`: the dashboard's charts and their tables."""
    db = reports_db()
    return daily_series_of(_additive(start, end, scope.stores(db), db), start, end)


def daily_series_of(data: _Additive, start: datetime.date, end: datetime.date) -> list[dict]:
    """The daily series of `[start, end]` from additive figures already read (covering it)."""
    rows = []
    for day in _days(start, end):
        sales, points = data.sales.get(day), data.points.get(day, {})
        rows.append(
            {
                "day": day,
                "net_sales_members": Decimal(sales["member_net"] if sales else 0).quantize(MONEY_PLACES),
                "net_sales_others": Decimal(sales["other_net"] if sales else 0).quantize(MONEY_PLACES),
                "enrolments": data.enrolments.get(day, 0),
                "points_issued": points.get(Figure.ISSUED, 0),
                "points_redeemed": points.get(Figure.REDEEMED, 0),
                "points_expired": points.get(Figure.EXPIRED, 0),
            }
        )
    return rows
