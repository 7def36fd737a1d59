"""The point ledger: the only code that writes ledger entries, lots and members' balances.

Every posting runs in one transaction that first locks the member's row
(`SELECT ... FOR NO KEY UPDATE`: a plain FOR UPDATE would also block the foreign-key checks of
the ledger rows being inserted), then, under the lock:
1. returns the existing entry if the idempotency reference was already posted (a retry);
2. checks the rule (spendable points, blocked member, reversible amount);
3. appends the entry, moves points into or out of lots, and updates the cached balance.

`points_earn` and `points_spend` also run inside a caller's transaction (the POS checkout) without
savepoints: they refuse before their first write. A caller that locked the member with
`member_lock` passes the `MemberLock` it yielded (`lock=`): the service then neither locks nor
reads the row again, and skips the look-up for a retry for the references the handle vouches
are new in this transaction (`MemberLock.vouching_new`). The cached balance is moved with an
UPDATE guarded by the balance and debt the posting was computed from, so a stale handle (a
rolled-back savepoint) raises `StaleLock` instead of writing a wrong balance
(`loyalty_site.core.transactions`).

Lots are consumed soonest-expiring first. A credit while the member owes points (a claw-back
left the balance negative) pays the debt first. See `Member` for why the database constraints
still protect every spend.

Callers pass a `reference` that names the business event (`sale:42:earn`,
`redemption:17`, `refund:9:reverse-earn`); the same reference posted twice posts once."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.clock import clock_skew
from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.events import EventKind, EventSpec, record_event
from loyalty_site.core.transactions import LockScope, StaleLock, lock_scope, service_transaction, writes
from members.errors import (
    InsufficientPoints,
    LedgerReferenceReused,
    MemberBlocked,
    MemberMerged,
    MemberNotFound,
    ReversalNotAllowed,
    member_in_debt,
)
from members.models import LedgerEntry, LotMovement, Member, PointLot, ProgrammeSettings
from members.selectors import lots_open, programme_settings_get, programme_zone

Kind = LedgerEntry.Kind


# --- Locking ----------------------------------------------------------------------------------


def members_lock(*, member_ids: Iterable[int]) -> dict[int, Member]:
    """Lock several members' rows in primary-key order (so two transactions locking the same
    members can never deadlock) and return them by id. Must run inside a transaction; other
    apps call it when one transaction moves points of several members (a sale crediting the
    referrer too). The rows are not a handle: the ledger locks again for a caller that passes
    them (one more statement); `member_lock` is the lock to hand to the ledger."""
    ids = sorted(set(member_ids))
    locked = {
        member.pk: member for member in Member.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    }
    missing = set(ids) - set(locked)
    if missing:
        raise MemberNotFound(_("No member with id %(id)s.") % {"id": ", ".join(map(str, sorted(missing)))})
    return locked


@dataclass(frozen=True)
class MemberLock:
    """The member's row, locked (`FOR NO KEY UPDATE`) by `member_lock` in the transaction still
    running, for as long as `member_lock`'s `with` block runs; and the references the caller
    vouches it inserted, in this transaction, the rows of (so no retry can have posted them)."""

    member: Member
    scope: LockScope = dataclasses.field(repr=False, compare=False)
    new_references: frozenset[str] = frozenset()

    def vouching_new(self, *references: str) -> MemberLock:
        """The same lock, also vouching that `references` name rows inserted in this
        transaction (a new sale's), so the ledger skips its look-up for a retry of them."""
        return dataclasses.replace(self, new_references=self.new_references | frozenset(references))


@contextlib.contextmanager
def member_lock(*, member_id: int) -> Iterator[MemberLock]:
    """Lock the member's row, in the caller's transaction (no savepoint) or in one of its own,
    and yield the handle `points_earn` and `points_spend` accept as `lock=`. The handle is good
    until the block ends (the transaction that holds the lock outlives it)."""
    with lock_scope() as scope:
        yield MemberLock(member=_lock(member_id), scope=scope)


def _lock(member_id: int) -> Member:
    return members_lock(member_ids=[member_id])[member_id]


def _locked(member: Member, lock: MemberLock | None) -> Member:
    """The row `lock` holds (not read again), else the row locked now."""
    if lock is None:
        return _lock(member.pk)
    lock.scope.require_open()
    if lock.member.pk != member.pk:
        raise ValueError(f"the lock holds member {lock.member.pk}, not {member.pk}")
    return lock.member


def _is_new(reference: str, lock: MemberLock | None) -> bool:
    return lock is not None and reference in lock.new_references


def _sync(target: Member, source: Member) -> None:
    """Copy the freshly written balance onto the caller's instance."""
    target.points_balance = source.points_balance
    target.points_debt = source.points_debt
    target.needs_review = source.needs_review
    target.review_note = source.review_note


# --- Lot arithmetic ---------------------------------------------------------------------------


def lot_expires_at(*, programme: ProgrammeSettings, earned_at: datetime.datetime) -> datetime.datetime | None:
    """When points earned at `earned_at` expire, in the programme's time zone: usable through
    the whole last day, gone at the midnight that follows it."""
    policy = ProgrammeSettings.ExpiryPolicy
    if programme.expiry_policy == policy.NEVER:
        return None
    zone = programme_zone()
    earned_on = timezone.localtime(earned_at, zone).date()
    if programme.expiry_policy == policy.MONTHS_AFTER_EARNING:
        first_day_gone = earned_on + relativedelta(months=programme.expiry_months) + datetime.timedelta(days=1)
    else:
        first_day_gone = datetime.date(earned_on.year + programme.expiry_years + 1, 1, 1)
    return datetime.datetime.combine(first_day_gone, datetime.time.min, tzinfo=zone)


def lot_terms(*, programme: ProgrammeSettings, entry: LedgerEntry) -> dict[str, object]:
    """The lot a credit opens (its fields but member and entry): all its points, spendable
    after the programme's pending days, expiring by `lot_expires_at`. Shared by `points_earn`
    and `members.services.bulk`."""
    return {
        "points": entry.points,
        "remaining": entry.points,
        "earned_at": entry.occurred_at,
        "available_from": entry.occurred_at + datetime.timedelta(days=programme.pending_days),
        "expires_at": lot_expires_at(programme=programme, earned_at=entry.occurred_at),
    }


def _take(entry: LedgerEntry, lots: Iterable[PointLot], points: int) -> int:
    """Take up to `points` out of `lots` in the given order for `entry`; returns the points
    taken."""
    left = points
    movements = []
    for lot in lots:
        if left <= 0:
            break
        take = min(lot.remaining, left)
        if take <= 0:
            continue
        PointLot.objects.filter(pk=lot.pk).update(remaining=F("remaining") - take)
        lot.remaining -= take
        movements.append(LotMovement(entry=entry, lot=lot, points=-take))
        left -= take
    LotMovement.objects.bulk_create(movements)
    return points - left


def _settle_debt(locked: Member) -> None:
    """Pay the member's debt out of the lots that now hold points: each unpaid part of an
    earlier claw-back takes points from a lot, oldest claw-back first."""
    if locked.points_debt <= 0:
        return
    unpaid = (
        LedgerEntry.objects.filter(member_id=locked.pk, points__lt=0)
        .annotate(taken=Coalesce(Sum("movements__points"), 0))
        .filter(taken__gt=F("points"))
        .order_by("pk")
    )
    now = timezone.now()
    lots = list(lots_open(member=locked).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)))
    settled = 0
    for debit in unpaid:
        owed = debit.taken - debit.points
        settled += _take(debit, lots, min(owed, locked.points_debt - settled))
        if settled >= locked.points_debt:
            break
    if settled:
        Member.objects.filter(pk=locked.pk).update(points_debt=F("points_debt") - settled)
        locked.points_debt -= settled


