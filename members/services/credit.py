"""The store-credit ledger (cash-back, VND): the only code that writes `StoreCreditEntry` rows and
`Member.store_credit_balance`.

The same guarantees as the point ledger (`members.services.ledger`), with the same lock: every
posting locks the member's row (`FOR NO KEY UPDATE`), returns the existing entry for a reference
already posted (a retry), checks the rule under the lock, appends the entry and moves the cached
balance with an UPDATE guarded by the balance it was computed from (a stale lock handle raises
`StaleLock` instead of writing a wrong balance). The balance never goes below zero: spends and
negative adjustments beyond it are refused (`InsufficientStoreCredit`), a refund's reversal of
earned credit stops at zero and records what it could not take back, and the database has the
constraint `store_credit_balance >= 0` as the backstop.

`store_credit_earn` and `store_credit_spend` run inside the POS checkout's transaction without
savepoints and accept its `MemberLock` (`lock=`), exactly like `points_earn` / `points_spend`.
Credit has no lots and no expiry."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.events import EventKind, record_event
from loyalty_site.core.money import ZERO, to_decimal
from loyalty_site.core.transactions import StaleLock, service_transaction, writes
from members.errors import InsufficientStoreCredit, LedgerReferenceReused, ReversalNotAllowed
from members.models import Member, StoreCreditEntry
from members.services.ledger import (
    MemberLock,
    _is_new,
    _lock,
    _locked,
    _occurred,
    _reference,
    _require_transacting,
)

Kind = StoreCreditEntry.Kind
CENT = Decimal("0.01")


def _require_amount(amount: object, field: str = "amount", *, signed: bool = False) -> Decimal:
    """A finite amount in VND with at most two decimals, above zero (or, `signed`, not zero)."""
    message = _("Enter an amount in VND other than zero.") if signed else _("Enter an amount in VND above zero.")
    try:
        value = to_decimal(amount)
    except ValueError:
        raise ValidationFailed(errors={field: [message]}) from None
    if value != value.quantize(CENT) or (value == 0 if signed else value <= 0):
        raise ValidationFailed(errors={field: [message]})
    return value.quantize(CENT)


def _existing(reference: str, *, member: Member, kind: str, amount: Decimal | None = None) -> StoreCreditEntry | None:
    entry = StoreCreditEntry.objects.filter(reference=reference).first()
    if entry is None:
        return None
    if entry.member_id != member.pk or entry.kind != kind or (amount is not None and entry.amount != amount):
        raise LedgerReferenceReused(
            _("The reference %(reference)s was already used for another posting.") % {"reference": reference}
        )
    return entry


def _post(locked: Member, *, kind: str, amount: Decimal, **fields) -> StoreCreditEntry:
    """Append the entry and move the cached balance (inside `writes()`: any error rolls back the
    whole transaction)."""
    entry = StoreCreditEntry(
        member=locked, kind=kind, amount=amount, balance_after=locked.store_credit_balance + amount, **fields
    )
    try:
        entry.full_clean(
            exclude=["member", "reverses", "created_by"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        raise ValidationFailed(errors=exc.message_dict) from exc
    with writes():
        entry.save(force_insert=True)
        moved = Member.objects.filter(pk=locked.pk, store_credit_balance=locked.store_credit_balance).update(
            store_credit_balance=F("store_credit_balance") + amount
        )
        if not moved:
            raise StaleLock(f"member {locked.pk}'s store credit changed under a lock handle")
    locked.store_credit_balance += amount
    # Issue 17: the change leaves the system as an event, in the posting's transaction (inside a
    # sale's `events_collected()` block it shares the sale's one INSERT).
    record_event(
        kind=EventKind.STORE_CREDIT_CHANGED,
        subject_type="store_credit_entry",
        subject_id=entry.pk,
        member_id=locked.pk,
        payload={
            "entry_id": entry.pk,
            "member_id": locked.pk,
            "member_code": locked.code,
            "credit_kind": entry.kind,
            "amount": f"{entry.amount:.2f}",
            "balance_after": f"{entry.balance_after:.2f}",
            "reference": entry.reference,
            "cause_kind": entry.cause_kind,
            "cause_reference": entry.cause_reference,
            "occurred_at": entry.occurred_at,
        },
        occurred_at=entry.occurred_at,
    )
    return entry


def _insufficient(available: Decimal, asked: Decimal) -> InsufficientStoreCredit:
    return InsufficientStoreCredit(
        _("The member has %(available)s VND of store credit, %(asked)s VND was asked for.")
        % {"available": f"{available:f}", "asked": f"{asked:f}"},
        extra={"store_credit_balance": str(available), "store_credit_requested": str(asked)},
    )


def store_credit_earn(
    *,
    member: Member,
    amount: Decimal,
    reference: str,
    occurred_at: datetime.datetime | None = None,
    cause_kind: str = "",
    cause_reference: str = "",
    reason: str = "",
    lock: MemberLock | None = None,
) -> StoreCreditEntry:
    """Credit `amount` VND of cash-back. Refused for a blocked or merged member; idempotent on
    `reference`; `lock` as for `points_earn`."""
    amount = _require_amount(amount)
    reference = _reference(reference)
    now = timezone.now()
    occurred_at = _occurred(occurred_at, now)
    with service_transaction():
        locked = _locked(member, lock)
        if not _is_new(reference, lock):
            existing = _existing(reference, member=locked, kind=Kind.EARN, amount=amount)
            if existing is not None:
                return existing
        _require_transacting(locked)
        entry = _post(
            locked,
            kind=Kind.EARN,
            amount=amount,
            reference=reference,
            occurred_at=occurred_at,
            cause_kind=cause_kind,
            cause_reference=cause_reference,
            reason=reason,
        )
    member.store_credit_balance = locked.store_credit_balance
    return entry


def store_credit_spend(
    *,
    member: Member,
    amount: Decimal,
    reference: str,
    occurred_at: datetime.datetime | None = None,
    cause_kind: str = "",
    cause_reference: str = "",
    reason: str = "",
    lock: MemberLock | None = None,
) -> StoreCreditEntry:
    """Spend `amount` VND of the member's store credit. InsufficientStoreCredit (422) beyond the
    balance, MemberBlocked for a blocked member; idempotent on `reference`; `lock` as for
    `points_spend`."""
    amount = _require_amount(amount)
    reference = _reference(reference)
    now = timezone.now()
    occurred_at = _occurred(occurred_at, now)
    with service_transaction():
        locked = _locked(member, lock)
        if not _is_new(reference, lock):
            existing = _existing(reference, member=locked, kind=Kind.SPEND, amount=-amount)
            if existing is not None:
                return existing
        _require_transacting(locked)
        if locked.store_credit_balance < amount:
            raise _insufficient(locked.store_credit_balance, amount)
        entry = _post(
            locked,
            kind=Kind.SPEND,
            amount=-amount,
            reference=reference,
            occurred_at=occurred_at,
            cause_kind=cause_kind,
            cause_reference=cause_reference,
            reason=reason,
        )
    member.store_credit_balance = locked.store_credit_balance
    return entry


def _reversed_so_far(original: StoreCreditEntry) -> Decimal:
    totals = original.reversals.aggregate(
        amount=Coalesce(Sum("amount"), ZERO), not_recovered=Coalesce(Sum("amount_not_recovered"), ZERO)
    )
    return abs(totals["amount"]) + totals["not_recovered"]


def store_credit_reverse(
    *,
    entry: StoreCreditEntry,
    reference: str,
    amount: Decimal | None = None,
    cause_kind: str = "refund",
    cause_reference: str = "",
    reason: str = "",
) -> StoreCreditEntry:
    """Undo `amount` (default: all that is left) of an earlier earn or spend, for a refund.

    - A spend is given back (`refund-return`, positive).
    - An earn is taken back (`refund-reverse`) from the balance, never below zero: what the
      member has already spent is recorded in `amount_not_recovered` and counts as undone.
    The total reversed never exceeds the original; idempotent on `reference`."""
    if entry.kind not in (Kind.EARN, Kind.SPEND):
        raise ReversalNotAllowed(_("Only earned or spent store credit can be reversed."))
    if amount is not None:
        amount = _require_amount(amount)
    reference = _reference(reference)
    now = timezone.now()
    with transaction.atomic():
        member_id = StoreCreditEntry.objects.values_list("member_id", flat=True).get(pk=entry.pk)
        locked = _lock(member_id)
        original = StoreCreditEntry.objects.get(pk=entry.pk)
        if original.member_id != locked.pk:  # a merge moved it while we waited for the lock
            locked = _lock(original.member_id)
        kind = Kind.REFUND_RETURN if original.kind == Kind.SPEND else Kind.REFUND_REVERSE
        existing = _existing(reference, member=locked, kind=kind)
        if existing is not None:
            if existing.reverses_id != original.pk:
                raise LedgerReferenceReused(
                    _("The reference %(reference)s was already used for another posting.") % {"reference": reference}
                )
            return existing
        left = abs(original.amount) - _reversed_so_far(original)
        amount = left if amount is None else amount
        if amount <= 0 or amount > left:
            message = _("Only %(left)s VND of this entry is left to reverse.") % {"left": f"{max(left, ZERO):f}"}
            raise ReversalNotAllowed(message, errors={"amount": [message]})
        posting = {
            "reference": reference,
            "occurred_at": now,
            "cause_kind": cause_kind,
            "cause_reference": cause_reference,
            "reason": reason,
            "reverses": original,
        }
        if kind == Kind.REFUND_RETURN:
            result = _post(locked, kind=kind, amount=amount, **posting)
        else:
            taken = min(amount, locked.store_credit_balance)
            result = _post(locked, kind=kind, amount=-taken, amount_not_recovered=amount - taken, **posting)
    return result


def store_credit_adjust(
    *,
    member: Member,
    amount: Decimal,
    reason: str,
    created_by,
    reference: str | None = None,
    cause_kind: str = "manual",
    cause_reference: str = "",
) -> StoreCreditEntry:
    """A correction by staff, with a required reason: adds (positive) or removes (negative)
    `amount` VND, never below zero (InsufficientStoreCredit). Allowed for blocked members (staff
    corrections), not for merged ones."""
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Give a reason for the adjustment.")]
    try:
        amount = _require_amount(amount, signed=True)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors=errors)
    reference = _reference(reference)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(member.pk)
        existing = _existing(reference, member=locked, kind=Kind.ADJUSTMENT, amount=amount)
        if existing is not None:
            return existing
        if locked.status == Member.Status.MERGED:
            _require_transacting(locked)
        if amount < 0 and locked.store_credit_balance < -amount:
            raise _insufficient(locked.store_credit_balance, -amount)
        entry = _post(
            locked,
            kind=Kind.ADJUSTMENT,
            amount=amount,
            reference=reference,
            occurred_at=now,
            cause_kind=cause_kind,
            cause_reference=cause_reference,
            reason=reason,
            created_by=created_by,
        )
    member.store_credit_balance = locked.store_credit_balance
    return entry


def store_credit_move(*, source: Member, target: Member) -> list[int]:
    """Move all of `source`'s store-credit entries and its balance to `target`. Only for
    `member_merge`, inside its transaction, with both rows locked. Returns the ids moved."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("store_credit_move must run inside the merge's transaction")
    entry_ids = list(StoreCreditEntry.objects.filter(member_id=source.pk).values_list("pk", flat=True))
    if not entry_ids and not source.store_credit_balance:
        return []
    StoreCreditEntry.objects.filter(member_id=source.pk).update(member_id=target.pk)
    Member.objects.filter(pk=target.pk).update(
        store_credit_balance=F("store_credit_balance") + source.store_credit_balance
    )
    Member.objects.filter(pk=source.pk).update(store_credit_balance=ZERO)
    target.store_credit_balance += source.store_credit_balance
    source.store_credit_balance = ZERO
    return entry_ids
