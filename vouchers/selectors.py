"""Reads of the vouchers app: the catalogue a till shows, what a reward costs a member, whether
it can be had, when a voucher expires, and a member's usable vouchers. Nothing here writes."""

from __future__ import annotations

import calendar
import datetime
import zoneinfo
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member
from members.selectors import member_resolve, programme_zone
from stores.models import Brand, Store
from tiers.errors import TiersNotConfigured
from tiers.models import Tier
from tiers.selectors import member_tier, tier_voucher_points_cost
from vouchers.codes import voucher_code_is_valid, voucher_code_normalise
from vouchers.errors import RewardUnavailable, VoucherNotFound
from vouchers.models import Reward, Voucher

_RewardBrand = Reward.brands.through
_RewardStore = Reward.stores.through


# --- Where a reward applies -------------------------------------------------------------------


def _unrestricted(ref: OuterRef) -> Q:
    """Rewards with neither brands nor stores chosen: usable everywhere."""
    return ~Exists(_RewardBrand.objects.filter(reward_id=ref)) & ~Exists(_RewardStore.objects.filter(reward_id=ref))


def rewards_usable_at_store_q(*, store: Store, reward_ref: str = "pk") -> Q:
    """Rewards whose vouchers can be used at `store`: no brand or store chosen (everywhere), the
    store's brand chosen, or the store itself chosen. `reward_ref="reward_id"` filters vouchers."""
    ref = OuterRef(reward_ref)
    return (
        _unrestricted(ref)
        | Exists(_RewardBrand.objects.filter(reward_id=ref, brand_id=store.brand_id))
        | Exists(_RewardStore.objects.filter(reward_id=ref, store_id=store.pk))
    )


def rewards_offered_at_brand_q(*, brand_id: int) -> Q:
    """Rewards a till of `brand` may hand out: usable somewhere in that brand (everywhere, the
    brand, or one of its stores)."""
    return (
        _unrestricted(OuterRef("pk"))
        | Exists(_RewardBrand.objects.filter(reward_id=OuterRef("pk"), brand_id=brand_id))
        | Exists(_RewardStore.objects.filter(reward_id=OuterRef("pk"), store__brand_id=brand_id))
    )


def reward_usable_at_store(*, reward: Reward, store: Store) -> bool:
    """Whether a voucher of `reward` can be used at `store` (uses prefetched brands / stores
    when present)."""
    brand_ids = {brand.pk for brand in reward.brands.all()}
    store_ids = {s.pk for s in reward.stores.all()}
    if not brand_ids and not store_ids:
        return True
    return store.brand_id in brand_ids or store.pk in store_ids


def reward_offered_at_brand(*, reward: Reward, brand: Brand | int) -> bool:
    brand_id = brand if isinstance(brand, int) else brand.pk
    brand_ids = {b.pk for b in reward.brands.all()}
    stores = list(reward.stores.all())
    if not brand_ids and not stores:
        return True
    return brand_id in brand_ids or any(s.brand_id == brand_id for s in stores)


def reward_is_active(*, reward: Reward, at: datetime.datetime) -> bool:
    """Whether the reward can be issued at `at` (its issuing window; the end is exclusive)."""
    if reward.active_from is not None and at < reward.active_from:
        return False
    return reward.active_until is None or at < reward.active_until


# --- The catalogue ----------------------------------------------------------------------------


def _member_tier_or_none(member: Member | None) -> Tier | None:
    if member is None:
        return None
    try:
        return member_tier(member=member)
    except TiersNotConfigured:
        return None


def rewards_for_tier_q(*, tier: Tier | None) -> Q:
    """Rewards open to every tier, or to `tier` among theirs (None: open to every tier only)."""
    links = Reward.tiers.through.objects.filter(reward_id=OuterRef("pk"))
    condition = ~Exists(links)
    if tier is not None:
        condition |= Exists(links.filter(tier_id=tier.pk))
    return condition