# --- Posting ----------------------------------------------------------------------------------


def _existing(reference: str, *, member: Member, kind: str, points: int | None = None) -> LedgerEntry | None:
    """The entry already posted under `reference` (a retry), or None. The same reference for a
    different posting is a caller's bug, refused rather than silently answered."""
    entry = LedgerEntry.objects.filter(reference=reference).first()
    if entry is None:
        return None
    if entry.member_id != member.pk or entry.kind != kind or (points is not None and entry.points != points):
        raise LedgerReferenceReused(
            _("The reference %(reference)s was already used for another posting.") % {"reference": reference}
        )
    return entry


def _entry(
    locked: Member,
    *,
    kind: str,
    points: int,
    reference: str,
    occurred_at: datetime.datetime,
    cause_kind: str = "",
    cause_reference: str = "",
    reason: str = "",
    created_by=None,
    reverses: LedgerEntry | None = None,
    points_not_recovered: int = 0,
) -> LedgerEntry:
    """The entry to append, validated (a refusal, before anything is written)."""
    entry = LedgerEntry(
        member=locked,
        kind=kind,
        points=points,
        balance_after=locked.points_balance + points,
        points_not_recovered=points_not_recovered,
        occurred_at=occurred_at,
        cause_kind=cause_kind,
        cause_reference=cause_reference,
        reference=reference,
        reverses=reverses,
        reason=reason,
        created_by=created_by,
    )
    # Field validation only: uniqueness was checked under the lock, the related rows are the
    # ones just locked or loaded, and the database enforces the unique reference, the foreign
    # keys and the check constraints anyway (validating those here would cost a query each, on
    # the hottest path of every sale).
    try:
        entry.full_clean(
            exclude=["member", "reverses", "created_by"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        raise ValidationFailed(errors=exc.message_dict) from exc
    return entry


def _append(locked: Member, entry: LedgerEntry, *, savepoint: bool = True) -> LedgerEntry:
    """Insert the entry and move the cached balance. Without a savepoint (inside `writes()`), a
    duplicate reference found only by the database (another member's posting committed between
    our check and our insert) aborts the whole transaction rather than being told apart."""
    try:
        with transaction.atomic(savepoint=savepoint):
            entry.save(force_insert=True)
    except IntegrityError:
        if not savepoint:
            raise  # the transaction is aborted: nothing more can be asked of the database
        if not LedgerEntry.objects.filter(reference=entry.reference).exists():
            raise  # another constraint: a bug, not a refusal
        # The same reference committed meanwhile for another member (whose lock we do not
        # hold): a reuse, never a retry of this posting.
        raise LedgerReferenceReused(
            _("The reference %(reference)s was already used for another posting.") % {"reference": entry.reference}
        ) from None
    # Guarded by what the posting was computed from: under our lock nothing else can have moved
    # them, so no match means our copy is stale (see `loyalty_site.core.transactions`).
    moved = Member.objects.filter(
        pk=locked.pk, points_balance=locked.points_balance, points_debt=locked.points_debt
    ).update(points_balance=F("points_balance") + entry.points)
    if not moved:
        raise StaleLock(f"member {locked.pk}'s balance changed under a lock handle: it was used after a rollback")
    locked.points_balance += entry.points
    _record_entry_event(locked, entry)
    return entry


_EVENT_OF_KIND = {
    Kind.EARN: EventKind.POINTS_EARNED,
    Kind.REFERRAL: EventKind.POINTS_EARNED,
    Kind.BONUS: EventKind.POINTS_EARNED,
    Kind.SPEND: EventKind.POINTS_SPENT,
    Kind.EXPIRE: EventKind.POINTS_EXPIRED,
    Kind.ADJUST: EventKind.POINTS_ADJUSTED,
    Kind.REVERSE: EventKind.POINTS_REVERSED,
}


def ledger_event(entry: LedgerEntry, *, member_code: str = "") -> EventSpec:
    """The domain event of a ledger entry (issue 17), for `record_event` and its bulk twin."""
    if not member_code and LedgerEntry._meta.get_field("member").is_cached(entry):
        member_code = entry.member.code
    return EventSpec(
        kind=_EVENT_OF_KIND[entry.kind],
        subject_type="ledger_entry",
        subject_id=entry.pk,
        member_id=entry.member_id,
        payload={
            "entry_id": entry.pk,
            "member_id": entry.member_id,
            "member_code": member_code,
            "ledger_kind": entry.kind,
            "points": entry.points,
            "balance_after": entry.balance_after,
            "reference": entry.reference,
            "cause_kind": entry.cause_kind,
            "cause_reference": entry.cause_reference,
            "occurred_at": entry.occurred_at,
        },
        occurred_at=entry.occurred_at,
    )


def _record_entry_event(locked: Member, entry: LedgerEntry) -> None:
    spec = ledger_event(entry, member_code=locked.code)
    record_event(
        kind=spec.kind,
        subject_type=spec.subject_type,
        subject_id=spec.subject_id,
        member_id=spec.member_id,
        payload=spec.payload,
        occurred_at=spec.occurred_at,
    )


def _post(locked: Member, **fields) -> LedgerEntry:
    return _append(locked, _entry(locked, **fields))


def _add_lot(locked: Member, entry: LedgerEntry, *, programme: ProgrammeSettings) -> None:
    """The credit's lot and its movement; then any debt is paid out of it."""
    lot = PointLot.objects.create(member=locked, entry=entry, **lot_terms(programme=programme, entry=entry))
    LotMovement.objects.create(entry=entry, lot=lot, points=entry.points)
    _settle_debt(locked)


def _credit(
    locked: Member,
    *,
    kind: str,
    points: int,
    reference: str,
    occurred_at: datetime.datetime,
    programme: ProgrammeSettings,
    **posting,
) -> LedgerEntry:
    entry = _post(locked, kind=kind, points=points, reference=reference, occurred_at=occurred_at, **posting)
    _add_lot(locked, entry, programme=programme)
    return entry


def _require_positive(points: object, field: str = "points") -> int:
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationFailed(errors={field: [_("Enter a whole number of points greater than zero.")]})
    return points


def _occurred(occurred_at: datetime.datetime | None, now: datetime.datetime) -> datetime.datetime:
    if occurred_at is None:
        return now
    if timezone.is_naive(occurred_at):
        raise ValidationFailed(errors={"occurred_at": [_("Give the time with its time zone.")]})
    if occurred_at > now + clock_skew():
        raise ValidationFailed(errors={"occurred_at": [_("The time cannot be in the future.")]})
    return occurred_at


def _require_transacting(locked: Member) -> None:
    if locked.status == Member.Status.MERGED:
        raise MemberMerged(_("Member %(code)s was merged into another member; use that one.") % {"code": locked.code})
    if locked.status == Member.Status.BLOCKED:
        raise MemberBlocked(_("Member %(code)s is blocked and cannot earn or spend points.") % {"code": locked.code})


def _reference(reference: str | None) -> str:
    reference = (reference or "").strip()
    return reference or f"auto:{uuid.uuid4()}"


# --- Public services --------------------------------------------------------------------------


def points_earn(
    *,
    member: Member,
    points: int,
    reference: str,
    kind: str = Kind.EARN,
    occurred_at: datetime.datetime | None = None,
    cause_kind: str = "",
    cause_reference: str = "",
    reason: str = "",
    created_by=None,
    lock: MemberLock | None = None,
) -> LedgerEntry:
    """Credit `points` (kind earn, referral or bonus) as a new lot that expires and becomes
    spendable by the programme's rules, counted from `occurred_at` (default now; back-dated
    credits, e.g. a late sale or an opening balance, keep their real expiry). Refused for a
    blocked or merged member. Idempotent on `reference` (see `_existing`). `lock`: the handle
    of the caller's `member_lock` on `member` (the row is not locked or read again); when it
    vouches for `reference` as new, the look-up for a retry is skipped (the unique constraint
    still refuses a duplicate, by rolling the whole transaction back)."""
    if kind not in LedgerEntry.CREDIT_KINDS:
        raise ValueError(f"points_earn posts credits only, not {kind!r}")
    points = _require_positive(points)
    reference = _reference(reference)
    now = timezone.now()
    occurred_at = _occurred(occurred_at, now)
    programme = programme_settings_get()
    with service_transaction():
        locked = _locked(member, lock)
        existing = None if _is_new(reference, lock) else _existing(reference, member=locked, kind=kind, points=points)
        if existing is not None:
            return existing
        _require_transacting(locked)
        entry = _entry(
            locked,
            kind=kind,
            points=points,
            reference=reference,
            occurred_at=occurred_at,
            cause_kind=cause_kind,
            cause_reference=cause_reference,
            reason=reason,
            created_by=created_by,
        )
        with writes():
            _append(locked, entry, savepoint=False)
            _add_lot(locked, entry, programme=programme)
    _sync(member, locked)
    return entry


def points_spend(
    *,
    member: Member,
    points: int,
    reference: str,
    occurred_at: datetime.datetime | None = None,
    cause_kind: str = "",
    cause_reference: str = "",
    reason: str = "",
    created_by=None,
    lock: MemberLock | None = None,
) -> LedgerEntry:
    """Spend `points` from the member's spendable lots (available, not expired), the
    soonest-expiring first. InsufficientPoints (409) when they do not cover it, with
    `points_available` in the error's extra; MemberBlocked for a blocked member; MemberInDebt
    (409) while the member owes points from a refund. Idempotent on
    `reference` (`lock`: as for `points_earn`)."""
    points = _require_positive(points)
    reference = _reference(reference)
    now = timezone.now()
    occurred_at = _occurred(occurred_at, now)
    with service_transaction():
        locked = _locked(member, lock)
        existing = (
            None if _is_new(reference, lock) else _existing(reference, member=locked, kind=Kind.SPEND, points=-points)
        )
        if existing is not None:
            return existing
        _require_transacting(locked)
        if locked.points_debt > 0:
            raise member_in_debt(locked)
        lots = list(
            lots_open(member=locked)
            .filter(available_from__lte=now)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        )
        available = sum(lot.remaining for lot in lots) - locked.points_debt
        if available < points:
            raise InsufficientPoints(
                _("The member has %(available)d points available, %(points)d were asked for.")
                % {"available": max(available, 0), "points": points},
                extra={"points_available": max(available, 0), "points_requested": points},
            )
        entry = _entry(
            locked,
            kind=Kind.SPEND,
            points=-points,
            reference=reference,
            occurred_at=occurred_at,
            cause_kind=cause_kind,
            cause_reference=cause_reference,
            reason=reason,
            created_by=created_by,
        )
        with writes():
            _append(locked, entry, savepoint=False)
            _take(entry, lots, points)
    _sync(member, locked)
    return entry


def points_adjust(
    *,
    member: Member,
    points: int,
    reason: str,
    created_by,
    reference: str | None = None,
    cause_kind: str = "manual",
    cause_reference: str = "",
) -> LedgerEntry:
    """A manual correction by staff, with a required reason. Positive: a new lot under the
    programme's expiry rules. Negative: taken from the member's unexpired lots (pending ones
    included), never below zero. Allowed for blocked members (staff corrections)."""
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Give a reason for the adjustment.")]
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        errors["points"] = [_("Enter a whole number of points other than zero.")]
    if errors:
        raise ValidationFailed(errors=errors)
    reference = _reference(reference)
    now = timezone.now()
    programme = programme_settings_get()
    with transaction.atomic():
        locked = _lock(member.pk)
        existing = _existing(reference, member=locked, kind=Kind.ADJUST, points=points)
        if existing is not None:
            return existing
        if locked.status == Member.Status.MERGED:
            _require_transacting(locked)
        posting = {
            "reference": reference,
            "occurred_at": now,
            "cause_kind": cause_kind,
            "cause_reference": cause_reference,
            "reason": reason,
            "created_by": created_by,
        }
        if points > 0:
            entry = _credit(locked, kind=Kind.ADJUST, points=points, programme=programme, **posting)
        else:
            lots = list(lots_open(member=locked).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)))
            available = sum(lot.remaining for lot in lots) - locked.points_debt
            if available < -points:
                raise InsufficientPoints(
                    _("The member has %(available)d points; an adjustment cannot take %(points)d.")
                    % {"available": max(available, 0), "points": -points},
                    errors={"points": [_("The member does not have that many points.")]},
                    extra={"points_available": max(available, 0), "points_requested": -points},
                )
            entry = _post(locked, kind=Kind.ADJUST, points=points, **posting)
            _take(entry, lots, -points)
    _sync(member, locked)
    return entry


