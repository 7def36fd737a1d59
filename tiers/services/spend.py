"""Qualifying spend: a sale adds, a refund subtracts, and the tier moves at once.

Both services own their transaction and nest in the caller's (the POS checkout calls them
inside its own; `tier_spend_record` then opens no savepoint, since it refuses before it writes:
see `loyalty_site.core.transactions`). They lock the member's status row (`FOR NO KEY UPDATE`),
return the recorded outcome when the reference was recorded already (a retry), and otherwise
record the event, update the counters, move the tier and write its history and notification in
one go. A caller that locked the row itself (`tier_status_lock`, the checkout pricing the sale at
the tier it locked) passes the `StatusLock` it yielded to `tier_spend_record(lock=)`: the row is
not locked or read again, the look-up for a retry is skipped for the references the handle
vouches are new, and the counters are written back guarded by the values read under the lock
(a stale handle raises `StaleLock` and rolls the transaction back).

What counts where:
- the qualifying spend counts events since `counted_from` (enrolment or the last downgrade),
  within the rolling window when the programme uses one;
- the retention cycle counts events since the cycle started;
- a refund counts at the time of the sale it refunds: it comes off a counter only if that sale
  is still counted there (a sale from before a downgrade was already wiped)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.money import ZERO, points_for_amount, share_of, to_decimal
from loyalty_site.core.transactions import LockScope, lock_scope, service_transaction, writes
from members.models import Member
from members.selectors import programme_settings_get
from tiers.errors import TierReferenceReused
from tiers.models import Tier, TierChange, TierSettings, TierSpend, TierStatus
from tiers.selectors import local_date, tier_settings_get, tier_supported_by, tiers_ladder
from tiers.services.common import (
    AFTER_THE_SALE,
    apply,
    basis_field,
    change_record,
    clean_amount,
    clean_moment,
    clean_reference,
    counts_in_cycle,
    counts_in_window,
    cycle_spend_from_events,
    cycle_values,
    notify_tier_changed,
    now,
    rolling_qualifying,
    save_status,
    snapshot,
    status_lock,
    status_values,
    tier_of,
)

STATUS_FIELDS = (
    "tier",
    "since",
    "qualifying_spend",
    "cycle_started_at",
    "retention_deadline",
    "cycle_spend",
)


@dataclass(frozen=True)
class TierOutcome:
    """What a qualifying event did. The POS earns at `tier_before` (a sale that crosses a
    threshold earns at the tier held before it) and answers `tier_changed` and `tier_after`."""

    tier_before: Tier
    tier_after: Tier
    qualifying_spend: Decimal
    replayed: bool = False
    change: TierChange | None = None

    @property
    def tier_changed(self) -> bool:
        return self.tier_before.pk != self.tier_after.pk


@dataclass(frozen=True)
class StatusLock:
    """The member's tier status row, locked by `tier_status_lock` in the transaction still
    running, for as long as its `with` block runs (`status` None: the member has no row yet, they
    are in the entry tier); and the references the caller vouches are new in this transaction."""

    member_id: int
    status: TierStatus | None
    scope: LockScope = dataclasses.field(repr=False, compare=False)
    new_references: frozenset[str] = frozenset()

    def vouching_new(self, *references: str) -> StatusLock:
        """The same lock, also vouching that `references` name rows inserted in this
        transaction (a new sale), so `tier_spend_record` skips its look-up for a retry."""
        return dataclasses.replace(self, new_references=self.new_references | frozenset(references))


def _replay(
    reference: str, *, member: Member, kind: str, amount: Decimal | None, status: TierStatus | None
) -> TierOutcome | None:
    # One narrow query on the hot path (a join to the two tiers costs more to plan than to run);
    # the tiers come from the cached ladder.
    event = TierSpend.objects.filter(reference=reference).first()
    if event is None:
        return None
    event.tier_before, event.tier_after = tier_of(event.tier_before_id), tier_of(event.tier_after_id)
    if event.member_id != member.pk or event.kind != kind or (amount is not None and abs(event.amount) != amount):
        raise TierReferenceReused(
            _("The reference %(reference)s was already used for another qualifying spend.") % {"reference": reference}
        )
    return TierOutcome(
        tier_before=event.tier_before,
        tier_after=event.tier_after,
        qualifying_spend=(status or status_lock(member)).qualifying_spend,
        replayed=True,
    )


def _insert_event(event: TierSpend, *, savepoint: bool = True) -> None:
    try:
        with transaction.atomic(savepoint=savepoint):
            event.save(force_insert=True)
    except IntegrityError:
        if not savepoint:
            raise  # the transaction is aborted (see `loyalty_site.core.transactions.writes`)
        # The same reference committed meanwhile for another member (whose row we do not lock).
        raise TierReferenceReused(
            _("The reference %(reference)s was already used for another qualifying spend.")
            % {"reference": event.reference}
        ) from None


def _points_at_tier(amount: Decimal, tier: Tier) -> int:
    programme = programme_settings_get()
    return points_for_amount(
        amount,
        rate_percent=tier.earn_rate_percent,
        point_value=programme.point_value,
        mode=programme.rounding_mode,
    )


def _clean_points(points: object) -> int | None:
    if points is None:
        return None
    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
        raise ValidationFailed(errors={"points": [_("Enter a whole number of points, zero or more.")]})
    return points


def _quantity(programme: TierSettings, *, amount: Decimal, points: int) -> Decimal:
    return Decimal(points) if programme.basis == TierSettings.Basis.POINTS else amount


def tier_spend_record(
    *,
    member: Member,
    amount: Decimal,
    reference: str,
    occurred_at: datetime.datetime | None = None,
    points: int | None = None,
    lock: StatusLock | None = None,
) -> TierOutcome:
    """Add a sale's qualifying spend (`amount`, the earn base in VND) and upgrade the member at
    once to the highest tier the qualifying spend reaches. `points` are the points the sale
    earned; when the programme counts points and they are not given, they are computed at the
    member's current earn rate without multipliers. Idempotent on `reference`: a retry returns
    the outcome recorded the first time and changes nothing. `lock`: the handle of the caller's
    `tier_status_lock` on the member (the row is not locked or read again); when it vouches for
    `reference` as new (the caller inserted the sale in this very transaction), the look-up for
    a retry is skipped; the unique constraint still refuses a duplicate, by rolling the whole
    transaction back."""
    amount = clean_amount(amount)
    reference = clean_reference(reference)
    occurred_at = clean_moment(occurred_at)
    points = _clean_points(points)
    programme = tier_settings_get()
    moment = now()
    vouched_new, status = False, None
    if lock is not None:
        lock.scope.require_open()
        if lock.member_id != member.pk:
            raise ValueError(f"the lock holds member {lock.member_id}'s tier status, not {member.pk}'s")
        vouched_new, status = reference in lock.new_references, lock.status
    with service_transaction():
        if status is None:
            # A member's first sale creates the status row: only once nothing can be refused.
            status = status_lock(member, create=vouched_new)
        if not vouched_new:
            replayed = _replay(reference, member=member, kind=TierSpend.Kind.SALE, amount=amount, status=status)
            if replayed is not None:
                return replayed
            status = status or status_lock(member)
        before = status.tier
        if points is None:
            points = _points_at_tier(amount, before) if programme.basis == TierSettings.Basis.POINTS else 0
        state_before = snapshot(status)
        read = status_values(status, STATUS_FIELDS)
        quantity = _quantity(programme, amount=amount, points=points)
        event = TierSpend(
            member_id=member.pk,
            kind=TierSpend.Kind.SALE,
            reference=reference,
            amount=amount,
            points=points,
            occurred_at=occurred_at,
            recorded_at=moment,
            tier_before=before,
            tier_after=before,
        )
        with writes():
            _insert_event(event, savepoint=False)
            if programme.window == TierSettings.Window.ROLLING:
                status.qualifying_spend = rolling_qualifying(status, programme, moment)
            elif counts_in_window(programme, status, moment, occurred_at):
                status.qualifying_spend += quantity
            replayed_tier = _replay_late_sale(status, programme, occurred_at) if occurred_at < status.since else None
            if replayed_tier is not None:
                target = replayed_tier  # `status` holds the tier, since and cycle the replay gave
            else:
                if counts_in_cycle(status, occurred_at):
                    status.cycle_spend += quantity
                target = tier_supported_by(qualifying=status.qualifying_spend, ladder=tiers_ladder())
                if target.rank > before.rank:
                    status.tier = target
                    status.since = max(occurred_at, status.since)
                    apply(status, cycle_values(target, status.since + AFTER_THE_SALE))
                    # Sales recorded before this one that happened after it count towards keeping it.
                    status.cycle_spend = cycle_spend_from_events(status, programme)
            change = None
            if target.rank > before.rank:
                change = change_record(
                    member_id=member.pk,
                    from_tier=before,
                    to_tier=target,
                    kind=TierChange.Kind.UPGRADE,
                    reference=reference,
                    at=moment,
                    state_before=state_before,
                )
                TierSpend.objects.filter(pk=event.pk).update(tier_after=target)
            save_status(status, STATUS_FIELDS, read=read)
            if change is not None:
                notify_tier_changed(member=_member(member), tier=target, dedupe_key=f"tier-change:{change.pk}")
    return TierOutcome(
        tier_before=before, tier_after=status.tier, qualifying_spend=status.qualifying_spend, change=change
    )


# How many of a member's latest tier changes a late-synced sale looks back through: a chain of
# upgrades by sales is as long as the ladder; anything older is not rewound.
_REPLAY_CHANGES = 10


def _replay_late_sale(status: TierStatus, programme: TierSettings, occurred_at: datetime.datetime) -> Tier | None:
    """A sale that happened before the member's current tier began (`occurred_at < since`: a
    till synced it late) counts exactly as if it had been recorded then (risk.md "Tills"). The
    upgrades by sales that began after it are rewound to the state before them, and the member's
    sales since then (this one included, each net of its refunds) are replayed in the order they
    happened: each tier is reached at the moment of the sale that reached it, its cycle starts
    just after that sale, and every later sale counts towards keeping it. `status` is updated
    (tier, since, cycle) and the tier returned; None when the replay would not keep the member
    at least in the tier they hold (spend refunded since an upgrade: nothing is taken away here)
    or when a downgrade or staff change came between the sale and now (the tier then moves from
    that change, as for any sale), and `status` is then left as it was. Only late sales come
    here: a query for the changes, one for the events, one for the cycle's spend."""
    changes = list(TierChange.objects.filter(member_id=status.member_id).order_by("-at", "-pk")[:_REPLAY_CHANGES])
    base = {
        "tier": status.tier,
        "since": status.since,
        "cycle_started_at": status.cycle_started_at,
        "retention_deadline": status.retention_deadline,
    }
    rewound = 0
    for change in changes:
        if base["since"] <= occurred_at or change.kind != TierChange.Kind.UPGRADE or not change.state_before:
            break
        before = change.state_before
        base = {
            "tier": tier_of(before["tier_id"]),
            "since": datetime.datetime.fromisoformat(before["since"]),
            "cycle_started_at": _moment(before.get("cycle_started_at")),
            "retention_deadline": _day(before.get("retention_deadline")),
        }
        rewound += 1
    # The status row as created (entry tier since enrolment): counted from before enrolment, as
    # far back as a sale may be dated, so its tier may begin there too.
    original = rewound == len(changes) < _REPLAY_CHANGES and base["tier"].pk == tiers_ladder()[0].pk
    if not original and base["since"] > occurred_at:
        return None  # a downgrade or a staff change since the sale: the tier moves from there, as before
    floor = status.counted_from if original else max(base["since"], status.counted_from)
    events = list(
        TierSpend.objects.filter(member_id=status.member_id, occurred_at__gte=floor)
        .order_by("occurred_at", "pk")
        .values_list("pk", "kind", "original_id", "occurred_at", basis_field(programme))
    )
    net: dict[int, Decimal] = {}
    for pk, kind, original_id, _at, quantity in events:
        key = pk if kind == TierSpend.Kind.SALE else original_id
        net[key] = net.get(key, ZERO) + to_decimal(quantity)
    # The qualifying spend just before `floor`: what it is now less every sale replayed (a refund
    # of a sale the tiers never saw, keyed None, counts now and is not replayed).
    running = status.qualifying_spend - sum((v for k, v in net.items() if k is not None), ZERO)
    ladder = tiers_ladder()
    replay = TierStatus(member_id=status.member_id, floor_tier_id=status.floor_tier_id, **base)
    for pk, kind, _original_id, at, _quantity in events:
        if kind != TierSpend.Kind.SALE:
            continue
        running += net[pk]
        target = tier_supported_by(qualifying=running, ladder=ladder)
        if target.rank > replay.tier.rank:
            replay.tier = target
            replay.since = max(at, floor)
            apply(replay, cycle_values(target, replay.since + AFTER_THE_SALE))
    if replay.tier.rank < status.tier.rank:
        return None
    replay.cycle_spend = cycle_spend_from_events(replay, programme)
    apply(
        status,
        {
            name: getattr(replay, name)
            for name in ("tier", "since", "cycle_started_at", "retention_deadline", "cycle_spend")
        },
    )
    return status.tier


