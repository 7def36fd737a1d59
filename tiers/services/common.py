"""Pieces every tier service shares: locking a member's status row (creating it lazily),
starting retention cycles, writing history and telling members their tier changed."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.clock import clock_skew
from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.events import EventKind, EventSpec, record_events_bulk
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, ZERO, to_decimal
from loyalty_site.core.transactions import StaleLock
from members.errors import MemberNotFound
from members.models import Member
from members.selectors import programme_settings_get
from notifications.models import Event
from notifications.selectors import member_language
from notifications.services import message_enqueue, messages_enqueue_bulk
from tiers.models import Tier, TierChange, TierSettings, TierSpend, TierStatus
from tiers.selectors import cycle_deadline, entry_tier, local_date, start_of_day, tiers_ladder

# The moment a member reaches a tier by a sale, the new cycle starts just after that sale, so
# the sale itself counts towards the qualifying spend that reached the tier, not towards
# keeping it (and refunding it later takes nothing from the new cycle).
AFTER_THE_SALE = datetime.timedelta(microseconds=1)
NOTIFY_CHUNK = 500


def now() -> datetime.datetime:
    return timezone.now()


# --- Input ------------------------------------------------------------------------------------


def clean_amount(value: object, field: str = "amount") -> Decimal:
    try:
        amount = to_decimal(value)
    except ValueError:
        raise ValidationFailed(errors={field: [_("Enter an amount.")]}) from None
    if amount < 0:
        raise ValidationFailed(errors={field: [_("The amount cannot be negative.")]})
    if amount.as_tuple().exponent < -2:
        # Trailing zeros (125000.000) are fine; a real third decimal is a caller's mistake.
        exact = amount.quantize(Decimal("0.01"))
        if exact != amount:
            raise ValidationFailed(errors={field: [_("Give the amount with at most two decimal places.")]})
        amount = exact
    return amount


def clean_reference(value: object, field: str = "reference") -> str:
    reference = str(value or "").strip()
    if not reference:
        raise ValidationFailed(errors={field: [_("A reference is required.")]})
    if len(reference) > 200:
        raise ValidationFailed(errors={field: [_("The reference is longer than 200 characters.")]})
    return reference


def clean_moment(value: datetime.datetime | None, field: str = "occurred_at") -> datetime.datetime:
    if value is None:
        return now()
    if not isinstance(value, datetime.datetime) or timezone.is_naive(value):
        raise ValidationFailed(errors={field: [_("Give the time with its time zone.")]})
    if value > now() + clock_skew():
        raise ValidationFailed(errors={field: [_("The time cannot be in the future.")]})
    return value


# --- The status row ---------------------------------------------------------------------------


def status_lock(member: Member, *, create: bool = True) -> TierStatus | None:
    """The member's status row, locked (`FOR NO KEY UPDATE`) until the end of the caller's
    transaction. A member without one is in the entry tier: the row is created here, with an
    insert that ignores a concurrent insert of the same row, then locked like any other
    (`create=False`: None instead, for a caller that may still refuse before it writes)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("status_lock must run inside a transaction")
    locked = TierStatus.objects.select_for_update(no_key=True).filter(member_id=member.pk)
    status = locked.first()
    if status is None and not create:
        return None
    if status is None:
        enrolled_at = Member.objects.filter(pk=member.pk).values_list("enrolled_at", flat=True).first()
        if enrolled_at is None:
            raise MemberNotFound(_("No member with id %(id)s.") % {"id": member.pk})
        # Spend counts from enrolment; but a till that was offline may sync an enrolment
        # together with a sale made a few days before it, so count back as far as sales may
        # be dated (the programme's back-dating limit).
        counted_from = enrolled_at - datetime.timedelta(days=programme_settings_get().backdating_limit_days)
        TierStatus.objects.bulk_create(
            [
                TierStatus(
                    member_id=member.pk,
                    tier=entry_tier(),
                    since=enrolled_at,
                    counted_from=counted_from,
                    updated_at=now(),
                )
            ],
            ignore_conflicts=True,
        )
        status = locked.get()
    # Not a join: that would lock the tier rows too. The ladder is cached (tiers.selectors).
    status.tier = tier_of(status.tier_id)
    return status


def tier_of(tier_id: int) -> Tier:
    """The tier with this id, from the ladder."""
    for tier in tiers_ladder():
        if tier.pk == tier_id:
            return tier
    return Tier.objects.get(pk=tier_id)


