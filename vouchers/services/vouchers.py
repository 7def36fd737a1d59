"""Issuing vouchers (for points, or free from a campaign or staff) and their life afterwards:
used once, given back after a full refund, voided, expired.

Locking: issuing locks the reward's row (`FOR NO KEY UPDATE`), then the member's (through the
ledger's `members_lock`): always in that order, so two exchanges can never deadlock. Stock and
the per-member limit are checked under the reward's lock, and the stock counter moves with
`F()` in the same transaction as the ledger spend; the `issued_count <= stock` constraint is the
database's backstop. Using a voucher is a conditional UPDATE (`... WHERE status = 'issued'`), so
of two tills using the same code at the same moment exactly one wins.

Every service owns its transaction and nests inside a caller's (the checkout's)."""

from __future__ import annotations

import datetime
import hashlib

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed, clean_or_refuse
from loyalty_site.core.events import EventKind, EventSpec, record_events_bulk
from loyalty_site.core.models import copy_saved
from members.errors import MemberBlocked, MemberMerged, member_in_debt
from members.models import Member
from members.selectors import member_points_coverable, programme_zone
from members.services import (
    PresenceProof,
    members_lock,
    points_reverse,
    points_spend,
    presence_proof_check,
    presence_proof_consume,
)
from notifications.selectors import member_language
from notifications.services import message_enqueue
from stores.models import Store
from vouchers.codes import voucher_code_generate
from vouchers.errors import (
    VoucherExpired,
    VoucherNotApplicable,
    VoucherNotVoidable,
    VoucherReferenceReused,
    VoucherUsed,
)
from vouchers.models import Reward, Voucher
from vouchers.selectors import reward_points_cost, reward_refusal, voucher_expires_at, zone_for

# What using, returning and voiding a voucher write: copied back onto the caller's instance.
STATE_FIELDS = (
    "status",
    "used_at",
    "used_store",
    "used_sale_reference",
    "returned_at",
    "returned_from_sale",
    "return_reason",
    "voided_at",
    "voided_by",
    "void_reason",
    "updated_at",
)
_CODE_ATTEMPTS = 8
# Long references (e.g. a POS idempotency key of 255 characters) are hashed to fit the column
# and the ledger's reference next to its prefix.
_REFERENCE_MAX = 150


FREE_CHANNELS = (Voucher.Channel.CAMPAIGN, Voucher.Channel.STAFF, Voucher.Channel.IMPORT)
# Exchanges of points: at a till, or by the member on their own pages (the same rules).
POINTS_CHANNELS = (Voucher.Channel.POINTS, Voucher.Channel.WEB)


def issue_reference(reference: str | None) -> str | None:
    """The idempotency reference as stored: trimmed, None when blank, hashed when too long."""
    reference = (reference or "").strip()
    if not reference:
        return None
    if len(reference) > _REFERENCE_MAX:
        return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()
    return reference


def _lock_reward(reward: Reward) -> Reward:
    return Reward.objects.select_for_update(no_key=True).prefetch_related("brands", "stores").get(pk=reward.pk)


def free_issue_reason(*, channel: str, reason: str, service: str) -> str:
    """The reason of a voucher given without points, as stored (whitespace collapsed, 300
    characters); staff must give one (ValidationFailed). Any other channel is the caller's bug."""
    if channel not in FREE_CHANNELS:
        raise ValueError(f"{service} gives vouchers without points; {channel!r} is not such a channel")
    reason = " ".join(str(reason or "").split())
    if channel == Voucher.Channel.STAFF and not reason:
        raise ValidationFailed(errors={"reason": [_("Give a reason for issuing the voucher.")]})
    return reason[:300]


def reference_reused(reference: str) -> VoucherReferenceReused:
    return VoucherReferenceReused(
        _("The reference %(reference)s was already used for another voucher.") % {"reference": reference}
    )


def voucher_validate(voucher: Voucher, *, exclude: list[str]) -> None:
    """The model's field validation (constraints are the database's), as ValidationFailed."""
    clean_or_refuse(voucher, exclude=exclude, validate_unique=False, validate_constraints=False)