def reward_open_to_member(*, reward: Reward, member: Member) -> bool:
    """Whether the reward is kept for some tiers only, and the member is in none of them."""
    tier_ids = set(reward.tiers.values_list("pk", flat=True))
    if not tier_ids:
        return True
    tier = _member_tier_or_none(member)
    return tier is not None and tier.pk in tier_ids


def rewards_catalogue(
    *, store: Store, at: datetime.datetime | None = None, member: Member | None = None, for_anyone: bool = False
) -> list[Reward]:
    """What the till of `store` offers now: visible rewards within their issuing window, usable
    somewhere in the store's brand, not sold out, not past a fixed validity date. Cheapest
    first. A reward kept for some tiers is listed for a `member` of one of them only (no member:
    only the rewards open to every tier), unless `for_anyone`."""
    at = at or timezone.now()
    today = timezone.localtime(at, store.zone).date()
    rewards = Reward.objects.all()
    if not for_anyone:
        rewards = rewards.filter(rewards_for_tier_q(tier=_member_tier_or_none(member)))
    return list(
        rewards.filter(is_visible=True)
        .filter(Q(active_from__isnull=True) | Q(active_from__lte=at))
        .filter(Q(active_until__isnull=True) | Q(active_until__gt=at))
        .exclude(validity=Reward.Validity.FIXED_DATE, valid_until__lt=today)
        .filter(rewards_offered_at_brand_q(brand_id=store.brand_id))
        .exclude(stock__isnull=False, issued_count__gte=F("stock"))
        .order_by("points_cost", "code")
    )


# --- Points cost ------------------------------------------------------------------------------


def rewards_points_cost(*, rewards: list[Reward], member: Member | None) -> dict[int, int]:
    """Each reward's points cost for `member` after the tier's discount (the list price when no
    member is given), by reward id. The member's tier is looked up once."""
    if member is None:
        return {reward.pk: reward.points_cost for reward in rewards}
    try:
        tier = member_tier(member=member)
    except TiersNotConfigured:  # a programme without tiers: everybody pays the list price
        return {reward.pk: reward.points_cost for reward in rewards}
    return {
        reward.pk: (tier_voucher_points_cost(tier=tier, points_cost=reward.points_cost) if reward.points_cost else 0)
        for reward in rewards
    }


def reward_points_cost(*, reward: Reward, member: Member | None) -> int:
    return rewards_points_cost(rewards=[reward], member=member)[reward.pk]


# --- Validity and limits ----------------------------------------------------------------------


def voucher_expires_at(*, reward: Reward, issued_at: datetime.datetime, zone: zoneinfo.ZoneInfo) -> datetime.datetime:
    """The first moment a voucher of `reward` issued at `issued_at` can no longer be used: the
    midnight after its last valid day, in `zone` (the store's, or the programme's)."""
    issued_on = timezone.localtime(issued_at, zone).date()
    if reward.validity == Reward.Validity.DAYS:
        last_day = issued_on + datetime.timedelta(days=reward.validity_days or 0)
    elif reward.validity == Reward.Validity.FIXED_DATE:
        last_day = reward.valid_until or issued_on
    else:
        last_day = issued_on.replace(day=calendar.monthrange(issued_on.year, issued_on.month)[1])
    return datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)


def limit_period_start(*, period: str, at: datetime.datetime, zone: zoneinfo.ZoneInfo) -> datetime.datetime | None:
    """The start of the current limit period at `at` in `zone`; None for "in total"."""
    today = timezone.localtime(at, zone).date()
    if period == Reward.LimitPeriod.DAY:
        start = today
    elif period == Reward.LimitPeriod.MONTH:
        start = today.replace(day=1)
    elif period == Reward.LimitPeriod.YEAR:
        start = today.replace(month=1, day=1)
    else:
        return None
    return datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)


