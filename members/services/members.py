"""Member records and cards: enrol, update, consent, block / unblock, merge, issue and replace
cards. Points are never written here: merging hands the ledger part to
`members.services.ledger.ledger_move`."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed, refusal_errors
from loyalty_site.core.events import EventKind, EventSpec, record_events_bulk
from loyalty_site.core.models import copy_saved
from loyalty_site.core.text import single_line
from members.codes import MEMBER_CODE_LENGTH, REFERRAL_CODE_LENGTH, code_generate, code_normalise
from members.errors import MemberExists, MemberMerged
from members.models import Card, ConsentChange, Member, MemberMerge
from members.phones import phone_normalise
from members.search import name_fold
from members.selectors import member_by_referral_code, member_resolve
from members.services.credit import store_credit_move
from members.services.ledger import ledger_move, members_lock
from stores.models import Store

_CARD_NUMBER = re.compile(r"^[A-Z0-9]{4,32}$")
_CODE_ATTEMPTS = 8
UPDATABLE_FIELDS = frozenset({"name", "phone", "email", "birthday", "gender", "home_store"})


def _clean_name(name: object) -> str:
    # Control characters are stripped, not refused: loyalty_site/core/text.py says why.
    return single_line(name)


def _clean_email(email: object) -> str:
    email = str(email or "").strip()
    local, at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if at else email


def card_number_normalise(number: object) -> str:
    """Card numbers as printed or scanned: spaces and dashes dropped, letters upper-cased."""
    return re.sub(r"[\s\-]", "", str(number or "")).upper()


def _card_number_errors(number: str) -> list[str]:
    if not _CARD_NUMBER.match(number):
        return [_("A card number has 4 to 32 letters or digits.")]
    if Card.objects.filter(number=number).exists():
        return [_("This card number is already in use.")]
    return []


def _phone_taken_by(phone: str, *, exclude_pk: int | None = None) -> Member | None:
    others = Member.objects.filter(phone=phone)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    other = others.first()
    return member_resolve(other) if other is not None else None


def _consent_source_checked(source: object) -> str:
    # A programming error, not the member's input: every caller names how consent was given.
    if source not in ConsentChange.Source.values:
        raise ValueError(f"unknown consent source {source!r}; one of {ConsentChange.Source.values}")
    return str(source)


def _consent_changes_record(
    *, member: Member, changes: dict[str, bool], at: datetime.datetime, source: str, by=None, note: str = ""
) -> None:
    """The record of consent changes that were just made (Decree 13/2023), one row each."""
    if changes:
        ConsentChange.objects.bulk_create(
            ConsentChange(
                member=member, channel=channel, given=given, at=at, source=source, by=by, note=(note or "")[:300]
            )
            for channel, given in changes.items()
        )
        record_events_bulk(
            EventSpec(
                kind=EventKind.CONSENT_CHANGED,
                subject_type="member",
                subject_id=member.pk,
                member_id=member.pk,
                payload={
                    "member_id": member.pk,
                    "member_code": member.code,
                    "channel": channel,
                    "given": given,
                    "source": source,
                    "at": at,
                },
                occurred_at=at,
            )
            for channel, given in changes.items()
        )


def member_enrolled_event(member: Member) -> EventSpec:
    """The `member.enrolled` event (issue 17): ids and codes, no personal data (docs/webhooks.md)."""
    return EventSpec(
        kind=EventKind.MEMBER_ENROLLED,
        subject_type="member",
        subject_id=member.pk,
        member_id=member.pk,
        payload={
            "member_id": member.pk,
            "member_code": member.code,
            "channel": member.enrolment_channel,
            "home_store_id": member.home_store_id,
            "referred_by_id": member.referred_by_id,
            "enrolled_at": member.enrolled_at,
        },
        occurred_at=member.enrolled_at,
    )


_DERIVED_FIELDS = frozenset({"name_folded"})


def member_changed_event(member: Member, fields: list[str], *, at: datetime.datetime | None = None) -> EventSpec:
    """The `member.changed` event: which fields changed, not their values (personal data stays here)."""
    return EventSpec(
        kind=EventKind.MEMBER_CHANGED,
        subject_type="member",
        subject_id=member.pk,
        member_id=member.pk,
        payload={
            "member_id": member.pk,
            "member_code": member.code,
            # Search columns the services derive (the folded name) are not changes a receiver knows.
            "fields": sorted(set(fields) - _DERIVED_FIELDS),
            "status": member.status,
        },
        occurred_at=at,
    )


def _member_exists(member: Member) -> MemberExists:
    return MemberExists(
        _("The phone number is already enrolled as member %(code)s.") % {"code": member.code},
        extra={"member_id": member.pk},
    )


def member_enrol(
    *,
    name: str,
    phone: str,
    channel: str,
    email: str = "",
    birthday: datetime.date | None = None,
    gender: str = "",
    home_store: Store | None = None,
    card_number: str = "",
    referral_code: str = "",
    consents: dict[str, bool] | None = None,
    consent_source: str | None = None,
    consent_by=None,
    enrolled_at: datetime.datetime | None = None,
    code: str | None = None,
) -> Member:
    """Enrol a member. The phone is accepted in any common Vietnamese form and stored as E.164.
    Refusals write nothing: MemberExists (409, `extra.member_id`) when the phone is enrolled
    already; ValidationFailed (400, errors per field: name, phone, email, birthday, gender,
    card_number, referral_code) for anything invalid.

    `consents` ({channel: given}) needs `consent_source` (a `ConsentChange.Source`: how the
    member gave it) and, for staff, `consent_by`: each consent given is recorded as a
    `ConsentChange`; one not given changes nothing and is not recorded."""
    if consents:
        consent_source = _consent_source_checked(consent_source)
    errors: dict[str, list[str]] = {}
    try:
        phone = phone_normalise(phone)
    except ValidationError as exc:
        errors["phone"] = list(exc.messages)
    else:
        existing = _phone_taken_by(phone)
        if existing is not None:
            raise _member_exists(existing)
    referrer = None
    if referral_code and str(referral_code).strip():
        referrer = member_by_referral_code(referral_code=referral_code)
        if referrer is None:
            errors["referral_code"] = [_("No member has this referral code.")]
    card_number = card_number_normalise(card_number)
    if card_number and (card_errors := _card_number_errors(card_number)):
        errors["card_number"] = card_errors
    now = timezone.now()
    member = Member(
        code=code_normalise(code) if code else code_generate(MEMBER_CODE_LENGTH),
        referral_code=code_generate(REFERRAL_CODE_LENGTH),
        name=_clean_name(name),
        name_folded=name_fold(_clean_name(name)),
        phone=phone,
        email=_clean_email(email),
        birthday=birthday,
        gender=gender or "",
        home_store=home_store,
        enrolment_channel=channel,
        enrolled_at=enrolled_at or now,
        referred_by=referrer,
    )
    for channel_name, given in (consents or {}).items():
        if channel_name not in Member.CONSENT_CHANNELS:
            raise ValueError(f"unknown consent channel {channel_name!r}")
        setattr(member, f"consent_{channel_name}_at", now if given else None)
    try:
        # Uniqueness is checked above (and by the database); the check constraints concern the
        # balance and merges, which a new member cannot break. Validating them here would cost
        # a query each.
        member.full_clean(
            exclude=["phone"] if "phone" in errors else None, validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        for field_name, messages in refusal_errors(exc).items():
            errors.setdefault(field_name, []).extend(messages)
    if errors:
        raise ValidationFailed(errors=errors)

    for _attempt in range(_CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                member.save(force_insert=True)
                record_events_bulk([member_enrolled_event(member)])
                if card_number:
                    Card.objects.create(member=member, number=card_number, issued_at=member.enrolled_at)
                _consent_changes_record(
                    member=member,
                    changes={channel_name: True for channel_name, given in (consents or {}).items() if given},
                    at=now,
                    source=consent_source,
                    by=consent_by,
                )
            return member
        except IntegrityError:
            member.pk = None
            member._state.adding = True
            existing = _phone_taken_by(member.phone)
            if existing is not None:  # enrolled by a concurrent request
                raise _member_exists(existing) from None
            if card_number and Card.objects.filter(number=card_number).exists():
                raise ValidationFailed(errors={"card_number": [_("This card number is already in use.")]}) from None
            if code and Member.objects.filter(code=member.code).exists():
                raise ValidationFailed(errors={"code": [_("This member code is already in use.")]}) from None
            # A generated code collided: draw new ones.
            member.code = code_generate(MEMBER_CODE_LENGTH) if not code else member.code
            member.referral_code = code_generate(REFERRAL_CODE_LENGTH)
    raise RuntimeError("could not draw a unique member code")


def _lock_one(member: Member) -> Member:
    return members_lock(member_ids=[member.pk])[member.pk]


def _require_not_merged(member: Member) -> None:
    if member.status == Member.Status.MERGED:
        raise MemberMerged(_("Member %(code)s was merged into another member; use that one.") % {"code": member.code})


def _audit(member: Member, *, by=None, reason: str = "") -> None:
    """Who and why, for the member's audit trail (django-simple-history); without `by`, the
    signed-in user of the request, if any (its middleware)."""
    if by is not None:
        member._history_user = by
    member._change_reason = (reason or "").strip()


def member_update(*, member: Member, data: dict[str, Any], changed_by=None, reason: str = "") -> Member:
    """Change a member's own data (name, phone, email, birthday, gender, home store). A phone
    that another member has: MemberExists; invalid values: ValidationFailed; nothing written on
    refusal. Points, status, codes and consents have their own services. The member's history
    keeps who (`changed_by`), when, why (`reason`) and the old and new values."""
    unknown = set(data) - UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f"member_update cannot change {sorted(unknown)}")
    with transaction.atomic():
        locked = _lock_one(member)
        _require_not_merged(locked)
        changes = dict(data)
        if "name" in changes:
            changes["name"] = _clean_name(changes["name"])
            changes["name_folded"] = name_fold(changes["name"])
        if "email" in changes:
            changes["email"] = _clean_email(changes["email"])
        if "gender" in changes:
            changes["gender"] = changes["gender"] or ""
        errors: dict[str, list[str]] = {}
        if "phone" in changes:
            try:
                changes["phone"] = phone_normalise(changes["phone"])
            except ValidationError as exc:
                errors["phone"] = list(exc.messages)
            else:
                other = _phone_taken_by(changes["phone"], exclude_pk=locked.pk)
                if other is not None and other.pk != locked.pk:
                    raise _member_exists(other)
        for field_name, value in changes.items():
            setattr(locked, field_name, value)
        try:
            locked.full_clean(exclude=list(errors) or None, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for field_name, messages in refusal_errors(exc).items():
                errors.setdefault(field_name, []).extend(messages)
        if errors:
            raise ValidationFailed(errors=errors)
        _audit(locked, by=changed_by, reason=reason)
        locked.save(update_fields=[*changes, "updated_at"])
        record_events_bulk([member_changed_event(locked, list(changes))])
    copy_saved(member, locked, changes)
    return locked


def member_consent_set(
    *,
    member: Member,
    channel: str,
    given: bool,
    source: str,
    at: datetime.datetime | None = None,
    by=None,
    note: str = "",
) -> Member:
    """Record that the member gave (with the time) or withdrew consent to messages on a
    channel (sms, email, zalo, push), and how (`source`, a `ConsentChange.Source`; `by`: the
    staff user, if any). Giving it again keeps the original time; a call that changes nothing
    (given twice, withdrawn twice) writes nothing, not even a `ConsentChange`."""
    source = _consent_source_checked(source)
    if channel not in Member.CONSENT_CHANNELS:
        raise ValidationFailed(errors={"channel": [_("Unknown channel.")]})
    if not isinstance(given, bool):
        raise ValidationFailed(errors={"given": [_("Say yes or no.")]})
    field_name = f"consent_{channel}_at"
    with transaction.atomic():
        locked = _lock_one(member)
        _require_not_merged(locked)
        current = getattr(locked, field_name)
        now = at or timezone.now()
        value = (current or now) if given else None
        if (value is None) != (current is None):
            setattr(locked, field_name, value)
            locked.save(update_fields=[field_name, "updated_at"])
            _consent_changes_record(member=locked, changes={channel: given}, at=now, source=source, by=by, note=note)
    copy_saved(member, locked, [field_name])
    return locked


def _status_set(member: Member, status: str, reason: str, changed_by=None) -> Member:
    with transaction.atomic():
        locked = _lock_one(member)
        _require_not_merged(locked)
        if locked.status != status:
            locked.status = status
            locked.status_changed_at = timezone.now()
            locked.status_reason = (reason or "").strip()[:300]
            locked.full_clean(validate_unique=False, validate_constraints=False)
            _audit(locked, by=changed_by, reason=locked.status_reason)
            locked.save(update_fields=["status", "status_changed_at", "status_reason", "updated_at"])
            record_events_bulk([member_changed_event(locked, ["status"])])
    member.status, member.status_changed_at, member.status_reason = (
        locked.status,
        locked.status_changed_at,
        locked.status_reason,
    )
    return locked


def member_block(*, member: Member, reason: str = "", changed_by=None) -> Member:
    """Block a member: no earning or spending until unblocked (reversals, expiry and staff
    adjustments still apply). Blocking a blocked member changes nothing."""
    return _status_set(member, Member.Status.BLOCKED, reason, changed_by)


def member_unblock(*, member: Member, reason: str = "", changed_by=None) -> Member:
    return _status_set(member, Member.Status.ACTIVE, reason, changed_by)


def member_review_clear(*, member: Member) -> Member:
    """Staff have looked at a flagged member (e.g. a negative balance after a refund)."""
    with transaction.atomic():
        locked = _lock_one(member)
        if locked.needs_review or locked.review_note:
            locked.needs_review = False
            locked.review_note = ""
            locked.save(update_fields=["needs_review", "review_note", "updated_at"])
    member.needs_review, member.review_note = False, ""
    return locked


# --- Cards ------------------------------------------------------------------------------------


def card_issue(*, member: Member, number: str, issued_at: datetime.datetime | None = None) -> Card:
    """Give the member a card (a member may hold several). A number ever used is refused."""
    number = card_number_normalise(number)
    errors = _card_number_errors(number)
    if errors:
        raise ValidationFailed(errors={"number": errors})
    with transaction.atomic():
        locked = _lock_one(member)
        _require_not_merged(locked)
        card = Card(member=locked, number=number, issued_at=issued_at or timezone.now())
        card.full_clean(validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():
                card.save(force_insert=True)
        except IntegrityError:
            raise ValidationFailed(errors={"number": [_("This card number is already in use.")]}) from None
    return card


def card_deactivate(*, card: Card, reason: str = Card.DeactivationReason.LOST) -> Card:
    """Stop a card from working (kept in the member's history)."""
    with transaction.atomic():
        locked = Card.objects.select_for_update().get(pk=card.pk)
        if not locked.is_active:
            return locked
        locked.is_active = False
        locked.deactivated_at = timezone.now()
        locked.deactivation_reason = reason
        locked.full_clean(validate_unique=False, validate_constraints=False)
        locked.save(update_fields=["is_active", "deactivated_at", "deactivation_reason"])
    card.is_active, card.deactivated_at, card.deactivation_reason = False, locked.deactivated_at, reason
    return locked


def card_replace(*, card: Card, new_number: str, reason: str = Card.DeactivationReason.LOST) -> Card:
    """Replace a lost (or damaged, stolen) card: a new card for the same member, the old one
    deactivated and linked to it. Returns the new card."""
    if reason not in Card.DeactivationReason.values:
        raise ValidationFailed(errors={"reason": [_("Choose a reason.")]})
    with transaction.atomic():
        old = Card.objects.select_for_update().select_related("member").get(pk=card.pk)
        if not old.is_active:
            raise ValidationFailed(errors={"number": [_("This card is no longer active.")]})
        new = card_issue(member=old.member, number=new_number)
        card_deactivate(card=old, reason=reason)
        Card.objects.filter(pk=old.pk).update(replaced_by=new)
    card.refresh_from_db()
    return new


# --- Merge ------------------------------------------------------------------------------------

_SNAPSHOT_FIELDS = [
    "code",
    "name",
    "phone",
    "email",
    "birthday",
    "gender",
    "home_store_id",
    "enrolled_at",
    "enrolment_channel",
    "status",
    "status_reason",
    "referral_code",
    "referred_by_id",
    *[f"consent_{c}_at" for c in Member.CONSENT_CHANNELS],
    "points_balance",
    "points_debt",
    "needs_review",
    "review_note",
]


def _snapshot(member: Member) -> dict[str, Any]:
    data = {}
    for name in _SNAPSHOT_FIELDS:
        value = getattr(member, name)
        data[name] = value.isoformat() if isinstance(value, datetime.date | datetime.datetime) else value
    return data


def member_merge(*, survivor: Member, merged: Member, merged_by=None, reason: str = "") -> MemberMerge:
    """Fold `merged` into `survivor` (e.g. one person enrolled twice): cards, ledger entries,
    point lots (with their expiry), balance, referrals and earlier merges move to the survivor;
    the survivor's empty fields are filled from the merged record; earliest enrolment and
    consents are kept. The merged record stays, with status "merged" and a link to the
    survivor, so its phone, code and card still lead to the survivor. A `MemberMerge` row keeps
    the merged member's data as it was and what moved.

    Apps above `members` that own member-linked rows (sales, vouchers, tier status) move theirs
    in the same transaction, around this call."""
    if survivor.pk == merged.pk:
        raise ValidationFailed(errors={"merged": [_("A member cannot be merged into itself.")]})
    with transaction.atomic():
        locked = members_lock(member_ids=[survivor.pk, merged.pk])
        keep, gone = locked[survivor.pk], locked[merged.pk]
        _require_not_merged(keep)
        _require_not_merged(gone)
        snapshot = _snapshot(gone)
        survivor_before = _snapshot(keep)
        now = timezone.now()

        changed = []
        for name in ("email", "birthday", "gender", "home_store_id"):
            if not getattr(keep, name) and getattr(gone, name):
                setattr(keep, name, getattr(gone, name))
                changed.append(name)
        if keep.referred_by_id is None and gone.referred_by_id not in (None, keep.pk):
            keep.referred_by_id = gone.referred_by_id
            changed.append("referred_by_id")
        if gone.enrolled_at < keep.enrolled_at:
            keep.enrolled_at = gone.enrolled_at
            changed.append("enrolled_at")
        consents_gained = {}
        for channel in Member.CONSENT_CHANNELS:
            name = f"consent_{channel}_at"
            theirs, ours = getattr(gone, name), getattr(keep, name)
            if theirs and (ours is None or theirs < ours):
                setattr(keep, name, theirs)
                changed.append(name)
                if ours is None:
                    consents_gained[channel] = True
        if gone.status == Member.Status.BLOCKED and not keep.needs_review:
            keep.needs_review = True
            keep.review_note = (_("Merged with blocked member %(code)s.") % {"code": gone.code})[:300]
            changed += ["needs_review", "review_note"]
        why = (_("Merged with %(code)s.") % {"code": gone.code} + " " + (reason or "").strip()).strip()
        if changed:
            _audit(keep, by=merged_by, reason=why)
            keep.save(update_fields=[*{name.removesuffix("_id") for name in changed}, "updated_at"])
        _consent_changes_record(
            member=keep,
            changes=consents_gained,
            at=now,
            source=ConsentChange.Source.MERGE,
            by=merged_by,
            note=_("Given to member %(code)s, merged into this one.") % {"code": gone.code},
        )

        moved: dict[str, Any] = {
            "cards": list(Card.objects.filter(member=gone).values_list("pk", flat=True)),
            "referrals": list(Member.objects.filter(referred_by=gone).exclude(pk=keep.pk).values_list("pk", flat=True)),
            "merged_members": list(Member.objects.filter(merged_into=gone).values_list("pk", flat=True)),
        }
        Card.objects.filter(member=gone).update(member=keep)
        Member.objects.filter(referred_by=gone).exclude(pk=keep.pk).update(referred_by=keep)
        if gone.referred_by_id == keep.pk or keep.referred_by_id == gone.pk:
            # They referred each other: the relation has no meaning within one person.
            Member.objects.filter(pk=keep.pk, referred_by=gone).update(referred_by=None)
        Member.objects.filter(merged_into=gone).update(merged_into=keep)
        moved.update(ledger_move(source=gone, target=keep))
        moved["store_credit_entries"] = store_credit_move(source=gone, target=keep)

        # Saved (not a bulk update) so that the member's history records the merge.
        gone.status = Member.Status.MERGED
        gone.merged_into = keep
        gone.status_changed_at = now
        gone.status_reason = (_("Merged into %(code)s.") % {"code": keep.code})[:300]
        gone.referred_by = None
        _audit(gone, by=merged_by, reason=f"{gone.status_reason} {(reason or '').strip()}".strip())
        gone.save(
            update_fields=["status", "merged_into", "status_changed_at", "status_reason", "referred_by", "updated_at"]
        )
        record = MemberMerge(
            survivor=keep,
            merged=gone,
            merged_at=now,
            merged_by=merged_by,
            reason=(reason or "").strip()[:300],
            snapshot={"merged": snapshot, "survivor_before": survivor_before},
            moved=moved,
        )
        record.full_clean(validate_unique=False, validate_constraints=False)
        record.save()
        merged_event = member_changed_event(gone, ["status", "merged_into"], at=now)
        merged_event.payload["merged_into_id"] = keep.pk
        record_events_bulk(
            [member_changed_event(keep, ["points_balance", *changed], at=now), merged_event],
        )
    survivor.refresh_from_db()
    merged.refresh_from_db()
    return record
