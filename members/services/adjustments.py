"""Manual point adjustments by staff, within limits, and the approval of the ones above them.

`points_adjustment_request` applies an adjustment at once when it is no larger than
`ProgrammeSettings.adjustment_max_points` and the requester's adjustments of the local day stay
within `adjustment_daily_points`; otherwise it records the request as pending, with no balance
change, until a programme lead other than the requester approves it
(`points_adjustment_approve`, which posts it then) or rejects it. Sizes count both ways: taking
points away is as much a change to the member's account as giving them.

The daily allowance is counted on a `StaffAdjustmentDay` row with one conditional UPDATE
(`points <= allowance - size`), in the transaction that posts the adjustment: two requests in
parallel cannot together pass it (PostgreSQL re-checks the condition after waiting for the
other's row lock), and a refusal further on (e.g. not enough points) rolls the claim back. Lock
order: the allowance row, then the member (as `points_adjust` takes it); an approval locks the
adjustment row, then the member."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed
from members.errors import AdjustmentDecided, ApproverNotAllowed, LedgerReferenceReused
from members.models import Member, PointsAdjustment, StaffAdjustmentDay
from members.selectors import programme_settings_get
from members.services.ledger import points_adjust

APPROVE_PERMISSION = "members.approve_pointsadjustment"


def _clean(points: object, reason: object) -> tuple[int, str]:
    reason = " ".join(str(reason or "").split())
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Give a reason for the adjustment.")]
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        errors["points"] = [_("Enter a whole number of points other than zero.")]
    if errors:
        raise ValidationFailed(errors=errors)
    return points, reason[:500]


def _allowance_claim(*, user, points: int, allowance: int) -> bool:
    """Count `points` against `user`'s allowance of the local day; False (nothing counted) when
    they do not fit."""
    day = timezone.localdate()
    StaffAdjustmentDay.objects.get_or_create(user=user, day=day)
    return bool(
        StaffAdjustmentDay.objects.filter(user=user, day=day, points__lte=allowance - points).update(
            points=F("points") + points
        )
    )


def _replayed(reference: str, *, member: Member, points: int) -> PointsAdjustment | None:
    existing = PointsAdjustment.objects.filter(reference=reference).first()
    if existing is None:
        return None
    if existing.member_id != member.pk or existing.points != points:
        raise LedgerReferenceReused(
            _("The reference %(reference)s was already used for another posting.") % {"reference": reference}
        )
    return existing


def points_adjustment_request(
    *, member: Member, points: int, reason: str, requested_by, reference: str | None = None
) -> PointsAdjustment:
    """Ask for a manual adjustment: applied at once within the limits (status "applied", with its
    ledger entry), else recorded as pending. The same `reference` again returns the first
    request. Refusals (no reason, zero points, more points taken than the member has) write
    nothing, not even to the allowance."""
    points, reason = _clean(points, reason)
    reference = reference or f"adjustment:{uuid.uuid4()}"
    if (existing := _replayed(reference, member=member, points=points)) is not None:
        return existing
    programme = programme_settings_get()
    size = abs(points)
    adjustment = PointsAdjustment(
        member=member, points=points, reason=reason, reference=reference, requested_by=requested_by
    )
    adjustment._history_user = requested_by
    adjustment._change_reason = reason
    try:
        with transaction.atomic():
            within = size <= programme.adjustment_max_points and _allowance_claim(
                user=requested_by, points=size, allowance=programme.adjustment_daily_points
            )
            if within:
                adjustment.entry = points_adjust(
                    member=member, points=points, reason=reason, created_by=requested_by, reference=reference
                )
                adjustment.status = PointsAdjustment.Status.APPLIED
            else:
                adjustment.status = PointsAdjustment.Status.PENDING
            adjustment.save(force_insert=True)
    except IntegrityError:
        # The same reference committed meanwhile (a double submit): the first one stands.
        if (existing := _replayed(reference, member=member, points=points)) is not None:
            return existing
        raise
    return adjustment


def _decide(adjustment: PointsAdjustment, user, note: str) -> PointsAdjustment:
    """The adjustment locked, checked to be pending and decidable by `user`."""
    if not (user and user.is_active and user.has_perm(APPROVE_PERMISSION)):
        raise ApproverNotAllowed(_("Only a programme lead may approve or reject an adjustment."))
    locked = PointsAdjustment.objects.select_for_update(no_key=True).select_related("member").get(pk=adjustment.pk)
    if locked.status != PointsAdjustment.Status.PENDING:
        raise AdjustmentDecided()
    if locked.requested_by_id == user.pk:
        raise ApproverNotAllowed(_("An adjustment is approved or rejected by someone other than the person who asked."))
    locked.decided_by = user
    locked.decided_at = timezone.now()
    locked.decision_note = " ".join(str(note or "").split())[:300]
    locked._history_user = user
    return locked


def points_adjustment_approve(*, adjustment: PointsAdjustment, approved_by, note: str = "") -> PointsAdjustment:
    """Post a pending adjustment, on the approval of a programme lead who did not ask for it.
    A refusal (already decided, same person, not a lead, not enough points) writes nothing."""
    with transaction.atomic():
        locked = _decide(adjustment, approved_by, note)
        locked.entry = points_adjust(
            member=locked.member,
            points=locked.points,
            reason=locked.reason,
            created_by=locked.requested_by,
            reference=locked.reference,
            cause_reference=f"approved-by:{approved_by.get_username()}"[:100],
        )
        locked.status = PointsAdjustment.Status.APPROVED
        locked._change_reason = locked.decision_note or _("Approved.")
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "entry"])
    return locked


def points_adjustment_reject(*, adjustment: PointsAdjustment, rejected_by, note: str = "") -> PointsAdjustment:
    """Turn a pending adjustment down: it stays recorded, never posted."""
    with transaction.atomic():
        locked = _decide(adjustment, rejected_by, note)
        locked.status = PointsAdjustment.Status.REJECTED
        locked._change_reason = locked.decision_note or _("Rejected.")
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return locked
