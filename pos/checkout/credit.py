"""Store credit at the till (docs/store-credit.md): paying with it, earning it, refunds.

Paying: `store_credit_to_redeem` (VND) pays after every discount **and after the points**: the
points keep exactly the rules they had (their cap is a share of what is left after the
discounts), and store credit, worth its face value like cash, pays what is left after them.
Asked beyond what is left to pay, the rest is not taken (`store_credit_redeemed` says how much
was); asked beyond the member's balance, the sale is refused (`insufficient-store-credit`,
nothing written). Above the programme's free amount it needs proof that the member is present,
like points.

Earning: each line some rule of `campaigns.credit` matches earns its percent of the money paid
for it: the line's amount after the promotions' line discounts, times the share of the invoice
actually paid in money (invoice-level promotions, the tier's discount, vouchers, points and the
store credit itself lower it pro rata). Rounded down to whole dong once per sale. Only an active
member earns. The quote and the sale run the same code (`pos.checkout.pricing.price`).

Refunds give back the store credit paid pro rata by list price (as points redeemed are), and
take back the credit earned on the refunded lines by their recorded share (as points earned by
line are), never below zero (`members.services.store_credit_reverse`). Shares are cumulative, so
refunds of parts add up exactly to the whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from campaigns.credit.selectors import store_credit_plan
from loyalty_site.core.cart import Cart
from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.money import ZERO, RoundingMode, percent_of, quantize_money, to_decimal
from members.errors import InsufficientStoreCredit, MemberBlocked
from members.models import Member, StoreCreditEntry
from members.services import MemberLock, store_credit_earn, store_credit_reverse, store_credit_spend
from stores.models import Store

CENT = Decimal("0.01")


def credit_earn_reference(sale_reference: str) -> str:
    return f"{sale_reference}:credit-earn"


def credit_redeem_reference(sale_reference: str) -> str:
    return f"{sale_reference}:credit-redeem"


def store_credit_redeemable(*, member: Member | None, asked: Decimal, payable: Decimal) -> Decimal:
    """How much of the `asked` store credit pays when `payable` is left after the discounts and
    points. Refuses a sale without a member, a blocked member, and more than the balance."""
    if not asked:
        return ZERO
    if member is None:
        message = _("Store credit can only be used on a sale with a member.")
        raise ValidationFailed(message, errors={"store_credit_to_redeem": [message]})
    if member.status == Member.Status.BLOCKED:
        raise MemberBlocked(_("Member %(code)s is blocked and cannot spend store credit.") % {"code": member.code})
    balance = member.store_credit_balance
    if asked > balance:
        raise InsufficientStoreCredit(
            _("The member has %(available)s VND of store credit, %(asked)s VND was asked for.")
            % {"available": f"{balance:f}", "asked": f"{asked:f}"},
            extra={"store_credit_balance": str(balance), "store_credit_requested": str(asked)},
        )
    return max(ZERO, min(asked, payable)).quantize(CENT)


@dataclass(frozen=True)
class CreditEarning:
    amount: Decimal = ZERO
    # Per line index: the line's unrounded store credit, kept on the sale line for refunds.
    lines: dict[int, Decimal] = field(default_factory=dict)


NO_CREDIT = CreditEarning()


def store_credit_earning(*, priced_cart: Cart, total: Decimal, store: Store, at) -> CreditEarning:
    """The store credit the sale earns (see the module docstring); no query once the rules are
    cached."""
    plan = store_credit_plan(priced_cart=priced_cart, store=store, at=at)
    if not plan or total <= 0:
        return NO_CREDIT
    priced = sum((priced_cart.line_remaining(line) for line in priced_cart.lines), ZERO)
    if priced <= 0:
        return NO_CREDIT
    lines = {}
    for line in priced_cart.lines:
        earning = plan.get(line.index)
        if earning is None:
            continue
        paid = to_decimal(priced_cart.line_remaining(line)) * total / priced
        lines[line.index] = percent_of(paid, earning.percent).quantize(Decimal("0.000001"))
    amount = quantize_money(sum(lines.values(), ZERO), RoundingMode.FLOOR)
    return CreditEarning(amount=amount, lines=lines) if amount > 0 else NO_CREDIT


def sale_store_credit_spend(*, sale, lock: MemberLock) -> None:
    """Spend the store credit the sale (or online order) recorded as paid, right after its row
    was inserted, under the sale's member lock (no savepoint: the service refuses before it
    writes). Nothing for a sale that used none."""
    if not sale.store_credit_redeemed:
        return
    reference = credit_redeem_reference(sale.reference)
    store_credit_spend(
        member=lock.member,
        amount=sale.store_credit_redeemed,
        reference=reference,
        occurred_at=sale.occurred_at,
        cause_kind="sale",
        cause_reference=sale.reference,
        reason=_("Paid with store credit: receipt %(receipt)s") % {"receipt": sale.receipt_number},
        lock=lock.vouching_new(reference),  # the sale row was just inserted: no retry posted it
    )


def sale_store_credit_earn(*, sale, lock: MemberLock, reason: str) -> None:
    """Credit what the sale recorded as earned (`store_credit_earned`), with the sale or when an
    online order is completed; `lock` vouches for the reference only on the sale's own path."""
    if not sale.store_credit_earned:
        return
    store_credit_earn(
        member=lock.member,
        amount=sale.store_credit_earned,
        reference=credit_earn_reference(sale.reference),
        occurred_at=sale.occurred_at,
        cause_kind="sale",
        cause_reference=sale.reference,
        reason=reason,
        lock=lock,
    )


