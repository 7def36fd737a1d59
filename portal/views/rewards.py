"""Rewards (`/m/rewards/`) and the member's own exchange of points for a voucher: the list,
then a confirmation step, then `reward_redeem` (the till's service: same limits, stock and tier
price). See `portal.rewards` for the brands shown, the store recorded and the one-time
reference; the signed-in session is the presence proof (`members.services.presence`)."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loyalty_site.core.errors import DomainError
from members.selectors import member_spendable_points
from members.services import PresenceProof
from portal.auth import member_required
from portal.refusals import refusal_text
from portal.rewards import exchange_reference_make, exchange_reference_read, exchange_store, member_offers
from vouchers.models import Reward, Voucher
from vouchers.selectors import reward_points_cost
from vouchers.services import reward_redeem


@member_required
@require_http_methods(["GET", "HEAD"])
def rewards(request: HttpRequest) -> HttpResponse:
    offers = member_offers(member=request.member)
    prefetch_related_objects([offer.reward for offer in offers], "brands", "stores")
    return render(
        request,
        "portal/rewards.html",
        {"member": request.member, "offers": offers, "balance": request.member.points_balance},
    )


def _stale_refusal() -> str:
    return _("This confirmation has expired or is not yours: please confirm again.")


def _confirm_page(
    request, *, reward: Reward | None, code: str, refusal: str = "", status: int = 200, retry: bool = False
) -> HttpResponse:
    """The confirmation step; after a refusal, the button comes back only when confirming again
    can help (`retry`: the form had expired)."""
    member = request.member
    context = {"member": member, "reward": reward, "code": code, "refusal": refusal}
    if reward is not None:
        cost = reward_points_cost(reward=reward, member=member)
        spendable = member_spendable_points(member=member)
        prefetch_related_objects([reward], "brands", "stores")
        context.update(
            points_cost=cost,
            spendable=spendable,
            balance_after=spendable - cost,
            points_missing=max(0, cost - spendable),
            can_confirm=cost <= spendable and (not refusal or retry),
            reference=exchange_reference_make(member=member, reward=reward),
        )
    return render(request, "portal/reward_confirm.html", context, status=status)


@member_required
@require_http_methods(["GET", "HEAD", "POST"])
def reward_exchange(request: HttpRequest, code: str) -> HttpResponse:
    """GET: the confirmation step (a button `data-confirm`); POST: the exchange. A reward that
    is unknown, hidden or not of the member's brands is refused here, whatever the form says."""
    member = request.member
    code = code.strip().upper()[:20]
    reward = Reward.objects.filter(code=code).first()
    store = exchange_store(member=member, reward=reward) if reward is not None else None
    if store is None:
        return _confirm_page(
            request, reward=None, code=code, refusal=_("This reward is not offered to you."), status=404
        )
    if request.method != "POST":
        return _confirm_page(request, reward=reward, code=code)
    reference = exchange_reference_read(signed=request.POST.get("reference", ""), member=member, reward=reward)
    if reference is None:
        return _confirm_page(request, reward=reward, code=code, refusal=_stale_refusal(), status=400, retry=True)
    try:
        voucher = reward_redeem(
            member=member,
            reward=reward,
            store=store,
            reference=reference,
            proof=PresenceProof(signed_in_member_id=member.pk),
            channel=Voucher.Channel.WEB,
        )
    except DomainError as error:
        return _confirm_page(request, reward=reward, code=code, refusal=refusal_text(error), status=error.status)
    member.refresh_from_db(fields=["points_balance"])
    return render(request, "portal/reward_done.html", {"member": member, "voucher": voucher})
