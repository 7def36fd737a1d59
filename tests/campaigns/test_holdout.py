"""The campaign holdout: a random share of the audience, drawn per run (seeded by the run's id,
reproducible), recorded and given nothing: no voucher, no points, no message."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.audiences.models import Segment
from campaigns.audiences.services import group_add_members, group_create
from campaigns.runs.models import Campaign, CampaignDelivery, CampaignRun
from campaigns.runs.services import campaign_run
from campaigns.runs.services.campaign_runs import HOLDOUT_BUCKETS, holdout_bucket
from loyalty_site.core.errors import ValidationFailed
from members.models import LedgerEntry
from notifications.models import Message
from tests.campaigns.conftest import enrol
from tests.campaigns.test_campaigns import MARCH_1, make_campaign
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


def _group_of(members, name="Nhóm thử"):
    group = group_create(name=name)
    group_add_members(group=group, member_ids=[m.pk for m in members], source="other")
    return group


@pytest.fixture
def crowd(db):
    return [enrol(consents={"sms": True}) for _i in range(60)]


def held_out(run: CampaignRun) -> set[int]:
    return set(CampaignDelivery.objects.filter(run=run, holdout=True).values_list("member_id", flat=True))


def test_a_held_out_member_gets_nothing_and_is_recorded(crowd, bday20, voucher_templates):
    campaign = make_campaign(code="GIU-LAI", group=_group_of(crowd), reward=bday20, bonus_points=30, holdout_percent=20)
    run = campaign_run(campaign=campaign, as_of=MARCH_1)
    holdout = held_out(run)
    reached = set(CampaignDelivery.objects.filter(run=run, holdout=False).values_list("member_id", flat=True))
    assert holdout and reached and not holdout & reached
    assert holdout | reached == {m.pk for m in crowd}
    assert (run.members_held_out, run.members_reached, run.audience_count) == (len(holdout), len(reached), 60)
    assert run.vouchers_issued == run.members_reached and run.points_given == 30 * len(reached)
    assert run.note == ""  # the held-out members are not "already served"
    # Nothing of value and no message for the holdout; everything for the others.
    assert not Voucher.objects.filter(member_id__in=holdout).exists()
    assert not LedgerEntry.objects.filter(member_id__in=holdout).exists()
    assert not Message.objects.filter(member_id__in=holdout).exists()
    assert set(Voucher.objects.values_list("member_id", flat=True)) == reached
    assert set(LedgerEntry.objects.filter(kind="bonus").values_list("member_id", flat=True)) == reached
    assert set(Message.objects.values_list("member_id", flat=True)) == reached
    # The draw the SQL made is the one the Python mirror computes for this run's seed.
    assert holdout == {m.pk for m in crowd if holdout_bucket(m.pk, run.pk) < 20 * HOLDOUT_BUCKETS // 100}


def test_the_holdout_stays_held_out_for_the_period(crowd, bday20):
    campaign = make_campaign(
        code="MOT-LAN", group=_group_of(crowd), reward=bday20, once_per=Campaign.OncePer.EVER, holdout_percent=30
    )
    first = campaign_run(campaign=campaign, as_of=MARCH_1)
    again = campaign_run(campaign=campaign, as_of=MARCH_1)
    assert (again.members_reached, again.members_held_out, again.vouchers_issued) == (0, 0, 0)
    assert held_out(first) and not Voucher.objects.filter(member_id__in=held_out(first)).exists()


def test_the_share_held_out_is_close_to_the_percent(db):
    for _i in range(400):
        enrol()
    segment = Segment.objects.create(name="Tất cả")
    for percent in (10, 25, 50):
        campaign = make_campaign(code=f"TY-LE-{percent}", segment=segment, bonus_points=1, holdout_percent=percent)
        run = campaign_run(campaign=campaign, as_of=MARCH_1)
        share = run.members_held_out / 400
        # 400 draws: the standard deviation of the share is at most 2.5 points; allow three.
        assert abs(share - percent / 100) <= 0.075, (percent, share)
        assert run.members_held_out + run.members_reached == 400


def test_the_draw_is_reproducible_per_run_and_differs_between_runs():
    ids = range(1, 5001)
    draw = [holdout_bucket(i, 17) for i in ids]
    assert draw == [holdout_bucket(i, 17) for i in ids]  # the same run: the same draw
    other = [holdout_bucket(i, 18) for i in ids]
    assert draw != other
    # Consecutive ids spread evenly over the buckets (each tenth of them holds ~10 % of the ids).
    for seed in (17, 18, 123_456):
        tenths = [0] * 10
        for i in ids:
            tenths[holdout_bucket(i, seed) * 10 // HOLDOUT_BUCKETS] += 1
        assert all(400 <= n <= 600 for n in tenths), tenths


def test_no_holdout_by_default(crowd, bday20):
    campaign = make_campaign(code="KHONG-GIU", group=_group_of(crowd[:20]), reward=bday20)
    assert (campaign.holdout_percent, campaign.result_days) == (0, 30)
    run = campaign_run(campaign=campaign, as_of=MARCH_1)
    assert (run.members_reached, run.members_held_out) == (20, 0)


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"holdout_percent": 51}, "holdout_percent"), ({"result_days": 0}, "result_days"),
     ({"result_days": 366}, "result_days")],
)  # fmt: skip
def test_an_out_of_range_holdout_or_window_is_refused_and_nothing_saved(fields, field, crowd, bday20):
    group = _group_of(crowd[:3])
    with pytest.raises(ValidationFailed) as refused:
        make_campaign(code="SAI", group=group, reward=bday20, activate=False, **fields)
    assert field in refused.value.errors
    assert not Campaign.objects.exists()


def test_the_admin_form_refuses_a_holdout_above_half(client, superuser, crowd, bday20):
    group = _group_of(crowd[:3])
    client.force_login(superuser)
    data = {
        "code": "ADMIN-GIU", "name": "Giữ lại", "description": "", "group": group.pk, "segment": "",
        "reward": bday20.pk, "bonus_points": "", "notification_event": "", "notification_is_marketing": "on",
        "once_per": "run", "schedule": "manual", "run_at": "", "cron_minute": "0", "cron_hour": "8",
        "cron_day_of_month": "1", "cron_month_of_year": "*", "cron_day_of_week": "*", "holdout_percent": "60",
        "result_days": "30", "voucher_delivery": "issue", "claim_days": "30",
    }  # fmt: skip
    response = client.post(reverse("admin:campaigns_campaign_add"), data)
    assert response.status_code == 200
    assert "holdout_percent" in response.context["adminform"].form.errors
    assert not Campaign.objects.exists()
    data["holdout_percent"] = "10"
    response = client.post(reverse("admin:campaigns_campaign_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Campaign.objects.get().holdout_percent == 10