def _reversed_so_far(original: LedgerEntry) -> int:
    """How much of `original` earlier reversals already undid (points written off under the
    stop-at-zero policy count as undone)."""
    totals = original.reversals.aggregate(
        points=Coalesce(Sum("points"), 0), not_recovered=Coalesce(Sum("points_not_recovered"), 0)
    )
    if original.points > 0:
        return -totals["points"] + totals["not_recovered"]
    return totals["points"]


def points_reverse(
    *,
    entry: LedgerEntry,
    reference: str,
    points: int | None = None,
    cause_kind: str = "",
    cause_reference: str = "",
    reason: str = "",
    created_by=None,
) -> LedgerEntry:
    """Undo `points` (default: all that is left) of an earlier entry, e.g. for a refund.

    - Reversing a credit (earn, bonus, referral, a positive adjustment) is a claw-back: points
      come out of that credit's own lot first, then the soonest-expiring others (pending ones
      included). When the member no longer has them, the programme's claw-back policy decides:
      allow a negative balance (the rest becomes debt and the member is flagged for staff), or
      stop at zero (the entry records the points not taken back).
    - Reversing a debit (a spend, a negative adjustment) puts the points back into the lots they
      came from, the latest-expiring first; points whose lot has expired since are expired again
      at once, so a refund never extends an expiry.
    Expiries and reversals themselves cannot be reversed. Idempotent on `reference`; the total
    reversed never exceeds the original."""
    if entry.kind in (Kind.EXPIRE, Kind.REVERSE):
        raise ReversalNotAllowed(_("Expiries and reversals cannot be reversed."))
    if points is not None:
        points = _require_positive(points)
    reference = _reference(reference)
    now = timezone.now()
    programme = programme_settings_get()
    with transaction.atomic():
        original = LedgerEntry.objects.get(pk=entry.pk)
        locked = _lock(original.member_id)
        original.refresh_from_db()  # a merge may have moved it while we waited for the lock
        if original.member_id != locked.pk:
            locked = _lock(original.member_id)
        existing = _existing(reference, member=locked, kind=Kind.REVERSE)
        if existing is not None:
            if existing.reverses_id != original.pk:
                raise LedgerReferenceReused(
                    _("The reference %(reference)s was already used for another posting.") % {"reference": reference}
                )
            return existing
        left = abs(original.points) - _reversed_so_far(original)
        points = left if points is None else points
        if points <= 0 or points > left:
            message = _("Only %(left)d points of this entry are left to reverse.") % {"left": max(left, 0)}
            raise ReversalNotAllowed(message, errors={"points": [message]})
        posting = {
            "reference": reference,
            "occurred_at": now,
            "cause_kind": cause_kind,
            "cause_reference": cause_reference,
            "reason": reason,
            "created_by": created_by,
            "reverses": original,
        }
        if original.points > 0:
            result = _claw_back(locked, original, points, programme=programme, now=now, posting=posting)
        else:
            result = _restore(locked, original, points, now=now, posting=posting)
    if entry.member_id == locked.pk and "member" in entry._state.fields_cache:
        _sync(entry.member, locked)
    return result


