"""Online orders (pos-api.md 1.2): a sale recorded as pending, then completed or cancelled.

    order_create(*, terminal, data: SaleInput) -> SaleResult      (one transaction)
    order_complete(*, terminal, order_id) -> Sale                  (one transaction)
    order_cancel(*, terminal, order_id) -> Sale                    (one transaction)

An order is a `Sale` row with `order_status` set, written by the same `sale_record` as a till's
sale (`pending_order=True`), so it is priced, limited, proved and checked exactly like one and
the quote agrees with it. What differs is what it moves, and when:
- **created (pending)**: the vouchers and codes it names are used (`used_sale_reference` is the
  sale's reference) and the points it pays with are spent from the ledger: held, so neither can
  serve another sale meanwhile, and the balance can never go below zero whatever runs at once.
  Nothing is earned: the points it will earn are only its row's `points_earned`, shown as
  `points_pending` and outside the ledger, so the ledger's invariants (balance = sum of entries,
  append-only, never negative) hold without a new kind of entry. The terminal's daily points cap
  is taken now (what the shop promised), and is not given back by a cancellation.
- **completed**: what a sale earns, from the row's recorded figures (`member_earnings_record`:
  qualifying spend, points, stamps, the referrer's reward) at the order's `occurred_at`; from
  then on it is a sale like any other (the reports count it, `/sales/{id}/refunds` refunds it).
- **cancelled**: the points paid come back (a reversal of the spend, into the lots they came
  from), the vouchers and codes are given back (a voucher that has expired meanwhile is not, as
  for a refund), promotion uses stop counting; nothing is earned.

Until it is completed an order is not a sale: `Sale.objects` does not see it (reports, the
member's history, `/sales/{id}`), only `Sale.all_objects` does.

Lock order, as a sale's: the member's row (or its survivor's), the member's tier status row,
then the order's row. Complete and cancel of one order therefore run one after the other, and
the second finds the order's new state: `order-state` (409) when it is the other end of the life
cycle, the same answer again when it is the same one (a retry with a new key changes nothing)."""

from __future__ import annotations

import contextlib

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.promotions.services import promotion_applications_reverse
from loyalty_site.core.errors import NotFoundError
from loyalty_site.core.events import EventKind, events_collected, record_event
from loyalty_site.core.transactions import service_transaction, writes
from members.models import LedgerEntry, Member
from members.services import points_reverse
from pos.checkout.credit import order_store_credit_return
from pos.checkout.errors import OrderStateConflict, terminal_kind_check
from pos.checkout.pricing import SaleInput
from pos.checkout.sales import (
    SaleResult,
    _member_locked,
    member_earnings_record,
    redeem_reference,
    sale_event_payload,
    sale_record,
)
from pos.models import Sale
from stores.models import Terminal
from tiers.services import tier_status_lock
from vouchers.models import Voucher
from vouchers.services import batch_codes_return, shared_code_uses_return, voucher_return

OrderStatus = Sale.OrderStatus


def order_create(*, terminal: Terminal, data: SaleInput) -> SaleResult:
    """Record a pending online order (see the module docstring); a till's key: 403."""
    return sale_record(terminal=terminal, data=data, pending_order=True)


def _order_head(*, terminal: Terminal, order_id: int) -> Sale:
    """The order, unlocked, if it is one of this online store's: another store's order is as
    unknown as a missing one (an online shop deals with its own orders only)."""
    terminal_kind_check(terminal=terminal, order=True)
    order = (
        Sale.all_objects.filter(pk=order_id, store_id=terminal.store_id)
        .exclude(order_status=OrderStatus.NONE)
        .only("pk", "member_id")
        .first()
    )
    if order is None:
        raise NotFoundError(_("No online order with id %(id)s at this store.") % {"id": order_id})
    return order


def order_get(*, terminal: Terminal, order_id: int) -> Sale:
    """An online order of this online store, whatever its status."""
    head = _order_head(terminal=terminal, order_id=order_id)
    return Sale.all_objects.select_related("member").prefetch_related("discounts").get(pk=head.pk)


def _closed(order: Sale) -> Sale:
    """The order as the caller shows it: its member's balance read after the transaction's writes."""
    if order.member_id is not None:
        order.member.refresh_from_db(fields=["points_balance", "points_debt"])
    return order


def _locked_order(order_id: int) -> Sale:
    return (
        Sale.all_objects.select_for_update(no_key=True, of=("self",)).select_related("store", "member").get(pk=order_id)
    )