def _existing(reference: str | None, *, member: Member, reward: Reward) -> Voucher | None:
    """The voucher already issued under `reference` (a retry), or None. The same reference for
    another member or reward is the caller's bug, refused."""
    if reference is None:
        return None
    voucher = Voucher.objects.select_related("reward", "member").filter(reference=reference).first()
    if voucher is None:
        return None
    if voucher.member_id != member.pk or voucher.reward_id != reward.pk:
        raise reference_reused(reference)
    return voucher


def _require_active(member: Member) -> None:
    if member.status == Member.Status.MERGED:
        raise MemberMerged(_("Member %(code)s was merged into another member; use that one.") % {"code": member.code})
    if member.status == Member.Status.BLOCKED:
        raise MemberBlocked(_("Member %(code)s is blocked and cannot receive vouchers.") % {"code": member.code})


def voucher_event(kind: str, voucher: Voucher, *, at: datetime.datetime, **extra) -> EventSpec:
    """The event of a voucher's change (issue 17). The code is not sent: it is what a till
    accepts, and a receiver does not need it to follow the voucher (docs/webhooks.md)."""
    return EventSpec(
        kind=kind,
        subject_type="voucher",
        subject_id=voucher.pk,
        member_id=voucher.member_id,
        payload={
            "voucher_id": voucher.pk,
            "member_id": voucher.member_id,
            "reward_id": voucher.reward_id,
            "channel": voucher.channel,
            "expires_at": voucher.expires_at,
            "at": at,
            **extra,
        },
        occurred_at=at,
    )


def _create(voucher: Voucher) -> Voucher:
    voucher_validate(voucher, exclude=["code"])
    for _attempt in range(_CODE_ATTEMPTS):
        voucher.code = voucher_code_generate()
        try:
            with transaction.atomic():
                voucher.save(force_insert=True)
                record_events_bulk([voucher_event(EventKind.VOUCHER_ISSUED, voucher, at=voucher.issued_at)])
        except IntegrityError:
            if voucher.reference and Voucher.objects.filter(reference=voucher.reference).exists():
                raise reference_reused(voucher.reference) from None
            if not Voucher.objects.filter(code=voucher.code).exists():
                raise  # not a code collision: a real bug, never retried
            voucher.pk = None
            continue  # the random code was taken: draw another
        return voucher
    raise RuntimeError("could not draw a free voucher code")  # 31^8 codes: never in practice


def _count_issue(reward: Reward) -> None:
    Reward.objects.filter(pk=reward.pk).update(issued_count=F("issued_count") + 1)
    reward.issued_count += 1


def _notify_issued(voucher: Voucher) -> None:
    """Write the "voucher-issued" message to the outbox in the issuing transaction: it is sent
    after the commit, and never if the issue rolls back."""
    member = voucher.member
    reward = voucher.reward
    zone = voucher.issued_store.zone if voucher.issued_store_id else programme_zone()
    last_day = timezone.localtime(voucher.expires_at, zone).date() - datetime.timedelta(days=1)
    name = reward.name_en if member_language(member) == "en" and reward.name_en else reward.name
    message_enqueue(
        member=member,
        event="voucher-issued",
        context={"voucher_code": voucher.code, "voucher_name": name, "voucher_expires_at": last_day},
        dedupe_key=f"voucher-issued:{voucher.pk}",
    )