def _claw_back(locked, original, points, *, programme, now, posting) -> LedgerEntry:
    own_lot = PointLot.objects.filter(entry=original, remaining__gt=0).first()
    others = [
        lot
        for lot in lots_open(member=locked).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        if own_lot is None or lot.pk != own_lot.pk
    ]
    lots = ([own_lot] if own_lot is not None else []) + others
    taken = min(points, sum(lot.remaining for lot in lots))
    shortfall = points - taken
    if shortfall and programme.clawback_policy == ProgrammeSettings.ClawbackPolicy.STOP_AT_ZERO:
        entry = _post(locked, kind=Kind.REVERSE, points=-taken, points_not_recovered=shortfall, **posting)
        _take(entry, lots, taken)
        return entry
    if shortfall:
        # The debt is recorded before the balance drops, so that the database constraint
        # (balance >= -debt) holds after every statement.
        note = _("A reversal (%(reference)s) left the balance at %(balance)d points.") % {
            "reference": posting["reference"],
            "balance": locked.points_balance - points,
        }
        Member.objects.filter(pk=locked.pk).update(
            points_debt=F("points_debt") + shortfall, needs_review=True, review_note=note[:300]
        )
        locked.points_debt += shortfall
        locked.needs_review = True
        locked.review_note = note[:300]
    entry = _post(locked, kind=Kind.REVERSE, points=-points, **posting)
    _take(entry, lots, taken)
    return entry


