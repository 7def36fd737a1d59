"""The refusals of the members app. Each has a stable `code` (the problem type of the POS API)
and a translated title; services add a specific `detail` and, where a form or an API client
needs it, `errors` per field or `extra` fields."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.errors import ConflictError, DomainError, NotFoundError, UnprocessableError


class MemberNotFound(NotFoundError):
    code = "member-not-found"
    title = _("No member matches.")


class MemberExists(ConflictError):
    """Raised with `extra={"member_id": ...}` naming the member who already has the phone."""

    code = "member-exists"
    title = _("A member with this phone number is already enrolled.")


class MemberBlocked(ConflictError):
    code = "member-blocked"
    title = _("This member is blocked.")


class MemberMerged(ConflictError):
    code = "member-merged"
    title = _("This member record was merged into another one.")


class InsufficientPoints(ConflictError):
    code = "insufficient-points"
    title = _("Not enough points.")


class InsufficientStoreCredit(UnprocessableError):
    """Store credit asked for beyond the member's balance (at the till, or a staff adjustment
    that would take the balance below zero)."""

    code = "insufficient-store-credit"
    title = _("Not enough store credit.")


class MemberInDebt(ConflictError):
    """The member owes points (a refund took back points already spent): nothing may be spent
    or redeemed until new credits have repaid the debt. Build it with `member_in_debt`."""

    code = "member-in-debt"
    title = _("This member owes points from a refund.")


def member_in_debt(member) -> MemberInDebt:
    """The refusal for `member` (whose `points_debt` is above zero), with the debt in `extra`."""
    return MemberInDebt(
        gettext(
            "Member %(code)s owes %(debt)d points from a refund: no points can be spent or rewards redeemed "
            "until purchases have repaid them."
        )
        % {"code": member.code, "debt": member.points_debt},
        extra={"points_debt": member.points_debt},
    )


class LedgerReferenceReused(ConflictError):
    code = "ledger-reference-reused"
    title = _("This ledger reference was already used for a different posting.")


class ReversalNotAllowed(UnprocessableError):
    code = "reversal-not-allowed"
    title = _("This ledger entry cannot be reversed.")


class AdjustmentDecided(ConflictError):
    code = "adjustment-decided"
    title = _("This adjustment was already approved or rejected.")


class ApproverNotAllowed(UnprocessableError):
    code = "approver-not-allowed"
    title = _("This person may not approve or reject this adjustment.")


class MemberProofRequired(DomainError):
    """Points above the programme's free limit were to be spent without a card token or code."""

    code = "member-proof-required"
    status = 403
    title = _("This payment needs proof that the member is present: the card token or a one-time code.")


class MemberProofInvalid(DomainError):
    """The card token or one-time code is wrong, expired or already used."""

    code = "member-proof-invalid"
    status = 403
    title = _("The card token or one-time code is wrong, expired or already used.")


class PresenceCodeThrottled(DomainError):
    """Too many one-time codes for the member lately; `headers["Retry-After"]` says when to try."""

    code = "throttled"
    status = 429
    title = _("Too many one-time codes were sent to this member. Try again later.")