def reward_redeem(
    *,
    member: Member,
    reward: Reward,
    store: Store,
    reference: str,
    proof: PresenceProof | None = None,
    channel: str = Voucher.Channel.POINTS,
) -> Voucher:
    """Exchange the member's points for a voucher of `reward` at `store`'s till.

    In one transaction: lock the reward, then the member; check that the reward is in the
    catalogue, within its issuing window, offered at the store's brand, in stock and under the
    member's limit (RewardUnavailable, 422, with `extra["reason"]`); spend the tier-discounted
    points through the ledger (InsufficientPoints, 409; MemberInDebt, 409, while the member owes
    points from a refund, whatever the reward costs); issue the voucher and count it against
    the stock. Idempotent on `reference`: a retry returns the voucher already issued. `member`
    comes back with its new balance. Above the programme's free limit, `proof` (the card token
    or a one-time code) must show the member is present (MemberProofRequired /
    MemberProofInvalid, 403); it is used up with the points. `channel` says where the member
    exchanged: at a till (`points`, the default) or on the member pages (`web`)."""
    if channel not in POINTS_CHANNELS:
        raise ValueError(f"reward_redeem exchanges points; {channel!r} is not such a channel")
    reference = issue_reference(reference)
    if reference is None:
        raise ValueError("reward_redeem needs a reference (e.g. the POS request's idempotency key)")
    now = timezone.now()
    zone = zone_for(store)
    with transaction.atomic():
        locked_reward = _lock_reward(reward)
        existing = _existing(reference, member=member, reward=locked_reward)
        if existing is not None:
            return existing
        locked_member = members_lock(member_ids=[member.pk])[member.pk]
        _require_active(locked_member)
        if locked_member.points_debt > 0:
            raise member_in_debt(locked_member)
        refusal = reward_refusal(
            reward=locked_reward, member=locked_member, at=now, zone=zone, brand_id=store.brand_id, for_points=True
        )
        if refusal is not None:
            raise refusal.error()
        cost = reward_points_cost(reward=locked_reward, member=locked_member)
        presence = presence_proof_check(member=locked_member, points=cost, proof=proof, at=now)
        entry = None
        if cost > 0:
            entry = points_spend(
                member=member,
                points=cost,
                reference=f"redemption:{reference}",
                occurred_at=now,
                cause_kind="redemption",
                cause_reference=locked_reward.code,
            )
        if presence is not None:
            presence_proof_consume(check=presence, cause_reference=f"redemption:{reference}")
        voucher = _create(
            Voucher(
                reward=locked_reward,
                member=locked_member,
                channel=channel,
                issued_at=now,
                issued_store=store,
                reference=reference,
                points_spent=cost,
                spend_entry=entry,
                expires_at=voucher_expires_at(reward=locked_reward, issued_at=now, zone=zone),
            )
        )
        _count_issue(locked_reward)
        _notify_issued(voucher)
    return voucher


def voucher_issue(
    *,
    reward: Reward,
    member: Member,
    channel: str,
    issued_by=None,
    reason: str = "",
    reference: str | None = None,
    store: Store | None = None,
) -> Voucher:
    """Give a voucher without points: from a campaign, by staff (a reason is required) or an
    import. Hidden rewards can be given; the issuing window, the stock and the member's limit
    apply (RewardUnavailable). Idempotent on `reference` when one is given (a campaign passes
    e.g. `campaign:BIRTHDAY-MONTHLY:2025:member:42`)."""
    reason = free_issue_reason(channel=channel, reason=reason, service="voucher_issue")
    reference = issue_reference(reference)
    now = timezone.now()
    zone = zone_for(store)
    with transaction.atomic():
        locked_reward = _lock_reward(reward)
        existing = _existing(reference, member=member, reward=locked_reward)
        if existing is not None:
            return existing
        current = Member.objects.get(pk=member.pk)
        _require_active(current)
        refusal = reward_refusal(reward=locked_reward, member=current, at=now, zone=zone)
        if refusal is not None:
            raise refusal.error()
        voucher = _create(
            Voucher(
                reward=locked_reward,
                member=current,
                channel=channel,
                issued_at=now,
                issued_by=issued_by,
                issued_store=store,
                reason=reason,
                reference=reference,
                expires_at=voucher_expires_at(reward=locked_reward, issued_at=now, zone=zone),
            )
        )
        _count_issue(locked_reward)
        _notify_issued(voucher)
    return voucher