def order_store_credit_return(*, order, reference: str, reason: str) -> None:
    """A cancelled online order gives back the store credit it paid with."""
    spend = StoreCreditEntry.objects.filter(reference=credit_redeem_reference(order.reference)).first()
    if spend is not None:
        store_credit_reverse(
            entry=spend,
            reference=f"{reference}:credit-redeem",
            cause_kind="sale",
            cause_reference=order.reference,
            reason=reason,
        )


def _share(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    if whole == 0:
        return ZERO
    if part == whole:
        return total
    return quantize_money(total * part / whole)


@dataclass(frozen=True)
class CreditRefund:
    returned: Decimal = ZERO  # store credit paid, given back
    reversed: Decimal = ZERO  # store credit earned, taken back (what the member still had)
    returned_total: Decimal = ZERO  # the sale's cumulative figures after this refund
    reversed_total: Decimal = ZERO


def refund_store_credit(
    *,
    sale,
    sale_lines: list,
    plan: dict[int, int],
    refunded: Decimal,
    is_full: bool,
    reference: str,
    reason: str,
) -> CreditRefund:
    """Give back the refunded share of the store credit paid and take back the refunded lines'
    share of the credit earned (cumulative shares: parts add up to the whole). Runs inside the
    refund's transaction, after the member's row was locked."""
    if not sale.store_credit_redeemed and not sale.store_credit_earned:
        return CreditRefund(returned_total=sale.store_credit_returned, reversed_total=sale.store_credit_reversed)
    returned_total = (
        sale.store_credit_redeemed if is_full else _share(sale.store_credit_redeemed, refunded, sale.subtotal)
    )
    whole = after = ZERO
    for line in sale_lines:
        value = line.store_credit_earned or ZERO
        whole += value
        after += value * (line.refunded_quantity + plan.get(line.pk, 0)) / line.quantity
    reversed_total = sale.store_credit_earned if is_full else _share(sale.store_credit_earned, after, whole)
    entries = {
        e.reference: e
        for e in StoreCreditEntry.objects.filter(
            reference__in=[credit_redeem_reference(sale.reference), credit_earn_reference(sale.reference)]
        )
    }
    returned = taken = ZERO
    to_return = returned_total - sale.store_credit_returned
    spend = entries.get(credit_redeem_reference(sale.reference))
    if spend is not None and to_return > 0:
        returned = store_credit_reverse(
            entry=spend,
            amount=to_return,
            reference=f"{reference}:credit-redeem",
            cause_reference=reference,
            reason=reason,
        ).amount
    to_reverse = reversed_total - sale.store_credit_reversed
    earned = entries.get(credit_earn_reference(sale.reference))
    if earned is not None and to_reverse > 0:
        taken = -store_credit_reverse(
            entry=earned,
            amount=to_reverse,
            reference=f"{reference}:credit-earn",
            cause_reference=reference,
            reason=reason,
        ).amount
    return CreditRefund(returned=returned, reversed=taken, returned_total=returned_total, reversed_total=reversed_total)