def _limit_counted(*, reward: Reward, at: datetime.datetime, zone: zoneinfo.ZoneInfo) -> QuerySet[Voucher]:
    """The vouchers of `reward` that count against its per-member limit at `at`: those issued in
    the current limit period, void ones excepted (voiding is how staff undo a mistaken issue)."""
    vouchers = Voucher.objects.filter(reward_id=reward.pk).exclude(status=Voucher.Status.VOID)
    start = limit_period_start(period=reward.limit_period, at=at, zone=zone)
    if start is not None:
        vouchers = vouchers.filter(issued_at__gte=start)
    return vouchers


def member_reward_count(*, reward: Reward, member: Member, at: datetime.datetime, zone: zoneinfo.ZoneInfo) -> int:
    """Vouchers of `reward` the member got in the current limit period."""
    return _limit_counted(reward=reward, at=at, zone=zone).filter(member_id=member.pk).count()


def member_reward_counts(
    *, reward: Reward, members: QuerySet | list[int], at: datetime.datetime, zone: zoneinfo.ZoneInfo
) -> dict[int, int]:
    """`member_reward_count` for many members in one query (members without any are absent).
    `members` is a list of ids or a queryset of members, used as a subquery."""
    vouchers = _limit_counted(reward=reward, at=at, zone=zone).filter(member_id__in=members)
    return dict(vouchers.order_by().values("member_id").annotate(n=Count("pk")).values_list("member_id", "n"))


def reward_limit_reached(*, reward: Reward, count: int) -> bool:
    """Whether a member holding `count` vouchers of `reward` in its limit period may get no more."""
    return reward.limit_per_member is not None and count >= reward.limit_per_member


def reward_stock_left(reward: Reward) -> int | None:
    """How many more vouchers of `reward` can be issued (None: no stock limit)."""
    if reward.stock is None:
        return None
    return max(0, reward.stock - reward.issued_count)


@dataclass(frozen=True)
class Refusal:
    reason: str
    detail: str

    def error(self) -> RewardUnavailable:
        return RewardUnavailable(self.detail, extra={"reason": self.reason})


def reward_refusal_for_anyone(*, reward: Reward, at: datetime.datetime, zone: zoneinfo.ZoneInfo) -> Refusal | None:
    """What stops `reward` being issued to anybody at `at` (issuing window, validity, stock), or
    None. The per-member rules are `reward_refusal`'s."""
    if not reward_is_active(reward=reward, at=at):
        return Refusal("not-active", _("Reward %(code)s cannot be issued at this time.") % {"code": reward.code})
    if voucher_expires_at(reward=reward, issued_at=at, zone=zone) <= at:
        return Refusal("not-active", _("Vouchers of reward %(code)s are no longer valid.") % {"code": reward.code})
    if reward_stock_left(reward) == 0:
        return Refusal("out-of-stock", _("Reward %(code)s is out of stock.") % {"code": reward.code})
    return None


def reward_refusal(
    *,
    reward: Reward,
    member: Member,
    at: datetime.datetime,
    zone: zoneinfo.ZoneInfo,
    brand_id: int | None = None,
    for_points: bool = False,
) -> Refusal | None:
    """Why `member` cannot get a voucher of `reward` now, or None when they can. Run it under
    the reward's row lock when issuing, so stock and limit cannot change underneath.

    `for_points`: an exchange at a till, which also needs the reward visible in the catalogue and
    offered at the till's brand (`brand_id`), and open to the member's tier."""
    if for_points and not reward.is_visible:
        return Refusal("hidden", _("Reward %(code)s is not offered in exchange for points.") % {"code": reward.code})
    refusal = reward_refusal_for_anyone(reward=reward, at=at, zone=zone)
    if refusal is not None and refusal.reason != "out-of-stock":
        return refusal
    if brand_id is not None and not reward_offered_at_brand(reward=reward, brand=brand_id):
        return Refusal("other-brand", _("Reward %(code)s is not offered at this brand.") % {"code": reward.code})
    if for_points and not reward_open_to_member(reward=reward, member=member):
        return Refusal("other-tier", _("Reward %(code)s is kept for members of other tiers.") % {"code": reward.code})
    if refusal is not None:
        return refusal
    if reward.limit_per_member is not None:
        count = member_reward_count(reward=reward, member=member, at=at, zone=zone)
        if reward_limit_reached(reward=reward, count=count):
            return Refusal(
                "member-limit",
                _("The member already has %(count)d vouchers of reward %(code)s, the limit %(period)s.")
                % {"count": count, "code": reward.code, "period": reward.get_limit_period_display()},
            )
    return None


