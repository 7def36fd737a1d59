"""Recording a sale: everything in one transaction, locks always taken in the same order.

Lock order: (1) the member's row (the ledger's lock, `select_for_update(no_key=True)`), which
also serialises per-member limits and the tier counters; (2) the member's tier status row, read
under the lock so the sale is priced at the tier it then counts against; (3) the new sale row
(unique on store and receipt number); (4) the vouchers, each by a conditional UPDATE, in
primary-key order; (5) the referrer's row (referrals form a tree by enrolment date, so two
sales can never wait on each other in a cycle); (6) the terminal's day counter, last (a sale
holding it waits on nothing more, so the terminal's other sales only queue behind it:
`pos.checkout.limits`). Every other path that takes a tier status row (refunds, staff changes)
takes the member's row first, so (2) before (3) cannot deadlock. The member's points message
is queued after commit (`pos.tasks.notify_sale_points`).

Like the services it calls, the checkout refuses before it writes (unknown member, duplicate
receipt, every pricing refusal, the per-sale plausibility limits) and then writes inside
`writes()`: it opens no savepoint of its own, and neither do the ledger and tiers services it
calls (`loyalty_site.core.transactions`).
Locks (1) and (2) are taken with `member_lock` and `tier_status_lock`, whose handles
(`MemberLock`, `StatusLock`) are passed to those services as `lock=`: they neither lock nor read
the rows again. Once the sale is inserted, the handles vouch for the references that name it
(`vouching_new`), so the services skip their look-up for a retry. A refusal that can only be
found after the first write (a voucher used, or the receipt recorded, by another till a moment
earlier) rolls back the whole transaction; the API's idempotency layer then stores the refusal.

The number of queries does not depend on the number of lines: lines and discounts are written
with one bulk insert each, and pricing reads per promotion rule and per voucher, not per line."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.promotions.services import promotion_applications_record
from campaigns.referral.services import referral_reward
from campaigns.stamps.services import stamps_record
from loyalty_site.core.dispatch import task_enqueue_after_commit
from loyalty_site.core.errors import NotFoundError
from loyalty_site.core.events import EventKind, events_collected, record_event
from loyalty_site.core.transactions import service_transaction, writes
from members.models import LedgerEntry, Member
from members.selectors import member_get
from members.services import (
    MemberLock,
    PresenceCheck,
    member_lock,
    points_earn,
    points_spend,
    presence_proof_check,
    presence_proof_consume,
)
from pos.checkout.credit import (
    credit_earn_reference,
    credit_redeem_reference,
    sale_store_credit_earn,
    sale_store_credit_spend,
)
from pos.checkout.errors import DuplicateReceipt, terminal_kind_check
from pos.checkout.limits import sale_limits_check, terminal_points_take
from pos.checkout.notify import sale_points_notify
from pos.checkout.pricing import Quote, SaleInput, cart_from_lines, price
from pos.models import Sale, SaleDiscount, SaleLine
from pos.tasks import notify_sale_points
from stores.models import Terminal
from tiers.models import Tier
from tiers.services import StatusLock, tier_spend_record, tier_status_lock
from vouchers.services import batch_code_use, shared_code_use, voucher_use


@dataclass
class SaleResult:
    sale: Sale
    quote: Quote
    points_balance: int | None
    tier_after_code: str
    tier_after_name: str
    store_credit_balance: Decimal | None = None


def earn_reference(sale: Sale) -> str:
    return f"{sale.reference}:earn"


def redeem_reference(sale: Sale) -> str:
    return f"{sale.reference}:redeem"


def _duplicate(store, receipt_number: str) -> DuplicateReceipt:
    return DuplicateReceipt(
        _("Receipt %(receipt)s was already recorded at store %(store)s.")
        % {"receipt": receipt_number, "store": store.code},
        extra={"receipt_number": receipt_number},
    )


def _member_locked(held: contextlib.ExitStack, member_id: int) -> MemberLock:
    """Lock the member's row (or, for a merged record, its survivor's) until `held` closes."""
    lock = held.enter_context(member_lock(member_id=member_id))
    if lock.member.merged_into_id is not None:
        survivor = member_get(member_id=member_id)
        lock = held.enter_context(member_lock(member_id=survivor.pk))
    return lock


def sale_record(*, terminal: Terminal, data: SaleInput, notify: bool = True, pending_order: bool = False) -> SaleResult:
    """Record the sale (see the module docstring). `notify=False` records history without
    messaging the member (the demo's back-dated sales). `pending_order=True` records an online
    order (`pos.checkout.orders`): priced, checked and held alike (vouchers used, points paid,
    the terminal's day counter taken), but nothing earned until it is completed."""
    terminal_kind_check(terminal=terminal, order=pending_order)
    store = terminal.store
    now = timezone.now()
    at = data.occurred_at or now
    with service_transaction(), contextlib.ExitStack() as held:
        member, locked, tier_lock = None, None, None
        if data.member_id:
            locked = _member_locked(held, data.member_id)
            member = locked.member
        if Sale.all_objects.filter(store=store, receipt_number=data.receipt_number).exists():
            raise _duplicate(store, data.receipt_number)
        if member is not None:
            tier_lock = held.enter_context(tier_status_lock(member=member))

        quote = price(
            store=store,
            member=member,
            cart=cart_from_lines(data.lines),
            voucher_codes=data.voucher_codes,
            points_to_redeem=data.points_to_redeem,
            at=at,
            tier=tier_lock.status.tier if tier_lock is not None and tier_lock.status is not None else None,
            store_credit_to_redeem=data.store_credit_to_redeem,
        )
        limits = sale_limits_check(terminal=terminal, quote=quote, receipt_number=data.receipt_number)
        sale = Sale(
            store=store,
            terminal=terminal,
            member=member,
            receipt_number=data.receipt_number,
            occurred_at=at,
            subtotal=quote.subtotal,
            discount_total=quote.discount_total,
            points_amount=quote.points_amount,
            total=quote.total,
            earn_base=quote.earn_base,
            points_redeemed=quote.points_redeemed,
            points_earned=quote.points_to_earn,
            multiplier=quote.multiplier,
            tier_code=quote.tier_code,
            tier_after_code=quote.tier_code,
            store_credit_redeemed=quote.store_credit_redeemed,
            store_credit_earned=quote.store_credit_to_earn,
            order_status=Sale.OrderStatus.PENDING if pending_order else Sale.OrderStatus.NONE,
        )
        proof = _presence_checked(quote, data, now)
        # Every event of the sale (points, vouchers, tier, the sale itself) in one INSERT at the end.
        with writes(), events_collected():
            _insert(sale, quote)
            if proof is not None:
                presence_proof_consume(check=proof, cause_reference=sale.reference)
            for check in sorted((c for c in quote.vouchers if c.voucher is not None), key=lambda c: c.voucher.pk):
                voucher_use(voucher=check.voucher, store=store, sale_reference=sale.reference, at=at)
            for check in (c for c in quote.vouchers if c.shared_code is not None):  # CHAOBAN (issue 16)
                shared_code_use(
                    shared_code=check.shared_code,
                    member=member,
                    store=store,
                    sale_reference=sale.reference,
                    at=at,
                    discount=check.discount,
                )
            for check in (c for c in quote.vouchers if c.batch_code is not None):  # printed codes (issue 16)
                batch_code_use(code=check.batch_code, member=member, store=store, sale_reference=sale.reference, at=at)
            tier_after = quote.tier
            earns = member is not None and member.status == Member.Status.ACTIVE
            if earns and pending_order:
                # Held, not earned: the points paid leave the balance now (cancelling gives them back).
                _points_paid(sale, locked=locked.vouching_new(redeem_reference(sale)))
            elif earns:
                tier_after = _member_effects(sale, locked=locked, tier_lock=tier_lock, notify=notify)
            if quote.promotions.applied:
                promotion_applications_record(
                    promotions=quote.promotions.applied,
                    member=member,
                    sale_reference=sale.reference,
                    at=at,
                    store=store,
                )
            if earns:
                # Last, after every other lock: the terminal's day counter (see pos.checkout.limits).
                terminal_points_take(terminal=terminal, quote=quote, receipt_number=data.receipt_number, limits=limits)
            record_event(
                kind=EventKind.ORDER_PLACED if pending_order else EventKind.SALE_RECORDED,
                subject_type="sale",
                subject_id=sale.pk,
                member_id=member.pk if member is not None else None,
                payload=sale_event_payload(sale, tier_after=tier_after),
                occurred_at=at,
            )
    return SaleResult(
        sale=sale,
        quote=quote,
        points_balance=member.points_balance if member is not None else None,
        store_credit_balance=member.store_credit_balance if member is not None else None,
        tier_after_code=tier_after.code if tier_after else "",
        tier_after_name=tier_after.display_name if tier_after else "",
    )


def sale_event_payload(sale: Sale, *, tier_after: Tier | None = None) -> dict:
    """What `sale.recorded` and `sale.refunded` say about the sale (docs/webhooks.md)."""
    return {
        "sale_id": sale.pk,
        "reference": sale.reference,
        "store_id": sale.store_id,
        "terminal_id": sale.terminal_id,
        "member_id": sale.member_id,
        "receipt_number": sale.receipt_number,
        "occurred_at": sale.occurred_at,
        "subtotal": sale.subtotal,
        "discount_total": sale.discount_total,
        "points_amount": sale.points_amount,
        "total": sale.total,
        "points_earned": sale.points_earned,
        "points_redeemed": sale.points_redeemed,
        "tier_after": tier_after.code if tier_after is not None else sale.tier_after_code,
        "order_status": sale.order_status,
    }


def _presence_checked(quote: Quote, data: SaleInput, now) -> PresenceCheck | None:
    """The proof that the member is present, when the points paid need it (pos-api.md 1.1):
    checked under the member's lock before any write, consumed with the sale's writes."""
    if not quote.member_proof_required:
        return None
    return presence_proof_check(
        member=quote.member,
        points=quote.points_redeemed,
        proof=data.proof,
        at=now,
        store_credit=quote.store_credit_redeemed,
    )


def _insert(sale: Sale, quote: Quote) -> None:
    """The sale, its lines and its discounts: three inserts whatever the number of lines."""
    try:
        sale.save(force_insert=True)
    except IntegrityError:
        # Another terminal recorded the same receipt between our check and our insert (the
        # transaction is rolled back: see `writes`).
        raise _duplicate(sale.store, sale.receipt_number) from None
    SaleLine.objects.bulk_create(
        SaleLine(
            sale=sale,
            index=line.index,
            sku=line.sku,
            name=line.name,
            category=line.category,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            earn_base=earned.earn_base if earned else None,
            earn_points=earned.points if earned else None,
            store_credit_earned=quote.line_store_credit.get(line.index),
        )
        for line in quote.cart.lines
        for earned in [quote.line_earnings.get(line.index)]
    )
    SaleDiscount.objects.bulk_create(
        SaleDiscount(
            sale=sale,
            position=position,
            source=d.source,
            code=d.code,
            description=d.description[:300],
            amount=d.amount,
            line_index=d.line_index,
        )
        for position, d in enumerate(quote.discounts)
    )


def _member_effects(sale: Sale, *, locked: MemberLock, tier_lock: StatusLock, notify: bool) -> Tier:
    """Points paid and earned, qualifying spend and the referrer's reward of an active member's
    sale; returns the tier after it."""
    # The sale row was just inserted in this transaction: no retry can have posted these.
    locked = locked.vouching_new(
        redeem_reference(sale),
        earn_reference(sale),
        credit_redeem_reference(sale.reference),
        credit_earn_reference(sale.reference),
    )
    tier_lock = tier_lock.vouching_new(sale.reference)
    _points_paid(sale, locked=locked)
    return member_earnings_record(sale, locked=locked, tier_lock=tier_lock, notify=notify)


def _points_paid(sale: Sale, *, locked: MemberLock) -> None:
    if sale.points_redeemed:
        points_spend(
            member=locked.member,
            points=sale.points_redeemed,
            reference=redeem_reference(sale),
            occurred_at=sale.occurred_at,
            cause_kind="sale",
            cause_reference=sale.reference,
            reason=_("Paid with points: receipt %(receipt)s") % {"receipt": sale.receipt_number},
            lock=locked,
        )
    sale_store_credit_spend(sale=sale, lock=locked)  # docs/store-credit.md: paid after the points


def member_earnings_record(sale: Sale, *, locked: MemberLock, tier_lock: StatusLock, notify: bool) -> Tier:
    """What an active member's sale earns, from the sale's recorded figures: qualifying spend,
    points, store credit, stamps and the referrer's reward; returns the tier after it. Run by the
    sale itself, and by `pos.checkout.orders` when an online order is completed (at the order's
    time)."""
    at, store, member = sale.occurred_at, sale.store, locked.member
    outcome = tier_spend_record(
        member=member,
        amount=sale.earn_base,
        reference=sale.reference,
        occurred_at=at,
        points=sale.points_earned,
        lock=tier_lock,
    )
    sale_store_credit_earn(
        sale=sale,
        lock=locked,
        reason=_("Receipt %(receipt)s at %(store)s") % {"receipt": sale.receipt_number, "store": store.code},
    )
    if sale.points_earned:
        points_earn(
            member=member,
            points=sale.points_earned,
            reference=earn_reference(sale),
            kind=LedgerEntry.Kind.EARN,
            occurred_at=at,
            cause_kind="sale",
            cause_reference=sale.reference,
            reason=_("Receipt %(receipt)s at %(store)s") % {"receipt": sale.receipt_number, "store": store.code},
            lock=locked,
        )
    # Stamp cards of the store's brand (cached: no query where the brand has none), under the
    # member's lock: concurrent sales of one member are stamped one after the other.
    stamps_record(  # the invoice before any part paid with points or store credit
        member=member,
        store=store,
        sale_reference=sale.reference,
        invoice=sale.total + sale.points_amount + sale.store_credit_redeemed,
        at=at,
    )
    if member.referred_by_id is not None:  # most members were not referred: no query for them
        sale.referrer_points = (
            referral_reward(member=member, earn_base=sale.earn_base, sale_reference=sale.reference, at=at) or 0
        )
    if outcome.tier_changed or sale.referrer_points:
        # Most sales change neither: the row inserted above is already right.
        sale.tier_after_code = outcome.tier_after.code
        sale.tier_changed = outcome.tier_changed
        sale.save(update_fields=["referrer_points", "tier_after_code", "tier_changed"])
    if sale.points_earned and notify:
        sale_id = sale.pk
        # A broker that is down must not fail a committed sale: the message is then written to the
        # outbox in-process (a few inserts), and the outbox sweep sends it when the broker is back.
        task_enqueue_after_commit(
            notify_sale_points, sale_id, fallback=functools.partial(sale_points_notify, sale_id=sale_id)
        )
    return outcome.tier_after


def sale_get(*, terminal: Terminal, sale_id: int) -> Sale:
    """A sale of the terminal's brand (a till may look up a receipt from a sister store)."""
    sale = (
        Sale.objects.select_related("member", "store")
        .prefetch_related("lines", "discounts", "refunds")
        .filter(pk=sale_id, store__brand_id=terminal.store.brand_id)
        .first()
    )
    if sale is None:
        raise NotFoundError(_("No sale with id %(id)s at this brand.") % {"id": sale_id})
    return sale
