"""Refunds: whole or some lines, each one recorded, and every figure exact over several refunds.

Shares are cumulative: after each refund, what the sale has given back in total is the sale's
figure times (refunded list price / subtotal), rounded; this refund gives back the difference
from what earlier refunds gave. So refunds of parts add up exactly to the whole, and a full
refund reverses exactly what the sale earned (pos-api.md): points earned, points redeemed,
money paid, qualifying spend and the referrer's points. Vouchers used on the sale come back
only when the refund completes the sale, and only if they have not expired.

Claw-back (risk.md "Refunds"): the points earned on the refunded share are taken back even when
the member has spent them. The redeemed points the refund gives back come first; then, before
the balance may go below zero, the member's unused vouchers bought with points are voided, the
most recent first and only as many as needed, and their points given back
(`vouchers_void_to_cover`); only what is still missing becomes debt (`Member.points_debt`),
which blocks spending and redeeming (409 `member-in-debt`) until new credits repay it.

Lock order: the member first, as for a sale (so everything of one member is serialised there),
then the sale row, the vouchers (the ones given back, then the ones voided; the ledger locks the
member again, a no-op in this transaction) and the member's tier status row. The reward rows are
never locked here (redeeming locks the reward, then the member: the opposite order)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.promotions.services import promotion_applications_reverse
from campaigns.referral.services import referral_reward_reverse
from campaigns.stamps.services import stamps_reverse
from loyalty_site.core.errors import NotFoundError
from loyalty_site.core.events import EventKind, events_collected, record_event
from loyalty_site.core.money import ZERO, quantize_money, share_of
from members.models import LedgerEntry, Member
from members.services import members_lock, points_reverse
from pos.checkout.credit import refund_store_credit
from pos.checkout.errors import RefundExceedsSale
from pos.checkout.sales import earn_reference, redeem_reference, sale_event_payload
from pos.models import Refund, RefundLine, Sale, SaleLine
from stores.models import Terminal
from tiers.services import tier_spend_reverse
from vouchers.models import Voucher
from vouchers.services import batch_codes_return, shared_code_uses_return, voucher_return, vouchers_void_to_cover


def _money_share(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    if whole == 0:
        return ZERO
    if part == whole:
        return total
    return quantize_money(total * part / whole)


def _plan(sale_lines: list[SaleLine], lines: list[dict] | None) -> dict[int, int]:
    """Quantity to refund per sale line id; RefundExceedsSale when more than is left."""
    left = {line.pk: line.quantity - line.refunded_quantity for line in sale_lines}
    if lines is None:
        plan = {pk: qty for pk, qty in left.items() if qty > 0}
        if not plan:
            raise RefundExceedsSale(_("Everything on this sale has already been refunded."))
        return plan
    wanted: dict[str, int] = defaultdict(int)
    for line in lines:
        wanted[line["sku"].strip()] += int(line["quantity"])
    plan: dict[int, int] = {}
    errors: dict[str, list[str]] = {}
    for sku, quantity in wanted.items():
        candidates = [line for line in sale_lines if line.sku == sku]
        available = sum(left[line.pk] for line in candidates)
        if quantity > available:
            errors[sku] = [
                _("%(asked)d of %(sku)s asked back, %(left)d left to refund.")
                % {"asked": quantity, "sku": sku, "left": available}
            ]
            continue
        for line in candidates:  # same SKU on several lines: the first lines first
            take = min(quantity, left[line.pk])
            if take:
                plan[line.pk] = plan.get(line.pk, 0) + take
                quantity -= take
    if errors:
        raise RefundExceedsSale(_("The refund is more than what is left of the sale."), errors=errors)
    return plan


def _earned_by_lines(
    sale_lines: list[SaleLine], plan: dict[int, int], *, full: bool
) -> tuple[tuple[Decimal, Decimal, Decimal], tuple[Decimal, Decimal, Decimal]] | None:
    """When earn rules touched the sale (its lines keep what each earned): the refunded share of
    the unrounded points and of the earn base, each as (before this refund, after it, whole).
    None for a sale priced without earn rules (shared by list price, as before)."""
    if not sale_lines or any(line.earn_points is None for line in sale_lines):
        return None

    def shares(attr: str) -> tuple[Decimal, Decimal, Decimal]:
        before = after = whole = ZERO
        for line in sale_lines:
            value = getattr(line, attr) or ZERO
            whole += value
            before += value * line.refunded_quantity / line.quantity
            after += value * (line.refunded_quantity + plan.get(line.pk, 0)) / line.quantity
        return before, whole if full else after, whole

    return shares("earn_points"), shares("earn_base")


def _void_before_debt(earn_entry: LedgerEntry, points: int, *, sale: Sale, reference: str) -> list[str]:
    """Void the member's unused vouchers bought with points, as few as needed, so that taking
    back `points` leaves no debt (risk.md "Refunds"); returns their codes. The entry's member is
    the one whose lots the claw-back takes (after a merge, the survivor: `points_reverse` locks
    it the same way)."""
    voided = vouchers_void_to_cover(
        member=Member(pk=earn_entry.member_id),
        points=points,
        reason=_("Voided to cover the points taken back by the refund of receipt %(receipt)s.")
        % {"receipt": sale.receipt_number},
        cause_reference=reference,
    )
    return [voucher.code for voucher in voided]


def sale_refund(
    *, terminal: Terminal, sale_id: int, lines: list[dict] | None, reason: str = ""
) -> tuple[Refund, int | None]:
    now = timezone.now()
    with transaction.atomic(), events_collected():
        head = Sale.objects.filter(pk=sale_id, store__brand_id=terminal.store.brand_id).values("member_id").first()
        if head is None:
            raise NotFoundError(_("No sale with id %(id)s at this brand.") % {"id": sale_id})
        member = members_lock(member_ids=[head["member_id"]])[head["member_id"]] if head["member_id"] else None
        sale = Sale.objects.select_for_update(no_key=True).get(pk=sale_id)
        sale_lines = list(sale.lines.order_by("index"))
        plan = _plan(sale_lines, lines)

        by_id = {line.pk: line for line in sale_lines}
        amount = sum((by_id[pk].unit_price * qty for pk, qty in plan.items()), ZERO)
        refunded = sale.refunded_amount + amount
        is_full = all(line.quantity - line.refunded_quantity == plan.get(line.pk, 0) for line in sale_lines)
        if is_full:
            refunded = sale.subtotal  # exact, whatever the prices

        paid_total = _money_share(sale.total, refunded, sale.subtotal)
        paid = paid_total - sale.refunded_paid
        earned_total = share_of(sale.points_earned, refunded, sale.subtotal)
        redeemed_total = share_of(sale.points_redeemed, refunded, sale.subtotal)
        if sale.subtotal == 0 and is_full:  # a free sale: nothing to share, give everything back
            earned_total, redeemed_total = sale.points_earned, sale.points_redeemed
        # Qualifying spend and the referrer's share follow the money paid, or, when earn rules
        # touched the sale, what the refunded lines earned (an excluded line earned nothing).
        spend, referral_share = paid, (refunded, sale.refunded_amount, sale.subtotal)
        by_rules = _earned_by_lines(sale_lines, plan, full=is_full)
        if by_rules is not None:
            points_shares, base_shares = by_rules
            earned_total = sale.points_earned if is_full else share_of(sale.points_earned, *points_shares[1:])
            spend = _money_share(sale.earn_base, *base_shares[1:]) - _money_share(
                sale.earn_base, base_shares[0], base_shares[2]
            )
            referral_share = base_shares[1], base_shares[0], base_shares[2]
        to_reverse = earned_total - sale.points_reversed
        to_return = redeemed_total - sale.points_returned

        refund = Refund.objects.create(
            sale=sale,
            terminal=terminal,
            reason=reason,
            is_full=is_full,
            amount=amount,
            paid_amount=paid,
        )
        RefundLine.objects.bulk_create(
            RefundLine(refund=refund, sale_line_id=pk, quantity=qty, amount=by_id[pk].unit_price * qty)
            for pk, qty in plan.items()
        )
        for pk, qty in plan.items():
            SaleLine.objects.filter(pk=pk).update(refunded_quantity=F("refunded_quantity") + qty)

        reference = f"refund:{refund.pk}"
        reversed_points = returned_points = 0
        voided_codes: list[str] = []
        if member is not None:
            why = reason or _("Refund of receipt %(receipt)s") % {"receipt": sale.receipt_number}
            entries = {
                e.reference: e
                for e in LedgerEntry.objects.filter(reference__in=[earn_reference(sale), redeem_reference(sale)])
            }
            # The redeemed points come back first: they cover the claw-back before any voucher.
            spend_entry = entries.get(redeem_reference(sale))
            if spend_entry is not None and to_return > 0:
                restore = points_reverse(
                    entry=spend_entry,
                    points=to_return,
                    reference=f"{reference}:redeem",
                    cause_kind="refund",
                    cause_reference=reference,
                    reason=why,
                )
                returned_points = restore.points
            earn_entry = entries.get(earn_reference(sale))
            if earn_entry is not None and to_reverse > 0:
                voided_codes = _void_before_debt(earn_entry, to_reverse, sale=sale, reference=reference)
                reversal = points_reverse(
                    entry=earn_entry,
                    points=to_reverse,
                    reference=f"{reference}:earn",
                    cause_kind="refund",
                    cause_reference=reference,
                    reason=why,
                )
                reversed_points = -reversal.points
            if sale.referrer_points:
                after, before, whole = referral_share
                referral_total = share_of(sale.referrer_points, after, whole)
                referral_before = share_of(sale.referrer_points, before, whole)
                if referral_total > referral_before:
                    referral_reward_reverse(
                        sale_reference=sale.reference,
                        reference=f"{reference}:referral",
                        points=referral_total - referral_before,
                    )
            credit = refund_store_credit(
                sale=sale,
                sale_lines=sale_lines,
                plan=plan,
                refunded=refunded,
                is_full=is_full,
                reference=reference,
                reason=why,
            )
            refund.store_credit_returned, refund.store_credit_reversed = credit.returned, credit.reversed
            sale.store_credit_returned, sale.store_credit_reversed = credit.returned_total, credit.reversed_total
            if member.status != Member.Status.MERGED and (spend > 0 or is_full):
                tier_spend_reverse(
                    member=member,
                    amount=spend,
                    reference=reference,
                    original_reference=sale.reference,
                    full=is_full,
                    points=to_reverse,
                )

        returned_codes: list[str] = []
        if is_full:
            for voucher in Voucher.objects.filter(used_sale_reference=sale.reference).order_by("pk"):
                if voucher_return(
                    voucher=voucher, reason=reason or _("Sale refunded"), sale_reference=sale.reference, at=now
                ):
                    returned_codes.append(voucher.code)
            returned_codes += shared_code_uses_return(sale_reference=sale.reference, at=now)  # CHAOBAN and co.
            returned_codes += batch_codes_return(sale_reference=sale.reference)  # printed codes
            promotion_applications_reverse(sale_reference=sale.reference, at=now, reference=reference)
            stamps_reverse(sale_reference=sale.reference, reason=reason or _("Sale refunded"))

        refund.points_reversed = reversed_points
        refund.points_returned = returned_points
        refund.vouchers_returned = returned_codes
        refund.vouchers_voided = voided_codes
        refund.save(
            update_fields=[
                "points_reversed",
                "points_returned",
                "vouchers_returned",
                "vouchers_voided",
                "store_credit_returned",
                "store_credit_reversed",
            ]
        )
        sale.refunded_amount = refunded
        sale.refunded_paid = paid_total
        sale.points_reversed = earned_total
        sale.points_returned = redeemed_total
        sale.status = Sale.Status.REFUNDED if is_full else Sale.Status.PARTLY_REFUNDED
        sale.save(
            update_fields=[
                "refunded_amount",
                "refunded_paid",
                "points_reversed",
                "points_returned",
                "status",
                "store_credit_returned",
                "store_credit_reversed",
            ]
        )
        record_event(
            kind=EventKind.SALE_REFUNDED,
            subject_type="refund",
            subject_id=refund.pk,
            member_id=sale.member_id,
            payload={
                "refund_id": refund.pk,
                "is_full": is_full,
                "amount": amount,
                "paid_amount": paid,
                "points_reversed": reversed_points,
                "points_returned": returned_points,
                "sale": sale_event_payload(sale),
            },
            occurred_at=refund.created_at,
        )
    balance = Member.objects.filter(pk=member.pk).values_list("points_balance", flat=True).first() if member else None
    return refund, balance