def snapshot(status: TierStatus) -> dict:
    """What a reverted upgrade restores."""
    return {
        "tier_id": status.tier_id,
        "since": status.since.isoformat() if status.since else None,
        "cycle_started_at": status.cycle_started_at.isoformat() if status.cycle_started_at else None,
        "retention_deadline": status.retention_deadline.isoformat() if status.retention_deadline else None,
        "cycle_spend": str(status.cycle_spend),
    }


def cycle_values(tier: Tier, started_at: datetime.datetime) -> dict:
    """The cycle fields of a member who enters `tier` at `started_at` (none without a rule)."""
    if not tier.has_retention:
        return {"cycle_started_at": None, "retention_deadline": None, "cycle_spend": ZERO}
    return {
        "cycle_started_at": started_at,
        "retention_deadline": cycle_deadline(local_date(started_at), tier.retention_months),
        "cycle_spend": ZERO,
    }


def apply(status: TierStatus, values: dict) -> None:
    for name, value in values.items():
        setattr(status, name, value)


def status_values(status: TierStatus, fields: Iterable[str]) -> dict:
    """The columns of `fields` (`tier` as `tier_id`) as `status` holds them."""
    columns = [TierStatus._meta.get_field(name).attname for name in fields]
    return {column: getattr(status, column) for column in columns}


def save_status(status: TierStatus, fields: Iterable[str], *, read: dict | None = None) -> None:
    """Write `fields` of `status`. `read`: the columns as read under the lock (`status_values`);
    the UPDATE is then guarded by them and raises StaleLock when they no longer hold (the
    caller's copy of the row is stale: see `loyalty_site.core.transactions`). Same statement."""
    status.updated_at = now()
    status.full_clean(exclude=["member", "tier", "floor_tier"], validate_unique=False, validate_constraints=False)
    if read is None:
        status.save(update_fields=[*set(fields), "updated_at"])
        return
    written = TierStatus.objects.filter(pk=status.pk, **read).update(
        **status_values(status, fields), updated_at=status.updated_at
    )
    if not written:
        raise StaleLock(
            f"member {status.member_id}'s tier status changed under a lock handle: it was used after a rollback"
        )


# --- Qualifying spend -------------------------------------------------------------------------


def window_start(programme: TierSettings, at: datetime.datetime) -> datetime.datetime | None:
    """The start of the rolling window at `at` (None when spend counts since enrolment)."""
    if programme.window != TierSettings.Window.ROLLING:
        return None
    return start_of_day(local_date(at) - relativedelta(months=programme.window_months))


def basis_field(programme: TierSettings) -> str:
    return "points" if programme.basis == TierSettings.Basis.POINTS else "amount"


def rolling_qualifying(status: TierStatus, programme: TierSettings, at: datetime.datetime) -> Decimal:
    """The carried credit plus every qualifying event of the member in the window at `at`."""
    start = max(window_start(programme, at), status.counted_from)
    total = TierSpend.objects.filter(member_id=status.member_id, occurred_at__gte=start).aggregate(
        total=Sum(basis_field(programme))
    )["total"]
    return max(status.carried_spend + to_decimal(total or 0), ZERO)


def counts_in_window(
    programme: TierSettings, status: TierStatus, at: datetime.datetime, when: datetime.datetime
) -> bool:
    start = window_start(programme, at)
    return when >= status.counted_from and (start is None or when >= start)


# --- History and notifications ----------------------------------------------------------------


def change_record(
    *,
    member_id: int,
    from_tier: Tier,
    to_tier: Tier,
    kind: str,
    reference: str = "",
    note: str = "",
    staff_user=None,
    at: datetime.datetime | None = None,
    state_before: dict | None = None,
) -> TierChange:
    change = TierChange.objects.create(
        member_id=member_id,
        from_tier=from_tier,
        to_tier=to_tier,
        kind=kind,
        reference=reference[:200],
        note=note[:500],
        staff_user=staff_user,
        at=at or now(),
        state_before=state_before,
    )
    record_events_bulk([tier_changed_event(change, from_tier=from_tier, to_tier=to_tier)])
    return change


def tier_changed_event(change: TierChange, *, from_tier: Tier, to_tier: Tier) -> EventSpec:
    """The `tier.changed` event of a tier history row (issue 17)."""
    return EventSpec(
        kind=EventKind.TIER_CHANGED,
        subject_type="tier_change",
        subject_id=change.pk,
        member_id=change.member_id,
        payload={
            "member_id": change.member_id,
            "from_tier": from_tier.code,
            "to_tier": to_tier.code,
            "reason": change.kind,
            "reference": change.reference,
            "at": change.at,
        },
        occurred_at=change.at,
    )


def _tier_name(tier: Tier, language: str) -> str:
    return tier.name_en if language == "en" and tier.name_en else tier.name


