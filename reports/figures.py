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
are fresh or not; the rollups only make them fast. Figures that do not add up across days
(active members, returning rate, balances, tiers) are computed from index-backed queries.

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
the end of the period = Σ of the members' balances after every entry posted by the end of the
period (by `created_at`, the order `balance_after` follows); liability = that × today's point
value. Expiring in 30 / 60 / 90 days: points still in lots (as they are now) whose expiry falls
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
from reports.models import DailyEnrolments, DailyPoints, DailySales, DailyVouchers, RollupDay, RollupState
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
    vouchers: dict  # (reward_id, campaign_id) -> [issued, used]


SALES_COLUMNS = ("member_net", "member_gross", "member_orders", "other_net", "other_gross", "other_orders")


def _in_stores(queryset: QuerySet, stores: frozenset[int] | None, field: str = "store_id") -> QuerySet:
    return queryset if stores is None else queryset.filter(**{f"{field}__in": stores})


def _additive(start: datetime.date, end: datetime.date, stores: frozenset[int] | None, db: str) -> _Additive:
    result = _Additive(
        sales=defaultdict(lambda: dict.fromkeys(SALES_COLUMNS, 0)),
        points=defaultdict(lambda: dict.fromkeys(Figure.values, 0)),
        enrolments=defaultdict(int),
        vouchers=defaultdict(lambda: [0, 0]),
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
                .values("reward_id", "campaign_id")
                .annotate(issued=Sum("issued"), used=Sum("used")),
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
        else:
            counts = result.vouchers[(row["reward_id"], row["campaign_id"])]
            counts[0] += row["issued"] or 0
            counts[1] += row["used"] or 0


# --- The figures that do not add up across days ----------------------------------------------


def _member_sales(lo, hi, stores, db) -> QuerySet:
    return _in_stores(
        Sale.objects.using(db).filter(IS_ORDER, member__isnull=False, occurred_at__gte=lo, occurred_at__lt=hi), stores
    )


def _members_in(queryset: QuerySet, stores: frozenset[int] | None, path: str = "member__home_store_id") -> QuerySet:
    return queryset if stores is None else queryset.filter(**{f"{path}__in": stores})


def _active_and_returning(start, end, stores, db) -> tuple[int, int, int]:
    """(active members in the period, active in the previous period, of those active again)."""
    lo, hi = day_start(start), day_start(end + datetime.timedelta(days=1))
    before_start, _before_end = previous_period(start, end)
    current = _member_sales(lo, hi, stores, db)
    previous = _member_sales(day_start(before_start), lo, stores, db)
    active = current.values("member_id").distinct().count()
    active_before = previous.values("member_id").distinct().count()
    returning = (
        previous.filter(member_id__in=current.values("member_id")).values("member_id").distinct().count()
        if active_before
        else 0
    )
    return active, active_before, returning


def _outstanding(end_at: datetime.datetime, stores, db) -> int:
    """Σ balances after every entry posted before `end_at`: today's balances minus what was
    posted since."""
    members = Member.objects.using(db).exclude(status=Member.Status.MERGED)
    now_total = _members_in(members, stores, "home_store_id").aggregate(total=Sum("points_balance"))["total"] or 0
    since = _members_in(LedgerEntry.objects.using(db).filter(created_at__gte=end_at), stores).aggregate(
        total=Sum("points")
    )["total"]
    return int(now_total - (since or 0))


def _expiring(end_at: datetime.datetime, stores, db) -> dict[str, int]:
    lots = _members_in(PointLot.objects.using(db).filter(remaining__gt=0, expires_at__gte=end_at), stores)
    sums = lots.aggregate(
        **{
            f"expiring_{days}": Sum(
                "remaining", filter=Q(expires_at__lt=end_at + datetime.timedelta(days=days)), default=0
            )
            for days in EXPIRING_DAYS
        }
    )
    return {key: int(value) for key, value in sums.items()}


def _tiers(end: datetime.date, end_at: datetime.datetime, stores, db) -> dict[str, int]:
    """Members per tier at `end_at` (the end of local day `end`): today's tiers of the members
    enrolled by then, with the changes made since undone."""
    ranks = dict(Tier.objects.using(db).values_list("pk", "rank"))
    if not ranks:
        return {}
    codes = dict(Tier.objects.using(db).values_list("pk", "code"))
    members = _members_in(
        Member.objects.using(db).exclude(status=Member.Status.MERGED).filter(enrolled_at__lt=end_at),
        stores,
        "home_store_id",
    )
    counts: dict[int, int] = defaultdict(int)
    for tier_id, n in (
        TierStatus.objects.using(db)
        .filter(member__in=members)
        .values_list("tier_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[tier_id] += n
    # A member gets a tier status with their first qualifying event: until then, the entry tier.
    counts[min(ranks, key=ranks.get)] += members.count() - sum(counts.values())
    if end < local_today():
        later = _members_in(TierChange.objects.using(db).filter(at__gte=end_at, member__enrolled_at__lt=end_at), stores)
        later = later.exclude(member__status=Member.Status.MERGED)
        for from_tier, to_tier, n in later.values_list("from_tier_id", "to_tier_id").annotate(n=Count("pk")).order_by():
            counts[to_tier] -= n
            counts[from_tier] += n
    return {codes[t]: counts.get(t, 0) for t in sorted(codes, key=lambda t: ranks[t])}


def _moves(start_at, end_at, stores, db) -> tuple[int, int]:
    changes = _members_in(TierChange.objects.using(db).filter(at__gte=start_at, at__lt=end_at), stores)
    moves = changes.aggregate(
        up=Count("pk", filter=Q(to_tier__rank__gt=F("from_tier__rank"))),
        down=Count("pk", filter=Q(to_tier__rank__lt=F("from_tier__rank"))),
    )
    return moves["up"], moves["down"]


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


def period_figures(*, start: datetime.date, end: datetime.date, scope: Scope) -> dict:
    """Every figure of `summary.json` for the local days `[start, end]` and `scope`."""
    db = reports_db()
    stores = scope.stores(db)
    data = _additive(start, end, stores, db)
    sales = dict.fromkeys(SALES_COLUMNS, 0)
    for day_sales in data.sales.values():
        for column in SALES_COLUMNS:
            sales[column] += day_sales[column]
    points = dict.fromkeys(Figure.values, 0)
    for day_points in data.points.values():
        for figure, value in day_points.items():
            points[figure] += value
    member_net, other_net = Decimal(sales["member_net"]), Decimal(sales["other_net"])
    net = member_net + other_net
    orders = sales["member_orders"] + sales["other_orders"]
    active, active_before, returning = _active_and_returning(start, end, stores, db)
    start_at, end_at = day_start(start), day_start(end + datetime.timedelta(days=1))
    outstanding = _outstanding(end_at, stores, db)
    tiers = _tiers(end, end_at, stores, db)
    upgrades, downgrades = _moves(start_at, end_at, stores, db)
    by_reward, by_campaign = _voucher_lists(data.vouchers, db)
    vouchers_issued = sum(v[0] for v in data.vouchers.values())
    vouchers_used = sum(v[1] for v in data.vouchers.values())
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
        "new_members": sum(data.enrolments.values()),
        "purchase_frequency": _ratio(sales["member_orders"], active, SHARE_PLACES),
        "returning_rate": _ratio(returning, active_before, SHARE_PLACES),
        "points_issued": points[Figure.ISSUED],
        "points_redeemed": points[Figure.REDEEMED],
        "points_expired": points[Figure.EXPIRED],
        "points_adjusted": points[Figure.ADJUSTED],
        "outstanding_points": outstanding,
        "liability_vnd": points_to_money(outstanding, programme_settings_get().point_value).quantize(MONEY_PLACES),
        **_expiring(end_at, stores, db),
        "vouchers_issued": vouchers_issued,
        "vouchers_used": vouchers_used,
        "voucher_use_rate": _ratio(vouchers_used, vouchers_issued, SHARE_PLACES),
        "vouchers_by_reward": by_reward,
        "vouchers_by_campaign": by_campaign,
        "tiers": tiers,
        "upgrades": upgrades,
        "downgrades": downgrades,
    }


def daily_series(*, start: datetime.date, end: datetime.date, scope: Scope) -> list[dict]:
    """One row per local day of `[start, end]`: the dashboard's charts and their tables."""
    db = reports_db()
    data = _additive(start, end, scope.stores(db), db)
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
