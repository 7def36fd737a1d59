"""Pricing a cart: the one function both the quote and the sale run, so they cannot disagree.

Order (demo-programme.md): promotions on lines (and invoice-level promotions), then the tier's
standing discount on what remains, then the vouchers in the order given, then points. No step
takes what is left to pay below zero. Then earning (pos-api.md):

    earn base = the money actually paid = subtotal - every discount - the part paid with points
    points    = round(base x tier earn rate x multiplier / point value) + promotion bonus points

unless earn rules touch some lines (excluded lines, a category's own rate, bonus points per
item): then line by line, `pos.checkout.earning`.

with the programme's rounding, at the tier held BEFORE the sale, and the highest multiplier
(promotions decide stacking; a paid membership's multiplier counts as one more non-stackable
one, `pos.checkout.membership`). A sale without a member earns nothing; a blocked member earns
nothing and cannot redeem points.

Then store credit (`pos.checkout.credit`): after the points, like cash; it earns no points.

Points asked for beyond what is left to pay, or beyond the programme's cap (the most of the
invoice after discounts that points may pay, in %), are not taken, and fewer than the
programme's minimum are not taken at all: `points_redeemed` says how many were (at most
floor(amount left / point value)), so a point is never spent for less than its value."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.promotions.earn import earn_rules_applicable
from campaigns.promotions.selectors import PromotionResult, promotions_applicable
from loyalty_site.core.cart import Cart, CartLine
from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.formats import format_vnd
from loyalty_site.core.money import (
    ZERO,
    RoundingMode,
    money_to_points,
    percent_of,
    points_to_money,
    to_decimal,
)
from members.errors import MemberBlocked, member_in_debt
from members.models import Member, ProgrammeSettings
from members.selectors import member_get, member_spendable_points, programme_settings_get
from members.services import PresenceProof, presence_proof_required
from pos.checkout.credit import NO_CREDIT, store_credit_earning, store_credit_redeemable
from pos.checkout.earning import LineEarned, earning_compute
from pos.checkout.errors import PointsNotApplicable, VoucherUnknown
from pos.checkout.limits import quote_limits_check
from pos.checkout.membership import earn_multiplier
from stores.models import Store, Terminal
from tiers.models import Tier
from tiers.selectors import member_tier, tier_invoice_discount
from vouchers.services.check import Reason, VoucherCheck, voucher_check


@dataclass(frozen=True)
class SaleInput:
    """A validated POS request body (see `pos.apis.sales.SaleInputSerializer`)."""

    receipt_number: str
    member_id: int | None
    occurred_at: datetime.datetime | None
    lines: list[dict]
    voucher_codes: list[str] = field(default_factory=list)
    points_to_redeem: int = 0
    proof: PresenceProof | None = None  # pos-api.md 1.1: the card token or one-time code
    store_credit_to_redeem: Decimal = ZERO  # docs/store-credit.md: VND, paid after the points


@dataclass(frozen=True)
class AppliedDiscount:
    source: str  # promotion | tier | voucher | points
    code: str
    description: str
    amount: Decimal
    line_index: int | None = None


@dataclass
class Quote:
    store: Store
    member: Member | None
    at: datetime.datetime
    cart: Cart
    subtotal: Decimal
    discounts: list[AppliedDiscount]
    total: Decimal
    points_redeemed: int
    points_amount: Decimal
    earn_base: Decimal
    points_to_earn: int
    multiplier: Decimal
    tier: Tier | None
    promotions: PromotionResult
    vouchers: list[VoucherCheck]
    member_proof_required: bool = False
    # Per line index, when an earn rule touched the cart: its share of the earn base and its
    # unrounded points (`pos.checkout.earning`), kept on the sale lines for refunds.
    line_earnings: dict[int, LineEarned] = field(default_factory=dict)
    # Store credit (`pos.checkout.credit`): paid with it, earned, and each line's unrounded share.
    store_credit_redeemed: Decimal = ZERO
    store_credit_to_earn: Decimal = ZERO
    line_store_credit: dict[int, Decimal] = field(default_factory=dict)

    @property
    def tier_code(self) -> str:
        return self.tier.code if self.tier else ""

    @property
    def tier_name(self) -> str:
        return self.tier.display_name if self.tier else ""

    @property
    def discount_total(self) -> Decimal:
        """Promotions, tier and vouchers: everything but the points and the store credit."""
        return sum((d.amount for d in self.discounts if d.source not in ("points", "store_credit")), ZERO)


def cart_from_lines(lines: list[dict]) -> Cart:
    return Cart(
        lines=tuple(
            CartLine(
                index=index,
                sku=line["sku"].strip(),
                quantity=int(line["quantity"]),
                unit_price=to_decimal(line["unit_price"]),
                name=(line.get("name") or "").strip(),
                category=(line.get("category") or "").strip(),
            )
            for index, line in enumerate(lines)
        )
    )


def points_redeemable(asked: int, *, payable: Decimal, programme: ProgrammeSettings) -> int:
    """How many of the `asked` points pay when `payable` is left after every discount: never
    more than covers it (a point is never spent for less than its value), never more than the
    programme's share of the invoice (`redeem_max_percent`), and none at all when that leaves
    fewer than the programme's minimum (`redeem_min_points`). What is not taken stays with the
    member: the quote and the sale say how many were (`points_redeemed`)."""
    usable = money_to_points(payable, programme.point_value, RoundingMode.FLOOR)
    if programme.redeem_max_percent is not None:
        share = percent_of(payable, programme.redeem_max_percent)
        usable = min(usable, money_to_points(share, programme.point_value, RoundingMode.FLOOR))
    taken = max(0, min(asked, usable))
    return taken if taken >= programme.redeem_min_points else 0


def price(
    *,
    store: Store,
    member: Member | None,
    cart: Cart,
    voucher_codes: list[str],
    points_to_redeem: int,
    at: datetime.datetime,
    programme: ProgrammeSettings | None = None,
    tier: Tier | None = None,
    store_credit_to_redeem: Decimal = ZERO,
) -> Quote:
    """Price `cart` for `member` at `store` at `at`. Reads only. Raises the voucher errors
    (voucher-not-found / -used / -expired / -not-applicable), PointsNotApplicable, MemberBlocked
    (points asked by a blocked member), MemberInDebt (points asked by a member who owes points)
    or ValidationFailed (points without a member). `tier`: the member's tier when the caller has
    just read it (the sale, from the row it locked)."""
    programme = programme or programme_settings_get()
    discounts: list[AppliedDiscount] = []
    subtotal = cart.subtotal

    if member is None:
        tier = None
    elif tier is None:
        tier = member_tier(member=member)

    promotions = promotions_applicable(cart=cart, member=member, store=store, at=at, tier=tier)
    for applied in promotions.applied:
        if applied.discount > 0:
            discounts.append(AppliedDiscount("promotion", applied.code, applied.description, applied.discount))
    remaining = max(ZERO, subtotal - promotions.discount_total)
    priced_cart = promotions.cart_after_lines(cart)

    if tier is not None and remaining > 0:
        tier_discount = min(tier_invoice_discount(tier=tier, amount=remaining), remaining)
        if tier_discount > 0:
            description = _("Tier %(tier)s: %(percent)s %% off") % {
                "tier": tier.display_name,
                "percent": f"{tier.invoice_discount_percent.normalize():f}",
            }
            discounts.append(AppliedDiscount("tier", tier.code, description, tier_discount))
            remaining -= tier_discount

    checks: list[VoucherCheck] = []
    for code in voucher_codes:
        check = voucher_check(code=code, member=member, store=store, cart=priced_cart, payable=remaining, at=at)
        if check.reason == Reason.NOT_FOUND:
            raise VoucherUnknown(check.detail, extra={"voucher": check.code})
        check.raise_if_refused()
        checks.append(check)
        discounts.append(AppliedDiscount("voucher", check.code, check.description, check.discount))
        remaining -= check.discount

    points_redeemed, points_amount = 0, ZERO
    if points_to_redeem:
        if member is None:
            message = _("Points can only be redeemed on a sale with a member.")
            raise ValidationFailed(message, errors={"points_to_redeem": [message]})
        if member.status == Member.Status.BLOCKED:
            raise MemberBlocked(_("Member %(code)s is blocked and cannot spend points.") % {"code": member.code})
        if member.points_debt > 0:
            raise member_in_debt(member)
        available = member_spendable_points(member=member, at=max(at, timezone.now()))
        if points_to_redeem > available:
            raise PointsNotApplicable(
                _("The member has %(available)d points available, %(points)d were asked for.")
                % {"available": available, "points": points_to_redeem},
                extra={"points_available": available, "points_requested": points_to_redeem},
            )
        points_redeemed = points_redeemable(points_to_redeem, payable=remaining, programme=programme)
        points_amount = points_to_money(points_redeemed, programme.point_value)
        if points_redeemed:
            description = _("%(points)d points") % {"points": points_redeemed}
            discounts.append(AppliedDiscount("points", "", description, points_amount))
            remaining -= points_amount

    store_credit_redeemed = store_credit_redeemable(member=member, asked=store_credit_to_redeem, payable=remaining)
    if store_credit_redeemed:
        description = _("Store credit %(amount)s") % {"amount": format_vnd(store_credit_redeemed)}
        discounts.append(AppliedDiscount("store_credit", "", description, store_credit_redeemed))
        remaining -= store_credit_redeemed

    total = max(ZERO, remaining)
    credit = (
        store_credit_earning(priced_cart=priced_cart, total=total, store=store, at=at)
        if member is not None and member.status == Member.Status.ACTIVE
        else NO_CREDIT
    )
    multiplier = earn_multiplier(promotions=promotions, member=member, store=store, at=at)
    earns = member is not None and tier is not None and member.status == Member.Status.ACTIVE
    earning = earning_compute(
        priced_cart=priced_cart,
        total=total,
        plan=earn_rules_applicable(cart=cart, store=store, at=at),
        rate_percent=tier.earn_rate_percent if earns else None,
        multiplier=multiplier,
        programme=programme,
    )
    earn_base = earning.earn_base
    points_to_earn = earning.points + max(0, promotions.bonus_points) if earns else 0
    return Quote(
        store=store,
        member=member,
        at=at,
        cart=cart,
        subtotal=subtotal,
        discounts=discounts,
        total=total,
        points_redeemed=points_redeemed,
        points_amount=points_amount,
        earn_base=earn_base,
        points_to_earn=max(0, points_to_earn),
        multiplier=multiplier,
        tier=tier,
        promotions=promotions,
        vouchers=checks,
        member_proof_required=presence_proof_required(
            points=points_redeemed, programme=programme, store_credit=store_credit_redeemed
        ),
        line_earnings=earning.lines,
        store_credit_redeemed=store_credit_redeemed,
        store_credit_to_earn=credit.amount,
        line_store_credit=credit.lines,
    )


def sale_quote(*, terminal: Terminal, data: SaleInput) -> Quote:
    """The quote endpoint: price the request as the sale would, writing nothing; a cart beyond a
    plausibility limit is refused as the sale would be (`pos.checkout.limits`)."""
    member = member_get(member_id=data.member_id) if data.member_id else None
    quote = price(
        store=terminal.store,
        member=member,
        cart=cart_from_lines(data.lines),
        voucher_codes=data.voucher_codes,
        points_to_redeem=data.points_to_redeem,
        at=data.occurred_at or timezone.now(),
        store_credit_to_redeem=data.store_credit_to_redeem,
    )
    quote_limits_check(terminal=terminal, quote=quote)
    return quote