def notify_tier_changed(*, member: Member, tier: Tier, dedupe_key: str, language: str | None = None):
    """Enqueue the member's `tier-changed` message in the caller's transaction (it is sent
    after commit); the dedupe key makes a retry enqueue nothing new. The tier's name is given
    in the member's language. A merged record is not told: `message_enqueue` would send it to
    the survivor, whose tier is another one."""
    if member.status == Member.Status.MERGED:
        return []
    language = language or member_language(member)
    return message_enqueue(
        member=member,
        event=Event.TIER_CHANGED,
        context={"tier_name": _tier_name(tier, language)},
        dedupe_key=dedupe_key,
    )


def notify_many(member_ids: Sequence[int], *, tier: Tier, dedupe_key: str) -> int:
    """Tell each of `member_ids` that they are now in `tier`, as `notify_tier_changed` does for
    one (the tier's name in each member's language, merged records not told), set-based: one
    `messages_enqueue_bulk` per NOTIFY_CHUNK members, so memory stays flat however many move.
    Returns the messages, as `notify_tier_changed` returns them (new or already there)."""
    written = 0
    for start in range(0, len(member_ids), NOTIFY_CHUNK):
        chunk = list(member_ids[start : start + NOTIFY_CHUNK])
        written += messages_enqueue_bulk(
            members=Member.objects.filter(pk__in=chunk).exclude(status=Member.Status.MERGED),
            event=Event.TIER_CHANGED,
            context_for=lambda _member_id, language: {"tier_name": _tier_name(tier, language)},
            dedupe_key=dedupe_key,
        ).messages
    return written


def history_many(
    member_ids: Sequence[int],
    *,
    from_tier: Tier,
    to_tier: Tier,
    kind: str,
    reference: str,
    at: datetime.datetime,
    note: str = "",
    staff_user=None,
) -> None:
    changes = TierChange.objects.bulk_create(
        [
            TierChange(
                member_id=member_id,
                from_tier=from_tier,
                to_tier=to_tier,
                kind=kind,
                reference=reference,
                note=note,
                staff_user=staff_user,
                at=at,
            )
            for member_id in member_ids
        ],
        batch_size=1000,
    )
    record_events_bulk(tier_changed_event(change, from_tier=from_tier, to_tier=to_tier) for change in changes)


def active_floor(as_of: datetime.date) -> Q:
    return Q(floor_until__isnull=False, floor_until__gte=as_of)


def qualifying_refresh(statuses, programme: TierSettings, at: datetime.datetime) -> int:
    """Recompute the qualifying spend of `statuses` from their recorded events, set-based (one
    UPDATE): the carried credit plus every event since `counted_from`, within the rolling
    window when there is one. Used when spend leaves the rolling window, and when the basis or
    the window of the programme changes."""
    money = DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    events = TierSpend.objects.filter(member_id=OuterRef("member_id"), occurred_at__gte=OuterRef("counted_from"))
    start = window_start(programme, at)
    if start is not None:
        events = events.filter(occurred_at__gte=start)
    total = events.order_by().values("member_id").annotate(total=Sum(basis_field(programme))).values("total")
    return statuses.update(
        qualifying_spend=Greatest(
            F("carried_spend") + Cast(Coalesce(Subquery(total), Value(0)), output_field=money),
            Value(Decimal(0), output_field=money),
            output_field=money,
        ),
        updated_at=now(),
    )


def counts_in_cycle(status: TierStatus, when: datetime.datetime) -> bool:
    """Whether spend at `when` counts towards the member's current retention cycle: from the
    start of the cycle through its last day, or the last day of its grace period."""
    if status.cycle_started_at is None or status.retention_deadline is None or when < status.cycle_started_at:
        return False
    last_day = status.retention_deadline + datetime.timedelta(days=status.tier.grace_days)
    return local_date(when) <= last_day


def cycle_spend_from_events(status: TierStatus, programme: TierSettings) -> Decimal:
    """The spend of the member's current retention cycle, from the recorded events: every sale
    and refund that counts at a moment within the cycle (a refund counts at its sale's moment),
    whenever it was recorded. What `counts_in_cycle` adds up one event at a time, for when
    events reach the cycle out of order (a late-synced sale opening it)."""
    if status.cycle_started_at is None or status.retention_deadline is None:
        return ZERO
    after_last_day = status.retention_deadline + datetime.timedelta(days=status.tier.grace_days + 1)
    total = TierSpend.objects.filter(
        member_id=status.member_id,
        occurred_at__gte=status.cycle_started_at,
        occurred_at__lt=start_of_day(after_last_day),
    ).aggregate(total=Sum(basis_field(programme)))["total"]
    return max(to_decimal(total or 0), ZERO)
