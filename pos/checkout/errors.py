"""Refusals of the checkout, with the problem codes of pos-api.md."""

from django.utils.translation import gettext_lazy as _

from loyalty_site.core.errors import ConflictError, UnprocessableError


class DuplicateReceipt(ConflictError):
    code = "duplicate-receipt"
    title = _("This receipt number was already recorded at this store.")


class RefundExceedsSale(UnprocessableError):
    code = "refund-exceeds-sale"
    title = _("The refund is more than what is left of the sale.")


class PointsNotApplicable(UnprocessableError):
    """Points asked for on a sale that the member's spendable balance does not cover."""

    code = "insufficient-points"
    title = _("Not enough points.")


class VoucherUnknown(UnprocessableError):
    """A sale or quote naming a voucher code that does not exist: the sale cannot be priced as
    asked, so 422 like every other voucher refusal (the code's own lookup answers 404)."""

    code = "voucher-not-found"
    title = _("No voucher has this code.")