# --- Vouchers ---------------------------------------------------------------------------------


def voucher_get_by_code(*, code: str) -> Voucher | None:
    """The voucher with this code, typed in any case, with or without dash or spaces."""
    normalised = voucher_code_normalise(code)
    if not voucher_code_is_valid(normalised):
        return None
    return (
        Voucher.objects.select_related("reward", "member")
        .prefetch_related("reward__brands", "reward__stores")
        .filter(code=normalised)
        .first()
    )


def voucher_get(*, code: str) -> Voucher:
    voucher = voucher_get_by_code(code=code)
    if voucher is None:
        raise VoucherNotFound(_("No voucher has the code %(code)s.") % {"code": voucher_code_normalise(code)})
    return voucher


def voucher_belongs_to(*, voucher: Voucher, member: Member | None) -> bool:
    """Whether `member` owns the voucher (vouchers of a member merged into `member` count)."""
    if member is None:
        return False
    if voucher.member_id == member.pk:
        return True
    return member_resolve(voucher.member).pk == member.pk


def _owners(member: Member) -> QuerySet[Member]:
    """The member and those merged into them, as a subquery. `member_id IN (...)` keeps the
    member's voucher index usable; the former `member_id = X OR member.merged_into_id = X` joined
    the members and read every issued voucher of the programme (150 ms of the POS lookup at
    250,000 vouchers, issue 18)."""
    return Member.objects.filter(Q(pk=member.pk) | Q(merged_into_id=member.pk)).values("pk")


def member_vouchers_usable_queryset(
    *, member: Member, store: Store | None = None, at: datetime.datetime | None = None
) -> QuerySet[Voucher]:
    at = at or timezone.now()
    vouchers = Voucher.objects.filter(
        member_id__in=_owners(member),
        status=Voucher.Status.ISSUED,
        expires_at__gt=at,
    )
    if store is not None:
        vouchers = vouchers.filter(rewards_usable_at_store_q(store=store, reward_ref="reward_id"))
    return vouchers.select_related("reward").order_by("expires_at", "pk")


def member_usable_vouchers(
    *, member: Member, store: Store | None = None, at: datetime.datetime | None = None
) -> list[Voucher]:
    """The member's vouchers that can be used now (issued, not expired), soonest-expiring first;
    with `store`, only those usable at that store. Each has its reward loaded: the POS shows
    `code`, `reward.display_name`, `reward.kind` and `expires_at`."""
    return list(member_vouchers_usable_queryset(member=member, store=store, at=at))


def zone_for(store: Store | None) -> zoneinfo.ZoneInfo:
    """The zone calendar rules use: the store's, else the programme's."""
    return store.zone if store is not None else programme_zone()


def member_vouchers_queryset(*, member: Member, at: datetime.datetime | None = None) -> QuerySet[Voucher]:
    """Every voucher of the member (those of members merged into them included): the usable ones
    first, soonest-expiring first, then the used, expired and void ones, newest first. Each has
    its reward loaded. For the member's own voucher page; page it."""
    at = at or timezone.now()
    usable = Q(status=Voucher.Status.ISSUED, expires_at__gt=at)
    return (
        Voucher.objects.filter(member_id__in=_owners(member))
        .annotate(
            spent=Case(When(usable, then=Value(0)), default=Value(1), output_field=IntegerField()),
            soonest=Case(When(usable, then=F("expires_at")), default=None),
        )
        .select_related("reward", "issued_store")
        .order_by("spent", "soonest", "-issued_at", "-pk")
    )
