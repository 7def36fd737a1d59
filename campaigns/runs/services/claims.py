"""Claiming a campaign's voucher from its link (`campaigns.runs.claims`).

`campaign_claim` gives the signed-in member the voucher of the campaign the link names, once:
the member must hold a delivery of the campaign (the run served them), the campaign must still
be active and the claim within its days to claim. The voucher is issued by `voucher_issue` with
the reference `claim:<campaign>:<period>:<member>`, so a second visit, a double tap or two
tabs at the same moment return the same voucher (the reward's row lock serialises them; the
unique reference is the backstop). The reward's own window, stock and per-member limit still
apply (RewardUnavailable). Every refusal writes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.errors import CampaignClaimRefused
from campaigns.runs.claims import claim_deadline, claim_reference, claim_token_campaign_id, claim_token_matches
from campaigns.runs.models import Campaign, CampaignDelivery
from members.models import Member
from vouchers.models import Voucher
from vouchers.services import voucher_issue


@dataclass(frozen=True)
class Claim:
    campaign: Campaign
    voucher: Voucher
    already_claimed: bool


def _refused(reason: str, detail: str) -> CampaignClaimRefused:
    return CampaignClaimRefused(detail, extra={"reason": reason})


def campaign_claim(*, member: Member, token: str) -> Claim:
    """Issue (or find again) the voucher the claim link `token` promises to `member`, the member
    signed in on the page. CampaignClaimRefused when the link is not this member's or cannot
    give the voucher any more; RewardUnavailable when the reward cannot be issued now."""
    invalid = _("This link is not valid: open it exactly as it came in the message.")
    campaign_id = claim_token_campaign_id(token)
    campaign = (
        Campaign.objects.select_related("reward")
        .filter(pk=campaign_id, voucher_delivery=Campaign.VoucherDelivery.CLAIM_LINK, reward__isnull=False)
        .first()
        if campaign_id is not None
        else None
    )
    if campaign is None:
        raise _refused("invalid", invalid)
    if not claim_token_matches(token=token, campaign_id=campaign.pk, member_id=member.pk):
        raise _refused(
            "not-yours",
            _(
                "This link was sent to another member, or it is incomplete. Sign in with the phone number it was sent to."  # noqa: E501
            ),
        )
    delivery = CampaignDelivery.objects.filter(campaign=campaign, member_id=member.pk).order_by("-delivered_at").first()
    if delivery is None:
        raise _refused("not-in-audience", _("This offer was not sent to you."))
    reference = claim_reference(campaign_id=campaign.pk, period_key=delivery.period_key, member_id=member.pk)
    claimed = Voucher.objects.select_related("reward").filter(reference=reference, member_id=member.pk).first()
    if claimed is not None:
        return Claim(campaign=campaign, voucher=claimed, already_claimed=True)
    if not campaign.is_active:
        raise _refused("ended", _("This offer has ended."))
    if timezone.now() >= claim_deadline(campaign=campaign, delivery=delivery):
        raise _refused("expired", _("The time to claim this offer has passed."))
    voucher = voucher_issue(
        reward=campaign.reward,
        member=member,
        channel=Voucher.Channel.CAMPAIGN,
        reason=_("Campaign %(code)s, claimed from its link") % {"code": campaign.code},
        reference=reference,
        store=member.home_store,
    )
    return Claim(campaign=campaign, voucher=voucher, already_claimed=False)
