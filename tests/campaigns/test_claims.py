"""Campaigns that deliver their voucher by a claim link: the run issues nothing and sends the
link; `campaign_claim` gives the voucher once to the member the link was made for, within the
days to claim, while the campaign is on. Every refusal writes nothing."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings

from campaigns.audiences.services import group_add_members, group_create
from campaigns.errors import CampaignClaimRefused
from campaigns.runs.claims import claim_link, claim_token
from campaigns.runs.models import Campaign, CampaignDelivery
from campaigns.runs.services import campaign_claim, campaign_deactivate, campaign_run, campaign_send_test
from loyalty_site.core.errors import ValidationFailed
from members.models import Member
from notifications.models import Channel, Event, Language, Message, MessageTemplate
from notifications.services import template_save
from tests.campaigns.conftest import enrol
from tests.campaigns.test_campaigns import MARCH_1, make_campaign
from tests.conftest import run_in_threads
from tests.vouchers.helpers import written_state
from vouchers.errors import RewardUnavailable
from vouchers.models import Reward, Voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim_template(db):
    return template_save(
        template=MessageTemplate(
            event=Event.CAMPAIGN,
            channel=Channel.SMS,
            language=Language.VI,
            body="{member_name} ơi, nhận {voucher_name} tại {claim_link}",
        )
    )


@pytest.fixture
def audience(db):
    return [enrol(consents={"sms": True}) for _i in range(2)]


@pytest.fixture
def claim_campaign(bday20, claim_template, audience):
    group = group_create(name="Khách nhận quà")
    group_add_members(group=group, members=audience, source="admin")
    return make_campaign(
        code="QUA-THANG-3",
        group=group,
        reward=bday20,
        voucher_delivery=Campaign.VoucherDelivery.CLAIM_LINK,
        claim_days=7,
        notification_event=Event.CAMPAIGN,
        once_per=Campaign.OncePer.EVER,
    )


def refused(reason: str, **kwargs) -> None:
    before = written_state()
    with pytest.raises(CampaignClaimRefused) as caught:
        campaign_claim(**kwargs)
    assert caught.value.extra["reason"] == reason
    assert written_state() == before


def test_the_run_sends_the_link_and_issues_no_voucher(claim_campaign, audience):
    run = campaign_run(campaign=claim_campaign, as_of=MARCH_1)
    assert (run.members_reached, run.vouchers_issued, run.messages_queued) == (2, 0, 2)
    assert not Voucher.objects.exists()
    assert Reward.objects.get(code="BDAY20").issued_count == 0
    for member in audience:
        body = Message.objects.get(member=member, event=Event.CAMPAIGN).body
        link = f"{settings.PORTAL_BASE_URL}/m/claim/{claim_token(campaign_id=claim_campaign.pk, member_id=member.pk)}"
        text, footer = body.split("\n", 1) if "\n" in body else (body, "")
        assert text.strip() == f"{member.name} ơi, nhận Quà sinh nhật -20 % tại {link}"
        assert f"{settings.PORTAL_BASE_URL}/m/unsubscribe/" in footer  # marketing SMS carry the opt-out link
        assert link.startswith("http")
        path = link.removeprefix(settings.PORTAL_BASE_URL)
        assert member.code not in path and member.phone[-9:] not in path


def test_the_link_names_neither_member_nor_code_and_differs_per_member(claim_campaign, audience):
    one, two = (claim_token(campaign_id=claim_campaign.pk, member_id=m.pk) for m in audience)
    assert one != two
    assert one.startswith(f"{claim_campaign.pk}-") and len(one) < 40
    assert claim_link(campaign_id=claim_campaign.pk, member_id=audience[0].pk).endswith(one)


def test_claiming_issues_the_voucher_once(claim_campaign, audience):
    campaign_run(campaign=claim_campaign, as_of=MARCH_1)
    member = audience[0]
    token = claim_token(campaign_id=claim_campaign.pk, member_id=member.pk)
    first = campaign_claim(member=member, token=token)
    assert not first.already_claimed
    assert (first.voucher.member_id, first.voucher.reward.code, first.voucher.channel) == (
        member.pk,
        "BDAY20",
        "campaign",
    )
    assert first.voucher.reference == f"claim:{claim_campaign.pk}:ever:{member.pk}"
    again = campaign_claim(member=member, token=token)
    assert again.already_claimed and again.voucher.pk == first.voucher.pk
    assert Voucher.objects.count() == 1
    assert Reward.objects.get(code="BDAY20").issued_count == 1


def test_another_members_link_and_altered_links_are_refused(claim_campaign, audience):
    campaign_run(campaign=claim_campaign, as_of=MARCH_1)
    mine, theirs = audience
    their_token = claim_token(campaign_id=claim_campaign.pk, member_id=theirs.pk)
    refused("not-yours", member=mine, token=their_token)
    my_token = claim_token(campaign_id=claim_campaign.pk, member_id=mine.pk)
    refused("not-yours", member=mine, token=my_token[:-1] + ("A" if my_token[-1] != "A" else "B"))
    refused("not-yours", member=mine, token=my_token[:-4])
    for junk in ("", "abc", f"{claim_campaign.pk}", "-" + my_token, "99999-" + my_token.split("-", 1)[1], "x" * 500):
        refused("invalid", member=mine, token=junk)


def test_a_member_the_campaign_did_not_serve_is_refused(claim_campaign, audience):
    campaign_run(campaign=claim_campaign, as_of=MARCH_1)
    outsider = enrol()
    refused("not-in-audience", member=outsider, token=claim_token(campaign_id=claim_campaign.pk, member_id=outsider.pk))


def test_before_the_run_nobody_can_claim(claim_campaign, audience):
    member = audience[0]
    refused("not-in-audience", member=member, token=claim_token(campaign_id=claim_campaign.pk, member_id=member.pk))


def test_past_the_days_to_claim_or_once_the_campaign_ended_is_refused_but_a_claimed_voucher_stays(
    claim_campaign, audience
):
    campaign_run(campaign=claim_campaign, as_of=MARCH_1)
    early, late = audience
    campaign_claim(member=early, token=claim_token(campaign_id=claim_campaign.pk, member_id=early.pk))
    delivery = CampaignDelivery.objects.get(campaign=claim_campaign, member=late)
    CampaignDelivery.objects.filter(pk=delivery.pk).update(
        delivered_at=delivery.delivered_at - datetime.timedelta(days=9)
    )
    refused("expired", member=late, token=claim_token(campaign_id=claim_campaign.pk, member_id=late.pk))
    CampaignDelivery.objects.filter(pk=delivery.pk).update(delivered_at=delivery.delivered_at)
    campaign_deactivate(campaign=claim_campaign)
    refused("ended", member=late, token=claim_token(campaign_id=claim_campaign.pk, member_id=late.pk))
    kept = campaign_claim(member=early, token=claim_token(campaign_id=claim_campaign.pk, member_id=early.pk))
    assert kept.already_claimed


def test_the_rewards_stock_still_applies(claim_campaign, audience, bday20):
    campaign_run(campaign=claim_campaign, as_of=MARCH_1)
    Reward.objects.filter(pk=bday20.pk).update(stock=0)
    before = written_state()
    member = audience[0]
    with pytest.raises(RewardUnavailable):
        campaign_claim(member=member, token=claim_token(campaign_id=claim_campaign.pk, member_id=member.pk))
    assert written_state() == before


def test_an_issuing_campaigns_link_gives_nothing(bday20, claim_template, audience):
    group = group_create(name="Nhóm phát ngay")
    group_add_members(group=group, members=audience, source="admin")
    issuing = make_campaign(code="PHAT-NGAY", group=group, reward=bday20, notification_event=Event.CAMPAIGN)
    campaign_run(campaign=issuing, as_of=MARCH_1)
    member = audience[0]
    refused("invalid", member=member, token=claim_token(campaign_id=issuing.pk, member_id=member.pk))


def test_a_claim_link_needs_a_voucher_and_a_message(bday20, audience):
    group = group_create(name="Nhóm")
    for fields in ({"reward": None, "bonus_points": 10, "notification_event": Event.CAMPAIGN}, {"reward": bday20}):
        with pytest.raises(ValidationFailed) as caught:
            make_campaign(
                code="THIEU",
                group=group,
                voucher_delivery=Campaign.VoucherDelivery.CLAIM_LINK,
                activate=False,
                **fields,
            )
        assert "voucher_delivery" in caught.value.errors
    assert not Campaign.objects.filter(code="THIEU").exists()


def test_the_test_send_carries_the_staff_members_own_link_which_gives_nothing(claim_campaign):
    staff_member = enrol(consents={"sms": True})
    campaign_send_test(campaign=claim_campaign, member=staff_member)
    body = Message.objects.get(member=staff_member).body
    token = claim_token(campaign_id=claim_campaign.pk, member_id=staff_member.pk)
    assert body.endswith(f"/m/claim/{token}")
    refused("not-in-audience", member=staff_member, token=token)


@pytest.mark.django_db(transaction=True)
def test_two_claims_at_once_issue_one_voucher(is_postgres, bday20, claim_template, audience):
    if not is_postgres:
        pytest.skip("real row locks: PostgreSQL")
    group = group_create(name="Khách nhận quà")
    group_add_members(group=group, members=audience, source="admin")
    campaign = make_campaign(
        code="QUA-DUA",
        group=group,
        reward=bday20,
        voucher_delivery=Campaign.VoucherDelivery.CLAIM_LINK,
        notification_event=Event.CAMPAIGN,
        once_per=Campaign.OncePer.EVER,
    )
    campaign_run(campaign=campaign, as_of=MARCH_1, workers=1)
    member = audience[0]
    token = claim_token(campaign_id=campaign.pk, member_id=member.pk)
    results = run_in_threads(2, lambda _i: campaign_claim(member=Member.objects.get(pk=member.pk), token=token))
    assert all(not isinstance(r, Exception) for r in results), results
    assert results[0].voucher.pk == results[1].voucher.pk
    assert Voucher.objects.filter(member=member).count() == 1
    assert Reward.objects.get(pk=bday20.pk).issued_count == 1


def test_the_admin_offers_the_delivery_and_creates_a_claim_link_campaign(client, superuser, bday20, audience):
    from django.urls import reverse

    group = group_create(name="Nhóm admin")
    client.force_login(superuser)
    add_url = reverse("admin:campaigns_campaign_add")
    form = client.get(add_url).content.decode()
    assert 'name="voucher_delivery"' in form and 'name="claim_days"' in form
    data = {
        "code": "QUA-ADMIN", "name": "Quà admin", "group": group.pk, "reward": bday20.pk,
        "voucher_delivery": "claim_link", "claim_days": "5", "notification_event": "campaign",
        "notification_is_marketing": "on", "once_per": "ever", "schedule": "manual", "cron_minute": "0",
        "cron_hour": "8", "cron_day_of_month": "1", "cron_month_of_year": "*", "cron_day_of_week": "*",
        "holdout_percent": "0", "result_days": "30",
    }  # fmt: skip
    response = client.post(add_url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(code="QUA-ADMIN")
    assert (campaign.voucher_delivery, campaign.claim_days) == ("claim_link", 5)
    listing = client.get(reverse("admin:campaigns_campaign_changelist")).content.decode()
    assert "BDAY20 qua liên kết nhận quà" in listing