def voucher_use(*, voucher: Voucher, store: Store, sale_reference: str, at: datetime.datetime) -> Voucher:
    """Mark the voucher used on the sale `sale_reference` at `store` (check it with
    `voucher_check` first). Exactly once: a conditional UPDATE that only an issued, unexpired
    voucher passes. The loser of a race gets VoucherUsed (or VoucherExpired / VoucherNotApplicable
    when it had expired or been voided). Using it again for the same sale at the same store is a
    retry and changes nothing."""
    sale_reference = str(sale_reference or "").strip()
    if not sale_reference:
        raise ValueError("voucher_use needs the sale's reference")
    with transaction.atomic():
        updated = Voucher.objects.filter(pk=voucher.pk, status=Voucher.Status.ISSUED, expires_at__gt=at).update(
            status=Voucher.Status.USED,
            used_at=at,
            used_store=store,
            used_sale_reference=sale_reference,
            updated_at=timezone.now(),
        )
        current = Voucher.objects.select_related("reward", "member", "used_store").get(pk=voucher.pk)
        if updated:
            record_events_bulk(
                [
                    voucher_event(
                        EventKind.VOUCHER_USED,
                        current,
                        at=at,
                        store_id=store.pk,
                        sale_reference=sale_reference,
                    )
                ]
            )
    if not updated:
        if (
            current.status == Voucher.Status.USED
            and current.used_sale_reference == sale_reference
            and current.used_store_id == store.pk
        ):
            copy_saved(voucher, current, STATE_FIELDS)
            return voucher
        if current.status == Voucher.Status.USED:
            raise VoucherUsed(
                _("Voucher %(code)s has already been used.") % {"code": current.code},
                extra={"voucher": current.code, "reason": "used"},
            )
        if current.status == Voucher.Status.VOID:
            raise VoucherNotApplicable(
                _("Voucher %(code)s was cancelled.") % {"code": current.code},
                extra={"voucher": current.code, "reason": "void"},
            )
        raise VoucherExpired(
            _("Voucher %(code)s has expired.") % {"code": current.code},
            extra={"voucher": current.code, "reason": "expired"},
        )
    copy_saved(voucher, current, STATE_FIELDS)
    return voucher


def voucher_return(
    *, voucher: Voucher, reason: str, sale_reference: str | None = None, at: datetime.datetime | None = None
) -> bool:
    """Give a used voucher back after its sale was fully refunded, if it has not expired: it is
    issued again, usable until its original expiry. Returns True when given back (also for a
    retry after it already was, from the same sale), False when it had expired or was not used
    (on `sale_reference`, when given) -- the refund goes on either way."""
    at = at or timezone.now()
    reason = " ".join(str(reason or "").split())[:300]
    with transaction.atomic():
        candidates = Voucher.objects.filter(pk=voucher.pk, status=Voucher.Status.USED, expires_at__gt=at)
        if sale_reference:
            candidates = candidates.filter(used_sale_reference=sale_reference)
        updated = candidates.update(
            status=Voucher.Status.ISSUED,
            returned_at=at,
            returned_from_sale=F("used_sale_reference"),
            return_reason=reason,
            used_at=None,
            used_store=None,
            used_sale_reference="",
            updated_at=timezone.now(),
        )
        current = Voucher.objects.get(pk=voucher.pk)
    copy_saved(voucher, current, STATE_FIELDS)
    if updated:
        return True
    return bool(
        sale_reference and current.status == Voucher.Status.ISSUED and current.returned_from_sale == sale_reference
    )