def _refuse_state(order: Sale, *, wanted: str) -> None:
    if order.order_status == OrderStatus.COMPLETED:
        message = _("Order %(id)s is completed: it can no longer be cancelled (refund it instead).")
    else:
        message = _("Order %(id)s is cancelled: it can no longer be completed.")
    raise OrderStateConflict(message % {"id": order.pk}, extra={"order_status": order.order_status, "wanted": wanted})


def order_complete(*, terminal: Terminal, order_id: int) -> Sale:
    """Complete a pending order: it earns what a sale earns, at its `occurred_at`. Completing a
    completed order again changes nothing; a cancelled one: `order-state`."""
    head = _order_head(terminal=terminal, order_id=order_id)
    now = timezone.now()
    with service_transaction(), contextlib.ExitStack() as held:
        locked = tier_lock = None
        if head.member_id is not None:
            locked = _member_locked(held, head.member_id)
            tier_lock = held.enter_context(tier_status_lock(member=locked.member))
        order = _locked_order(order_id)
        if order.order_status == OrderStatus.COMPLETED:
            return _closed(order)
        if order.order_status != OrderStatus.PENDING:
            _refuse_state(order, wanted=OrderStatus.COMPLETED)
        fields = ["order_status", "order_closed_at"]
        with writes(), events_collected():
            if locked is not None and locked.member.status == Member.Status.ACTIVE:
                # member_earnings_record saves the tier and referral fields it changes itself.
                member_earnings_record(order, locked=locked, tier_lock=tier_lock, notify=True)
            elif order.points_earned or order.store_credit_earned:
                # As for a sale: a member blocked (or gone) since the order earns nothing.
                order.points_earned = 0
                order.store_credit_earned = 0
                fields += ["points_earned", "store_credit_earned"]
            order.order_status = OrderStatus.COMPLETED
            order.order_closed_at = now
            order.save(update_fields=fields)
            _order_event(EventKind.ORDER_COMPLETED, order, at=now)
    return _closed(order)


def order_cancel(*, terminal: Terminal, order_id: int, reason: str = "") -> Sale:
    """Cancel a pending order: the points it paid with and the vouchers it used come back,
    nothing is earned. Cancelling a cancelled order again changes nothing; a completed one:
    `order-state` (a completed order is refunded like a sale)."""
    head = _order_head(terminal=terminal, order_id=order_id)
    now = timezone.now()
    why = reason or _("Online order %(id)s cancelled") % {"id": order_id}
    with service_transaction(), contextlib.ExitStack() as held:
        if head.member_id is not None:
            _member_locked(held, head.member_id)
        order = _locked_order(order_id)
        if order.order_status == OrderStatus.CANCELLED:
            return _closed(order)
        if order.order_status != OrderStatus.PENDING:
            _refuse_state(order, wanted=OrderStatus.CANCELLED)
        with writes(), events_collected():
            reference = f"{order.reference}:cancel"
            spend = LedgerEntry.objects.filter(reference=redeem_reference(order)).first()
            if spend is not None:
                points_reverse(
                    entry=spend,
                    reference=f"{reference}:redeem",
                    cause_kind="sale",
                    cause_reference=order.reference,
                    reason=why,
                )
            order_store_credit_return(order=order, reference=reference, reason=why)
            for voucher in Voucher.objects.filter(used_sale_reference=order.reference).order_by("pk"):
                voucher_return(voucher=voucher, reason=why, sale_reference=order.reference, at=now)
            shared_code_uses_return(sale_reference=order.reference, at=now)
            batch_codes_return(sale_reference=order.reference)
            promotion_applications_reverse(sale_reference=order.reference, at=now, reference=reference)
            order.order_status = OrderStatus.CANCELLED
            order.order_closed_at = now
            order.save(update_fields=["order_status", "order_closed_at"])
            _order_event(EventKind.ORDER_CANCELLED, order, at=now)
    return _closed(order)


def _order_event(kind: str, order: Sale, *, at) -> None:
    """`order.completed` or `order.cancelled` (docs/webhooks.md), with the sale's figures."""
    record_event(
        kind=kind,
        subject_type="sale",
        subject_id=order.pk,
        member_id=order.member_id,
        payload=sale_event_payload(order),
        occurred_at=at,
    )


def member_points_pending(*, member_id: int) -> int:
    """The points the member's pending online orders will earn when completed: not in the
    balance, not spendable."""
    total = Sale.all_objects.filter(member_id=member_id, order_status=OrderStatus.PENDING).aggregate(
        points=Sum("points_earned")
    )["points"]
    return total or 0
