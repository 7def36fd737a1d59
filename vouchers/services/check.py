"""Checking a voucher against a cart: the discount it gives or why it cannot be applied.

A pure read, shared by the quote and the sale so that the two never disagree. The sale then
calls `voucher_use`, which marks the voucher used only if nobody else did in the meantime."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.utils.translation import gettext as _

from loyalty_site.core.cart import Cart
from loyalty_site.core.errors import DomainError
from loyalty_site.core.money import ZERO, to_decimal
from members.models import Member
from stores.models import Store
from vouchers.codes import voucher_code_normalise
from vouchers.errors import VoucherExpired, VoucherNotApplicable, VoucherNotFound, VoucherUsed
from vouchers.models import BatchCode, SharedCode, SharedCodeUse, Voucher
from vouchers.pricing import reward_discount
from vouchers.selectors import reward_usable_at_store, voucher_belongs_to, voucher_get_by_code


class Reason:
    """Why a voucher cannot be applied (`VoucherCheck.reason`)."""

    NOT_FOUND = "not-found"
    OTHER_MEMBER = "other-member"
    VOID = "void"
    USED = "used"
    EXPIRED = "expired"
    NOT_HERE = "not-applicable-here"
    BELOW_MINIMUM = "below-minimum"
    NOTHING_TO_DISCOUNT = "nothing-to-discount"
    MEMBER_REQUIRED = "member-required"


_ERRORS: dict[str, type[DomainError]] = {
    Reason.NOT_FOUND: VoucherNotFound,
    Reason.OTHER_MEMBER: VoucherNotApplicable,
    Reason.VOID: VoucherNotApplicable,
    Reason.USED: VoucherUsed,
    Reason.EXPIRED: VoucherExpired,
    Reason.NOT_HERE: VoucherNotApplicable,
    Reason.BELOW_MINIMUM: VoucherNotApplicable,
    Reason.NOTHING_TO_DISCOUNT: VoucherNotApplicable,
    Reason.MEMBER_REQUIRED: VoucherNotApplicable,
}


@dataclass(frozen=True)
class VoucherCheck:
    """The outcome of `voucher_check`: `discount` > 0 and `reason` None when the voucher
    applies; otherwise `reason` (a `Reason`) and a translated `detail`, and `error()` gives the
    problem the API answers with (`voucher-not-found`, `voucher-used`, `voucher-expired` or
    `voucher-not-applicable`)."""

    code: str
    voucher: Voucher | None
    discount: Decimal = ZERO
    reason: str | None = None
    detail: str = ""
    description: str = field(default="")
    shared_code: SharedCode | None = None  # a shared code (CHAOBAN), not a voucher
    batch_code: BatchCode | None = None  # a printed code of a voucher batch

    @property
    def ok(self) -> bool:
        return self.reason is None

    def error(self) -> DomainError | None:
        if self.reason is None:
            return None
        return _ERRORS[self.reason](self.detail, extra={"voucher": self.code, "reason": self.reason})

    def raise_if_refused(self) -> None:
        error = self.error()
        if error is not None:
            raise error


def _refused(code: str, voucher: Voucher | None, reason: str, detail: str) -> VoucherCheck:
    return VoucherCheck(code=code, voucher=voucher, reason=reason, detail=detail)


def voucher_check(
    *,
    code: str,
    member: Member | None,
    store: Store,
    cart: Cart,
    payable: Decimal,
    at: datetime.datetime,
) -> VoucherCheck:
    """Whether the voucher `code` (any case, with or without dash) applies to this cart for
    `member` at `store` at `at`, and for how much when `payable` is left to pay. Never more than
    `payable`. The minimum invoice is compared with the cart's subtotal (the goods' price before
    any discount). Writes nothing."""
    normalised = voucher_code_normalise(code)
    voucher = voucher_get_by_code(code=normalised)
    if voucher is None:
        shared = SharedCode.objects.select_related("reward").filter(code=normalised, is_active=True).first()
        if shared is not None:
            return _shared_code_check(shared, member=member, store=store, cart=cart, payable=payable, at=at)
        printed = BatchCode.objects.select_related("batch__reward").filter(code=normalised).first()
        if printed is not None:
            return _batch_code_check(printed, member=member, store=store, cart=cart, payable=payable, at=at)
        return _refused(
            normalised, None, Reason.NOT_FOUND, _("No voucher has the code %(code)s.") % {"code": normalised}
        )
    code = voucher.code
    reward = voucher.reward
    if not voucher_belongs_to(voucher=voucher, member=member):
        return _refused(
            code, voucher, Reason.OTHER_MEMBER, _("Voucher %(code)s belongs to another member.") % {"code": code}
        )
    if voucher.status == Voucher.Status.VOID:
        return _refused(code, voucher, Reason.VOID, _("Voucher %(code)s was cancelled.") % {"code": code})
    if voucher.status == Voucher.Status.USED:
        return _refused(code, voucher, Reason.USED, _("Voucher %(code)s has already been used.") % {"code": code})
    if voucher.is_expired_at(at):
        return _refused(code, voucher, Reason.EXPIRED, _("Voucher %(code)s has expired.") % {"code": code})
    return _reward_check(code, voucher, reward=reward, store=store, cart=cart, payable=payable)


def _reward_check(code: str, voucher: Voucher | None, *, reward, store: Store, cart: Cart, payable) -> VoucherCheck:
    """The reward's own rules (where, minimum invoice, something to discount): a voucher's and a
    shared code's alike."""
    if not reward_usable_at_store(reward=reward, store=store):
        return _refused(
            code, voucher, Reason.NOT_HERE, _("Voucher %(code)s cannot be used at this store.") % {"code": code}
        )
    if cart.subtotal < reward.min_invoice:
        return _refused(
            code,
            voucher,
            Reason.BELOW_MINIMUM,
            _("Voucher %(code)s needs an invoice of at least %(amount)s VND.")
            % {"code": code, "amount": f"{reward.min_invoice:,.0f}"},
        )
    discount = reward_discount(reward=reward, cart=cart, payable=to_decimal(payable))
    if discount <= 0:
        return _refused(
            code,
            voucher,
            Reason.NOTHING_TO_DISCOUNT,
            _("Voucher %(code)s has nothing to apply to on this invoice.") % {"code": code},
        )
    return VoucherCheck(code=code, voucher=voucher, discount=discount, description=reward.display_name)