def _restore(locked, original, points, *, now, posting) -> LedgerEntry:
    taken_by_lot: dict[int, int] = {}
    for movement in original.movements.all():
        taken_by_lot[movement.lot_id] = taken_by_lot.get(movement.lot_id, 0) - movement.points
    for movement in LotMovement.objects.filter(entry__reverses=original):
        taken_by_lot[movement.lot_id] = taken_by_lot.get(movement.lot_id, 0) - movement.points
    lots = sorted(
        PointLot.objects.filter(pk__in=[lot_id for lot_id, left in taken_by_lot.items() if left > 0]),
        key=lambda lot: (lot.expires_at is not None, lot.expires_at or now, lot.pk),
        reverse=True,
    )
    entry = _post(locked, kind=Kind.REVERSE, points=points, **posting)
    left = points
    expired_again: list[tuple[PointLot, int]] = []
    movements = []
    for lot in lots:
        if left <= 0:
            break
        give = min(taken_by_lot[lot.pk], left)
        PointLot.objects.filter(pk=lot.pk).update(remaining=F("remaining") + give)
        lot.remaining += give
        movements.append(LotMovement(entry=entry, lot=lot, points=give))
        left -= give
        if lot.expires_at is not None and lot.expires_at <= now:
            expired_again.append((lot, give))
    LotMovement.objects.bulk_create(movements)
    for lot, give in expired_again:
        expiry = _post(
            locked,
            kind=Kind.EXPIRE,
            points=-give,
            reference=f"expire:lot:{lot.pk}:after:{entry.pk}",
            occurred_at=now,
            cause_kind="expiry",
            cause_reference=f"lot:{lot.pk}",
        )
        _take(expiry, [lot], give)
    _settle_debt(locked)
    return entry


