"""Shared codes (one code, many members, e.g. `CHAOBAN`): saving one, using it on a sale, giving
the use back on a full refund. `voucher_check` (services/check.py) says whether it applies; the
sale then calls `shared_code_use` in its transaction, which holds the limits as it writes:

- in all: a conditional UPDATE `uses_count = uses_count + 1 WHERE uses_count < total_limit`, so
  that however many tills race for the last use, one wins and the others are refused
  (VoucherUsed, the sale rolls back); the `uses_count <= total_limit` constraint is the backstop;
- per member: counted again here, under the member's row lock that the sale holds, so two sales
  of one member cannot both take their last use.

A full refund (`shared_code_uses_return`) gives the use back: it no longer counts for the member
nor in all (`uses_count` goes down by one)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import clean_or_refuse
from members.models import Member
from stores.models import Store
from vouchers.codes import voucher_code_normalise
from vouchers.errors import VoucherUsed
from vouchers.models import SharedCode, SharedCodeUse
from vouchers.services.check import shared_code_member_uses


def shared_code_save(*, shared_code: SharedCode) -> SharedCode:
    """Create or update a shared code (its code brought to the canonical form); never writes
    back a stale use count."""
    shared_code.code = voucher_code_normalise(shared_code.code)
    with transaction.atomic():
        if shared_code.pk is not None and not shared_code._state.adding:
            current = SharedCode.objects.select_for_update(no_key=True).get(pk=shared_code.pk)
            shared_code.uses_count = current.uses_count
        clean_or_refuse(shared_code)
        if shared_code._state.adding:
            shared_code.uses_count = 0
            shared_code.save(force_insert=True)
        else:
            fields = [
                f.name
                for f in SharedCode._meta.concrete_fields
                if not f.primary_key and f.name not in ("uses_count", "created_at")
            ]
            shared_code.save(update_fields=fields)
    return shared_code


def _used_up(shared_code: SharedCode) -> VoucherUsed:
    return VoucherUsed(
        _("Code %(code)s has been used up.") % {"code": shared_code.code},
        extra={"voucher": shared_code.code, "reason": "used"},
    )


def shared_code_use(
    *,
    shared_code: SharedCode,
    member: Member | None,
    store: Store,
    sale_reference: str,
    at: datetime.datetime,
    discount: Decimal,
) -> SharedCodeUse:
    """Record one use of `shared_code` on the sale `sale_reference` (see the module docstring).
    The caller holds `member`'s row lock (the sale does). VoucherUsed when the code is used up,
    in all or for the member: nothing is written."""
    with transaction.atomic():
        if shared_code.total_limit is not None:
            taken = SharedCode.objects.filter(pk=shared_code.pk, uses_count__lt=F("total_limit")).update(
                uses_count=F("uses_count") + 1, updated_at=timezone.now()
            )
            if not taken:
                raise _used_up(shared_code)
        else:
            SharedCode.objects.filter(pk=shared_code.pk).update(
                uses_count=F("uses_count") + 1, updated_at=timezone.now()
            )
        if shared_code.per_member_limit is not None and (
            member is None
            or shared_code_member_uses(shared_code=shared_code, member=member) >= shared_code.per_member_limit
        ):
            raise VoucherUsed(
                _("The member has already used code %(code)s.") % {"code": shared_code.code},
                extra={"voucher": shared_code.code, "reason": "used"},
            )
        return SharedCodeUse.objects.create(
            shared_code=shared_code,
            member=member,
            store=store,
            sale_reference=sale_reference,
            used_at=at,
            discount=discount,
        )


def shared_code_uses_return(*, sale_reference: str, at: datetime.datetime | None = None) -> list[str]:
    """Give back the shared-code uses of a fully refunded sale; returns their codes. A retry
    finds them given back and changes nothing."""
    at = at or timezone.now()
    codes = []
    with transaction.atomic():
        uses = (
            SharedCodeUse.objects.select_for_update()
            .filter(sale_reference=sale_reference, returned_at__isnull=True)
            .select_related("shared_code")
            .order_by("pk")
        )
        for use in uses:
            SharedCodeUse.objects.filter(pk=use.pk).update(returned_at=at)
            SharedCode.objects.filter(pk=use.shared_code_id, uses_count__gt=0).update(
                uses_count=F("uses_count") - 1, updated_at=timezone.now()
            )
            codes.append(use.shared_code.code)
    return codes