def shared_code_member_uses(*, shared_code: SharedCode, member: Member) -> int:
    """How many uses of the shared code count against the member (given back ones do not)."""
    return SharedCodeUse.objects.filter(shared_code=shared_code, member=member, returned_at__isnull=True).count()


def _shared_code_check(
    shared: SharedCode, *, member: Member | None, store: Store, cart: Cart, payable: Decimal, at: datetime.datetime
) -> VoucherCheck:
    """A shared code: its dates (store local), its limits (in all; per member, which needs a
    member), then its reward's rules. The sale checks again as it writes (`shared_code_use`)."""
    code = shared.code
    day = at.astimezone(store.zone).date()
    if (shared.valid_from and day < shared.valid_from) or (shared.valid_until and day > shared.valid_until):
        return _refused(code, None, Reason.EXPIRED, _("Code %(code)s is not valid on this day.") % {"code": code})
    if shared.per_member_limit is not None and member is None:
        return _refused(
            code, None, Reason.MEMBER_REQUIRED, _("Code %(code)s needs a member on the sale.") % {"code": code}
        )
    if shared.total_limit is not None and shared.uses_count >= shared.total_limit:
        return _refused(code, None, Reason.USED, _("Code %(code)s has been used up.") % {"code": code})
    if (
        shared.per_member_limit is not None
        and shared_code_member_uses(shared_code=shared, member=member) >= shared.per_member_limit
    ):
        return _refused(code, None, Reason.USED, _("The member has already used code %(code)s.") % {"code": code})
    check = _reward_check(code, None, reward=shared.reward, store=store, cart=cart, payable=payable)
    return replace(check, shared_code=shared) if check.ok else check


def _batch_code_check(
    printed: BatchCode, *, member: Member | None, store: Store, cart: Cart, payable: Decimal, at: datetime.datetime
) -> VoucherCheck:
    """A printed code: unused, on a sale with a member (it becomes theirs), within its reward's
    fixed last day if it has one, then the reward's rules. `batch_code_use` holds "once"."""
    code, reward = printed.code, printed.batch.reward
    if printed.used_at is not None:
        return _refused(code, None, Reason.USED, _("Voucher %(code)s has already been used.") % {"code": code})
    if member is None:
        return _refused(
            code, None, Reason.MEMBER_REQUIRED, _("Code %(code)s needs a member on the sale.") % {"code": code}
        )
    if reward.valid_until and at.astimezone(store.zone).date() > reward.valid_until:
        return _refused(code, None, Reason.EXPIRED, _("Voucher %(code)s has expired.") % {"code": code})
    check = _reward_check(code, None, reward=reward, store=store, cart=cart, payable=payable)
    return replace(check, batch_code=printed) if check.ok else check
