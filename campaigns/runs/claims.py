"""Claim links of campaigns whose voucher the member collects (`Campaign.voucher_delivery` =
claim link): `/m/claim/<token>` on the member pages.

The token is `<campaign id>-<MAC>`, the MAC an HMAC-SHA256 (Django's `salted_hmac`, keyed by
SECRET_KEY) over the campaign and the member, cut to 128 bits. Nothing is stored: the link names
neither the member nor a voucher code, and it is checked against the member signed in on the
page, so a forwarded link is worth nothing to anybody else. Reads only; the claim itself is
`campaigns.runs.services.campaign_claim`."""

from __future__ import annotations

import base64
import datetime

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from campaigns.audiences.selectors import audience_zone
from campaigns.runs.models import Campaign, CampaignDelivery

_SALT = "campaigns.claim-link"
CLAIM_PATH = "/m/claim/"  # member-web.md, "Fixed for tests and integrations"
_MAX_TOKEN = 60


def _mac(campaign_id: int, member_id: int) -> str:
    digest = salted_hmac(_SALT, f"{campaign_id}:{member_id}", algorithm="sha256").digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def claim_token(*, campaign_id: int, member_id: int) -> str:
    return f"{campaign_id}-{_mac(campaign_id, member_id)}"


def claim_link(*, campaign_id: int, member_id: int) -> str:
    """The absolute link a campaign message carries as `{claim_link}`."""
    return (
        f"{settings.PORTAL_BASE_URL.rstrip('/')}{CLAIM_PATH}{claim_token(campaign_id=campaign_id, member_id=member_id)}"
    )


def claim_token_campaign_id(token: str) -> int | None:
    """The campaign a token names, or None when it is not shaped like a claim token."""
    token = str(token or "")
    head, dash, mac = token.partition("-")
    if len(token) > _MAX_TOKEN or not dash or not mac or not head.isascii() or not head.isdigit():
        return None
    campaign_id = int(head)
    return campaign_id if 0 < campaign_id < 2**31 else None


def claim_token_matches(*, token: str, campaign_id: int, member_id: int) -> bool:
    """Whether `token` is the claim token of this campaign for this member (constant time)."""
    return constant_time_compare(str(token or ""), claim_token(campaign_id=campaign_id, member_id=member_id))


def claim_deadline(*, campaign: Campaign, delivery: CampaignDelivery) -> datetime.datetime:
    """The first moment the claim is closed: the midnight after the `claim_days`-th day after
    the delivery, in the programme's zone (claim_days = 1: the day of the run and the next)."""
    zone = audience_zone()
    delivered_on = delivery.delivered_at.astimezone(zone).date()
    last_day = delivered_on + datetime.timedelta(days=campaign.claim_days)
    return datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)


def claim_reference(*, campaign_id: int, period_key: str, member_id: int) -> str:
    """The voucher's idempotency reference: one voucher per member and delivered period."""
    return f"claim:{campaign_id}:{period_key}:{member_id}"