def _moment(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value else None


def _day(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


@contextlib.contextmanager
def tier_status_lock(*, member: Member) -> Iterator[StatusLock]:
    """Lock the member's status row, in the caller's transaction (no savepoint) or in one of its
    own, for a caller that reads the tier before it records the spend (the checkout prices the
    sale at the tier it locked, then passes the handle to `tier_spend_record(lock=)`). The
    handle's `status` is None when the member has no row yet: they are in the entry tier, and
    `tier_spend_record` creates the row (so nothing is written before the caller's own
    refusals). The handle is good until the block ends."""
    with lock_scope() as scope:
        yield StatusLock(member_id=member.pk, status=status_lock(member, create=False), scope=scope)


def _member(member: Member) -> Member:
    """A fresh member row for the notification (the caller's instance may be a bare
    `Member(pk=...)`); only loaded when the tier changed."""
    return Member.objects.select_related("home_store").get(pk=member.pk)


def tier_spend_reverse(
    *,
    member: Member,
    amount: Decimal,
    reference: str,
    original_reference: str,
    full: bool,
    points: int | None = None,
) -> TierOutcome:
    """Subtract a refund's qualifying spend (`amount`, VND) from the counters that counted the
    sale `original_reference`. `full`: the whole sale was refunded (also assumed when the
    refunds now add up to the sale). A full refund of the sale that upgraded the member, when
    that upgrade is still the member's latest change, reverts it if the qualifying spend no
    longer reaches the tier: back to the tier and cycle held before the sale (or the tier the
    spend still supports, if higher), never below a staff floor.

    `points`: the points the refund reverses (default: the sale's points in proportion).
    Refunds never take off more than the sale added: a refund reaching (or, by a caller's
    rounding, passing) what is left of the sale takes off exactly what is left and counts as
    full. Idempotent on `reference` (a retry returns the first outcome; the amount is not
    compared, since it may have been capped)."""
    amount = clean_amount(amount)
    reference = clean_reference(reference)
    original_reference = clean_reference(original_reference, "original_reference")
    points = _clean_points(points)
    programme = tier_settings_get()
    moment = now()
    with transaction.atomic():
        status = status_lock(member)
        replayed = _replay(reference, member=member, kind=TierSpend.Kind.REFUND, amount=None, status=status)
        if replayed is not None:
            return replayed
        before = status.tier
        original = TierSpend.objects.filter(
            reference=original_reference, kind=TierSpend.Kind.SALE, member_id=member.pk
        ).first()
        if original is not None:
            refunded = -(original.refunds.aggregate(total=Sum("amount"))["total"] or ZERO)
            points_refunded = -(original.refunds.aggregate(total=Sum("points"))["total"] or 0)
            left = max(original.amount - refunded, ZERO)
            points_left = max(original.points - points_refunded, 0)
            if full or amount >= left:
                full, amount, points = True, left, points_left
            elif points is None:
                points = min(share_of(original.points, amount, original.amount), points_left)
            else:
                points = min(points, points_left)
            counts_at = original.occurred_at
        else:
            # A sale the tiers never saw (recorded before this app, or by another system):
            # take it off the counters as if it were recent.
            points = points if points is not None else 0
            counts_at = moment
        quantity = _quantity(programme, amount=amount, points=points)
        event = TierSpend(
            member_id=member.pk,
            kind=TierSpend.Kind.REFUND,
            reference=reference,
            original=original,
            amount=-amount,
            points=-points,
            occurred_at=counts_at,
            recorded_at=moment,
            tier_before=before,
            tier_after=before,
        )
        _insert_event(event)
        if programme.window == TierSettings.Window.ROLLING:
            status.qualifying_spend = rolling_qualifying(status, programme, moment)
        elif counts_in_window(programme, status, moment, counts_at):
            status.qualifying_spend = max(status.qualifying_spend - quantity, ZERO)
        if counts_in_cycle(status, counts_at):
            status.cycle_spend = max(status.cycle_spend - quantity, ZERO)

        change = None
        if full and original is not None:
            change = _revert_upgrade(status, original=original, reference=reference, at=moment)
            if change is not None:
                TierSpend.objects.filter(pk=event.pk).update(tier_after=status.tier)
        save_status(status, STATUS_FIELDS)
        if change is not None:
            notify_tier_changed(member=_member(member), tier=status.tier, dedupe_key=f"tier-change:{change.pk}")
    return TierOutcome(
        tier_before=before, tier_after=status.tier, qualifying_spend=status.qualifying_spend, change=change
    )


def _revert_upgrade(status: TierStatus, *, original: TierSpend, reference: str, at: datetime.datetime):
    upgrade = (
        TierChange.objects.filter(member_id=status.member_id)
        .select_related("from_tier", "to_tier")
        .order_by("-at", "-pk")
        .first()
    )
    if (
        upgrade is None
        or upgrade.kind != TierChange.Kind.UPGRADE
        or upgrade.reference != original.reference
        or upgrade.to_tier_id != status.tier_id
    ):
        return None
    ladder = tiers_ladder()
    supported = tier_supported_by(qualifying=status.qualifying_spend, ladder=ladder)
    if supported.rank >= upgrade.to_tier.rank:
        return None
    target = supported if supported.rank > upgrade.from_tier.rank else upgrade.from_tier
    if status.floor_until is not None and status.floor_until >= local_date(at):
        floor = Tier.objects.get(pk=status.floor_tier_id)
        if floor.rank > target.rank:
            target = floor
    if target.pk == status.tier_id:
        return None
    previous = upgrade.state_before or {}
    spent_since = status.cycle_spend
    if target.pk == upgrade.from_tier_id and previous.get("since"):
        status.since = datetime.datetime.fromisoformat(previous["since"])
        if target.has_retention and previous.get("cycle_started_at"):
            status.cycle_started_at = datetime.datetime.fromisoformat(previous["cycle_started_at"])
            status.retention_deadline = datetime.date.fromisoformat(previous["retention_deadline"])
            status.cycle_spend = to_decimal(previous.get("cycle_spend") or 0) + spent_since
        else:
            apply(status, cycle_values(target, at))
    else:
        status.since = at
        apply(status, cycle_values(target, at))
    from_tier = status.tier
    status.tier = target
    return change_record(
        member_id=status.member_id,
        from_tier=from_tier,
        to_tier=target,
        kind=TierChange.Kind.REFUND_REVERTED,
        reference=reference,
        note=_("The refund of %(reference)s reverted the upgrade.") % {"reference": original.reference},
        at=at,
    )