def voucher_void(*, voucher: Voucher, by, reason: str) -> Voucher:
    """Cancel an issued voucher (a mistake, fraud, a goodwill gesture taken back); a reason is
    required. Used, expired or already void vouchers cannot be voided (VoucherNotVoidable). The
    stock is not given back: the voucher was issued."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationFailed(errors={"reason": [_("Give a reason for voiding the voucher.")]})
    with transaction.atomic():
        updated = _void_if_issued(voucher, by=by, reason=reason)
        current = Voucher.objects.get(pk=voucher.pk)
    copy_saved(voucher, current, STATE_FIELDS)
    if not updated:
        raise VoucherNotVoidable(
            _("Voucher %(code)s is %(status)s and cannot be voided.")
            % {"code": current.code, "status": current.get_status_display().lower()}
        )
    return voucher


def _void_if_issued(voucher: Voucher, *, by, reason: str) -> bool:
    """Void the voucher if it is still issued and unexpired: a conditional UPDATE, so of a till
    using it and a void at the same moment exactly one wins. True when voided."""
    now = timezone.now()
    voided = bool(
        Voucher.objects.filter(pk=voucher.pk, status=Voucher.Status.ISSUED, expires_at__gt=now).update(
            status=Voucher.Status.VOID, voided_at=now, voided_by=by, void_reason=reason[:300], updated_at=now
        )
    )
    if voided:
        record_events_bulk([voucher_event(EventKind.VOUCHER_VOIDED, voucher, at=now, reason=reason[:300])])
    return voided


def vouchers_void_to_cover(*, member: Member, points: int, reason: str, cause_reference: str) -> list[Voucher]:
    """Before a claw-back of `points` (a refund taking back points the member has spent) would
    leave the member owing points: void the member's unused vouchers bought with points, the
    most recently issued first, giving their points back through the ledger (`points_reverse`
    of the exchange's spend), only until the member's unexpired points cover the claw-back
    (`member_points_coverable`), or none is left. Points given back into lots that have expired
    since expire again at once (the ledger's rule), so they cover nothing and the next voucher is
    voided. Returns the vouchers voided, in that order.

    Runs in the caller's transaction (the refund's) or its own; locks the member's row first
    (the ledger's lock; the refund holds it already), then each voucher by a conditional UPDATE:
    a voucher a till uses at the same moment is either used there or voided here, never both.
    The reward's stock is not given back (as for `voucher_void`): the voucher was issued."""
    points = int(points)
    if points <= 0:
        return []
    reason = " ".join(str(reason or "").split())[:300]
    voided: list[Voucher] = []
    with transaction.atomic():
        members_lock(member_ids=[member.pk])
        if member_points_coverable(member=member) >= points:
            return []
        candidates = (
            Voucher.objects.filter(
                member_id=member.pk,
                channel__in=POINTS_CHANNELS,
                status=Voucher.Status.ISSUED,
                expires_at__gt=timezone.now(),
                spend_entry__isnull=False,
            )
            .select_related("spend_entry")
            .order_by("-issued_at", "-pk")
        )
        for voucher in candidates:
            if not _void_if_issued(voucher, by=None, reason=reason):
                continue  # used by a till a moment ago: it was bought, it stays so
            points_reverse(
                entry=voucher.spend_entry,
                reference=f"voucher:{voucher.pk}:void",
                cause_kind="voucher-void",
                cause_reference=cause_reference,
                reason=reason,
            )
            voucher.refresh_from_db()
            voided.append(voucher)
            if member_points_coverable(member=member) >= points:
                break
    return voided


def expiry_cutoff(as_of: datetime.date) -> datetime.datetime:
    """Running the expiry for day D expires every voucher whose last valid day is before D."""
    return datetime.datetime.combine(as_of, datetime.time.min, tzinfo=programme_zone())


def vouchers_expire(*, as_of: datetime.date | None = None) -> int:
    """Mark expired every issued voucher whose expiry has passed by the start of `as_of`
    (default: today in the programme's zone). One set-based UPDATE; running it again for the
    same day changes nothing. A future day is refused. Returns how many were marked."""
    today = timezone.localtime(timezone.now(), programme_zone()).date()
    as_of = as_of or today
    if as_of > today:
        raise ValidationFailed(errors={"as_of": [_("The expiry cannot be run for a future day.")]})
    with transaction.atomic():
        return Voucher.objects.filter(status=Voucher.Status.ISSUED, expires_at__lte=expiry_cutoff(as_of)).update(
            status=Voucher.Status.EXPIRED, updated_at=timezone.now()
        )
