"""The refusals of the vouchers app, with the problem codes of `pos-api.md`.

Services add a specific `detail` and, for a reward that cannot be had, `extra={"reason": ...}`
naming which rule refused it (a POS may show its own text per reason)."""

from django.utils.translation import gettext_lazy as _

from loyalty_site.core.errors import ConflictError, NotFoundError, UnprocessableError


class RewardUnavailable(UnprocessableError):
    """Unknown or hidden, outside its issuing window, out of stock, over the member's limit, or
    not for this brand."""

    code = "reward-unavailable"
    title = _("This reward is not available.")


class VoucherNotFound(NotFoundError):
    code = "voucher-not-found"
    title = _("No voucher has this code.")


class VoucherNotApplicable(UnprocessableError):
    """Not usable at this store, below the minimum invoice, nothing in the cart it applies to,
    void, or belonging to another member."""

    code = "voucher-not-applicable"
    title = _("This voucher cannot be applied to this invoice.")


class VoucherUsed(UnprocessableError):
    code = "voucher-used"
    title = _("This voucher has already been used.")


class VoucherExpired(UnprocessableError):
    code = "voucher-expired"
    title = _("This voucher has expired.")


class VoucherNotVoidable(ConflictError):
    code = "voucher-not-voidable"
    title = _("Only a voucher that has not been used, voided or expired can be voided.")


class VoucherReferenceReused(ConflictError):
    code = "voucher-reference-reused"
    title = _("This reference was already used to issue another voucher.")
