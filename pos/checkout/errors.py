"""Refusals of the checkout, with the problem codes of pos-api.md."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.errors import ConflictError, DomainError, UnprocessableError


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


class OrderStateConflict(ConflictError):
    """Completing a cancelled online order, or cancelling a completed one (pos-api.md 1.2)."""

    code = "order-state"
    title = _("The order is not in a state that allows this.")


class TerminalKindRefused(DomainError):
    """An online shop's key recording a till's sale, or a till's key recording an online order."""

    code = "permission-denied"
    status = 403
    title = _("You do not have permission to do this.")


def terminal_kind_check(*, terminal, order: bool) -> None:
    """Only an online terminal records orders, and it records nothing else: an online shop's
    sale would earn its points at once, before the shop knows the order will be paid and kept,
    which is what the pending state is for (quotes, refunds and redemptions stay open to it)."""
    if order and not terminal.is_online:
        raise TerminalKindRefused(
            gettext("Only an online shop's terminal records online orders; a till records sales.")
        )
    if not order and terminal.is_online:
        raise TerminalKindRefused(gettext("An online shop's terminal records online orders (POST /orders), not sales."))
