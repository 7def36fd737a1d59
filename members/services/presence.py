"""Proof that the member is present before points are spent (pos-api.md 1.1).

    member_token_issue(*, member, at=None) -> MemberToken          the card page's QR (a later issue)
    presence_code_issue(*, member, at=None) -> (PresenceCode, code)
                                                                    a one-time code; its sending is
                                                                    `notifications.services.presence_code_send`
    presence_proof_required(*, points, programme=None) -> bool      the programme's free limit
    presence_proof_check(*, member, points, proof, at=None) -> PresenceCheck | None
    presence_proof_consume(*, check, cause_reference)               in the spend's transaction

A spend (a sale's points payment, a redemption) runs, under the member's row lock:
`presence_proof_check` before its first write (it refuses with MemberProofRequired or
MemberProofInvalid, 403), then `presence_proof_consume` among its writes. The lock serialises
every spend of the member, so a token or code is consumed at most once; the unique
(key, step) of `PresenceTokenUse` and the conditional UPDATE of a code are the backstops. A
wrong code counts against every active code of the member (five wrong tries void them): that
count is a *kept write* of the refusal (`DomainError.kept_writes`), applied after the refused
spend was rolled back, so it survives the refusal."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.money import ZERO
from loyalty_site.core.transactions import service_transaction, writes
from members.errors import MemberProofInvalid, MemberProofRequired, PresenceCodeThrottled
from members.models import Member, PresenceCode, PresenceKey, PresenceTokenUse, ProgrammeSettings
from members.presence import (
    CODE_MAX_WRONG_TRIES,
    CODE_VALID,
    CODES_PER_WINDOW,
    CODES_WINDOW,
    code_generate,
    code_hash,
    code_matches,
    handle_generate,
    salt_generate,
    secret_generate,
    token_make,
    token_matching_step,
    token_split,
    token_step,
    token_valid_until,
)
from members.selectors import programme_settings_get
from members.services.ledger import members_lock

_HANDLE_ATTEMPTS = 5


# --- The card token ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberToken:
    token: str
    valid_until: datetime.datetime


def _key_for(member: Member) -> PresenceKey:
    key = PresenceKey.objects.filter(member_id=member.pk).first()
    if key is not None:
        return key
    for _attempt in range(_HANDLE_ATTEMPTS):
        try:
            with transaction.atomic():
                return PresenceKey.objects.create(member=member, handle=handle_generate(), secret=secret_generate())
        except IntegrityError:
            key = PresenceKey.objects.filter(member_id=member.pk).first()
            if key is not None:  # created by a concurrent request
                return key
    raise RuntimeError("could not draw a free token handle")  # 31^11 handles: never in practice


def member_token_issue(*, member: Member, at: datetime.datetime | None = None) -> MemberToken:
    """The member's card token for now (the key is created on first use). Show it as a QR and
    fetch a new one each minute."""
    at = at or timezone.now()
    key = _key_for(member)
    step = token_step(at)
    return MemberToken(
        token=token_make(handle=key.handle, secret=key.secret, step=step), valid_until=token_valid_until(step)
    )


# --- One-time codes ---------------------------------------------------------------------------


def _active_codes(member: Member, at: datetime.datetime):
    return PresenceCode.objects.filter(
        member_id=member.pk, used_at__isnull=True, expires_at__gt=at, wrong_tries__lt=CODE_MAX_WRONG_TRIES
    )


def presence_code_issue(*, member: Member, at: datetime.datetime | None = None) -> tuple[PresenceCode, str]:
    """A new one-time code for `member`, valid 5 minutes; returns the row and the code itself
    (to send, never stored). At most 3 a member per 10 minutes: PresenceCodeThrottled (429)
    otherwise, with Retry-After. Counted under the member's row lock."""
    at = at or timezone.now()
    with service_transaction():
        members_lock(member_ids=[member.pk])
        recent = list(
            PresenceCode.objects.filter(member_id=member.pk, created_at__gt=at - CODES_WINDOW)
            .order_by("created_at")
            .values_list("created_at", flat=True)
        )
        if len(recent) >= CODES_PER_WINDOW:
            free_at = recent[-CODES_PER_WINDOW] + CODES_WINDOW
            wait = max(1, int((free_at - at).total_seconds()) + 1)
            raise PresenceCodeThrottled(
                _("At most %(count)d one-time codes a member per %(minutes)d minutes.")
                % {"count": CODES_PER_WINDOW, "minutes": int(CODES_WINDOW.total_seconds() // 60)},
                headers={"Retry-After": str(wait)},
            )
        code, salt = code_generate(), salt_generate()
        with writes():
            row = PresenceCode.objects.create(
                member=member,
                salt=salt,
                code_hash=code_hash(code=code, salt=salt),
                created_at=at,
                expires_at=at + CODE_VALID,
            )
    return row, code


# --- The proof on a spend ---------------------------------------------------------------------


@dataclass(frozen=True)
class PresenceProof:
    """What the till sent: the card token or the one-time code (blank when not sent).

    `signed_in_member_id`: the member is acting on their own member pages, signed in on this
    device with a one-time code sent to their phone (`portal`). Only the portal sets it, from
    its session, never from anything a till or a form sends. It proves no more than the session
    already can: the same session opens the card page, whose token the till accepts. It is
    good for that member only; there is nothing to use up (the session stays)."""

    member_token: str = ""
    otp: str = ""
    signed_in_member_id: int | None = None


@dataclass(frozen=True)
class PresenceCheck:
    """A proof found good by `presence_proof_check`, to consume in the same transaction."""

    member_id: int
    at: datetime.datetime
    key_id: int | None = None
    step: int | None = None
    code_id: int | None = None


def presence_proof_required(
    *, points: int, programme: ProgrammeSettings | None = None, store_credit: Decimal = ZERO
) -> bool:
    """Whether spending `points` (and `store_credit` VND of store credit) needs proof that the
    member is present: each is held to its own free limit."""
    if points <= 0 and store_credit <= 0:
        return False
    programme = programme or programme_settings_get()
    policy = ProgrammeSettings.PresenceProof
    if programme.presence_proof == policy.ALWAYS:
        return True
    return programme.presence_proof == policy.ABOVE and (
        points > programme.presence_free_points or store_credit > programme.presence_free_store_credit
    )


def _invalid(detail: str, kept_writes=None) -> MemberProofInvalid:
    return MemberProofInvalid(detail, kept_writes=kept_writes)


def presence_proof_check(
    *,
    member: Member,
    points: int,
    proof: PresenceProof | None,
    at: datetime.datetime | None = None,
    programme: ProgrammeSettings | None = None,
    store_credit: Decimal = ZERO,
) -> PresenceCheck | None:
    """Check the proof for spending `points` (and `store_credit` VND) of `member`, whose row the caller has locked.
    None when no proof is needed (what the till sent is then ignored) or when the member is
    signed in on their own pages; the good proof to consume otherwise. Refuses with
    MemberProofRequired (nothing sent) or MemberProofInvalid (a token that is not this member's
    current one or was used; a code that matches no active code, a wrong code also counting a
    wrong try, kept after the rollback; a signed-in proof of another member). Writes nothing."""
    if not presence_proof_required(points=points, programme=programme, store_credit=store_credit):
        return None
    at = at or timezone.now()
    proof = proof or PresenceProof()
    if proof.signed_in_member_id is not None:
        if proof.signed_in_member_id != member.pk:
            raise _invalid(_("Only the member can spend their own points on their pages."))
        return None
    token, otp = (proof.member_token or "").strip(), "".join((proof.otp or "").split())
    if not token and not otp and not points:
        raise MemberProofRequired(
            _("Spending %(amount)s VND of store credit needs the member's card token or a one-time code.")
            % {"amount": f"{store_credit:f}"}
        )
    if not token and not otp:
        raise MemberProofRequired(
            _("Spending %(points)d points needs the member's card token or a one-time code.") % {"points": points}
        )
    if token:
        return _token_check(member, token, at)
    return _code_check(member, otp, at)


def _token_check(member: Member, token: str, at: datetime.datetime) -> PresenceCheck:
    parts = token_split(token)
    key = PresenceKey.objects.filter(member_id=member.pk).first()
    if parts is None or key is None or parts[0] != key.handle:
        raise _invalid(_("This card token is not the member's."))
    step = token_matching_step(handle=key.handle, secret=key.secret, mac=parts[1], at=at)
    if step is None:
        raise _invalid(_("This card token is wrong or has expired: scan the member's card page again."))
    if PresenceTokenUse.objects.filter(key_id=key.pk, step=step).exists():
        raise _invalid(_("This card token was already used: scan the member's card page again."))
    return PresenceCheck(member_id=member.pk, at=at, key_id=key.pk, step=step)


def _code_check(member: Member, otp: str, at: datetime.datetime) -> PresenceCheck:
    active = list(_active_codes(member, at).order_by("-created_at", "-pk"))
    for code in active:
        if code_matches(code=otp, salt=code.salt, hashed=code.code_hash):
            return PresenceCheck(member_id=member.pk, at=at, code_id=code.pk)
    if not active:
        raise _invalid(_("The member has no valid one-time code: send a new one."))
    ids = [code.pk for code in active]

    def count_wrong_try() -> None:
        # Against every active code: five wrong guesses in all, not five per code.
        PresenceCode.objects.filter(pk__in=ids, used_at__isnull=True).update(wrong_tries=F("wrong_tries") + 1)

    raise _invalid(_("The one-time code is wrong."), kept_writes=[count_wrong_try])


def presence_proof_consume(*, check: PresenceCheck, cause_reference: str) -> None:
    """Use up the proof `presence_proof_check` found good, in the spend's transaction (under the
    same member lock): it is then gone if the spend commits, and still there if it rolls back."""
    with writes():
        if check.code_id is not None:
            used = PresenceCode.objects.filter(
                pk=check.code_id, used_at__isnull=True, wrong_tries__lt=CODE_MAX_WRONG_TRIES
            ).update(used_at=check.at, cause_reference=cause_reference[:200])
            if not used:  # only without the member's lock; never in the checkout
                raise _invalid(_("The one-time code was already used."))
        else:
            PresenceTokenUse.objects.create(
                member_id=check.member_id,
                key_id=check.key_id,
                step=check.step,
                used_at=check.at,
                cause_reference=cause_reference[:200],
            )