# --- Merging ----------------------------------------------------------------------------------


def ledger_move(*, source: Member, target: Member) -> dict[str, list[int]]:
    """Move all of `source`'s ledger entries and lots (with their expiry) and its balance and
    debt to `target`. Only for `member_merge`, inside its transaction, with both rows already
    locked (in primary-key order). The entries keep their amounts, references and
    `balance_after` as posted; the sum of `target`'s entries stays equal to its balance.
    Returns the ids moved, for the merge record."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger_move must run inside the merge's transaction")
    entry_ids = list(LedgerEntry.objects.filter(member_id=source.pk).values_list("pk", flat=True))
    lot_ids = list(PointLot.objects.filter(member_id=source.pk).values_list("pk", flat=True))
    LedgerEntry.objects.filter(member_id=source.pk).update(member_id=target.pk)
    PointLot.objects.filter(member_id=source.pk).update(member_id=target.pk)
    Member.objects.filter(pk=target.pk).update(
        points_balance=F("points_balance") + source.points_balance,
        points_debt=F("points_debt") + source.points_debt,
    )
    Member.objects.filter(pk=source.pk).update(points_balance=0, points_debt=0)
    target.points_balance += source.points_balance
    target.points_debt += source.points_debt
    source.points_balance = source.points_debt = 0
    _settle_debt(target)
    return {"ledger_entries": entry_ids, "lots": lot_ids}


# --- Expiry -----------------------------------------------------------------------------------


@dataclass
class ExpiryResult:
    members: int = 0
    lots: int = 0
    points: int = 0


def expiry_cutoff(as_of: datetime.date) -> datetime.datetime:
    """Running the expiry for day D expires every lot whose last usable day is before D."""
    return datetime.datetime.combine(as_of, datetime.time.min, tzinfo=programme_zone())


def member_points_expire(*, member: Member, as_of: datetime.date) -> ExpiryResult:
    """Expire the member's lots that are due on `as_of`: one entry per lot, with the
    deterministic reference `expire:lot:<id>`, so running again for the same day (or a
    concurrent run) expires nothing twice."""
    cutoff = expiry_cutoff(as_of)
    result = ExpiryResult()
    with transaction.atomic():
        locked = _lock(member.pk)
        due = list(lots_open(member=locked).filter(expires_at__lte=cutoff))
        for lot in due:
            reference = f"expire:lot:{lot.pk}"
            if LedgerEntry.objects.filter(reference=reference).exists():
                continue
            entry = _post(
                locked,
                kind=Kind.EXPIRE,
                points=-lot.remaining,
                reference=reference,
                occurred_at=lot.expires_at,
                cause_kind="expiry",
                cause_reference=f"lot:{lot.pk}",
            )
            result.points += _take(entry, [lot], lot.remaining)
            result.lots += 1
        result.members = 1 if result.lots else 0
    _sync(member, locked)
    return result


def points_expire_due(*, as_of: datetime.date | None = None) -> ExpiryResult:
    """Expire every lot due on `as_of` (default: today in the programme's zone), one member per
    transaction so a long run never holds many locks. Idempotent for a given day. A day in the
    future is refused: it would take points members may still use."""
    today = timezone.localtime(timezone.now(), programme_zone()).date()
    as_of = as_of or today
    if as_of > today:
        raise ValidationFailed(errors={"as_of": [_("The expiry cannot be run for a future day.")]})
    cutoff = expiry_cutoff(as_of)
    member_ids = (
        PointLot.objects.filter(remaining__gt=0, expires_at__lte=cutoff)
        .order_by("member_id")
        .values_list("member_id", flat=True)
        .distinct()
    )
    total = ExpiryResult()
    for member_id in list(member_ids):
        done = member_points_expire(member=Member(pk=member_id), as_of=as_of)
        total.members += done.members
        total.lots += done.lots
        total.points += done.points
    return total
