"""Counting stamps on a sale, and taking one back on a refund.

The rule (`StampCard`): a sale of an active member at a store of the card's brand whose invoice,
after discounts and before points, is at least the card's minimum is a stamp. The member's open
card starts with its first stamp; a card still open `period_days` after that first stamp starts
again from the new sale. The Nth stamp completes the card: the card's reward voucher is issued
(once per completed card: the voucher's reference names the card number) and a new card opens
with the next sale.

The checkout calls `stamps_record` inside the sale's transaction while it holds the member's
row lock (`pos.checkout.sales`): every sale of one member waits for the one before, so two
concurrent sales can never both be the 5th stamp. A reward that cannot be issued (out of stock,
stopped) does not fail the sale: the stamp is kept, the card counted, no voucher given.

Refunds (`stamps_reverse`, on a full refund only; a partial refund leaves the stamp): the sale's
stamp is taken back. On the open card it is one stamp fewer. If the stamp completed a card, the
card's voucher is voided when still unused (the sale that earned it is gone) and the card stays
counted; a voucher already used is not taken back (the member had the reward, as a used voucher
is not returned either). A stamp of an earlier card that did not complete it is only marked
reversed: that card was completed with it, and its reward stands."""

from __future__ import annotations

import contextlib
import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.stamps.models import Stamp, StampCard, StampProgress
from campaigns.stamps.selectors import STAMP_CARDS_CACHE_KEY, stamp_cards_for
from loyalty_site.core.config_cache import config_cache_invalidate
from loyalty_site.core.errors import DomainError, clean_or_refuse
from members.models import Member
from stores.models import Store
from vouchers.models import Voucher
from vouchers.services import voucher_issue, voucher_void


def stamp_card_save(*, card: StampCard) -> StampCard:
    """Create or change a stamp card. Refusals write nothing."""
    clean_or_refuse(card)
    card.save()
    config_cache_invalidate(STAMP_CARDS_CACHE_KEY)
    return card


def _stamp(card: StampCard, member: Member, store: Store, sale_reference: str, at: datetime.datetime) -> Stamp:
    progress, _created = StampProgress.objects.get_or_create(card=card, member=member)
    if progress.stamps and progress.opened_at and at - progress.opened_at > datetime.timedelta(days=card.period_days):
        progress.stamps, progress.opened_at = 0, None  # the card ran out of time: start again
    if not progress.stamps:
        progress.opened_at = at
    progress.stamps += 1
    stamp = Stamp(
        card=card, member=member, sale_reference=sale_reference, at=at, card_number=progress.cards_completed + 1
    )
    if progress.stamps >= card.stamps_needed:
        stamp.completed = True
        progress.cards_completed += 1
        progress.stamps, progress.opened_at = 0, None
        try:
            voucher = voucher_issue(
                reward=card.reward,
                member=member,
                channel=Voucher.Channel.CAMPAIGN,
                reason=_("Stamp card %(card)s completed") % {"card": card.name},
                reference=f"stamp:{card.code}:member:{member.pk}:card:{stamp.card_number}",
                store=store,
            )
            stamp.voucher_code = voucher.code
        except DomainError:
            pass  # the reward cannot be given now: the sale stands, the card is counted
    progress.save(update_fields=["opened_at", "stamps", "cards_completed"])
    stamp.save(force_insert=True)
    return stamp


def stamps_record(
    *, member: Member, store: Store, sale_reference: str, invoice: Decimal, at: datetime.datetime
) -> list[Stamp]:
    """Stamp the sale on every active card of the store's brand it qualifies for. Call it under
    the member's row lock, in the sale's transaction (see the module docstring)."""
    if member.status != Member.Status.ACTIVE:
        return []
    cards = [card for card in stamp_cards_for(brand_id=store.brand_id) if invoice >= card.min_amount]
    return [_stamp(card, member, store, sale_reference, at) for card in cards]


def stamps_reverse(*, sale_reference: str, reason: str) -> int:
    """A full refund of the sale: take its stamps back (see the module docstring). Idempotent;
    returns how many were taken back now. Call it under the member's row lock."""
    now = timezone.now()
    taken = 0
    with transaction.atomic():
        for stamp in Stamp.objects.select_related("card").filter(sale_reference=sale_reference, reversed_at=None):
            progress = StampProgress.objects.filter(card=stamp.card, member_id=stamp.member_id).first()
            open_card = progress is not None and stamp.card_number == progress.cards_completed + 1 and progress.stamps
            if open_card:
                progress.stamps -= 1
                if not progress.stamps:
                    progress.opened_at = None
                progress.save(update_fields=["stamps", "opened_at"])
            elif stamp.completed and stamp.voucher_code:
                voucher = Voucher.objects.filter(code=stamp.voucher_code, status=Voucher.Status.ISSUED).first()
                if voucher is not None:
                    with contextlib.suppress(DomainError):  # used or expired a moment ago: it stands
                        voucher_void(voucher=voucher, by=None, reason=reason)
            Stamp.objects.filter(pk=stamp.pk).update(reversed_at=now)
            taken += 1
    return taken
