"""Journeys: campaigns whose audience is a moment in each member's life (welcome, first visit,
anniversary, win-back, points about to expire), each served once per its period by the same
runs as every campaign; and campaigns limited to the days of a date schedule."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from campaigns.audiences.selectors import audience_today
from campaigns.audiences.services import group_add_members, group_create
from campaigns.calendar.models import DateSchedule, Holiday
from campaigns.calendar.selectors import schedule_range
from campaigns.calendar.services import date_schedule_save
from campaigns.runs.journeys import journey_members
from campaigns.runs.models import Campaign, CampaignDelivery, CampaignRun
from campaigns.runs.services import campaign_activate, campaign_run, campaign_save
from campaigns.runs.tasks import run_campaign
from loyalty_site.core.errors import ValidationFailed
from members.models import PointLot
from members.services import points_earn
from notifications.models import Channel, Event, Language, Message, MessageTemplate
from notifications.services import template_save
from tests.campaigns.conftest import HCM, enrol
from vouchers.models import Reward, Voucher
from vouchers.services import reward_save

pytestmark = pytest.mark.django_db

Journey = Campaign.Journey
D = datetime.date


def at_noon(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=HCM)


def days_ago(n: int) -> datetime.datetime:
    """Noon, n (>= 1) days before today: always in the past, whatever the hour of the run."""
    return at_noon(audience_today() - datetime.timedelta(days=n))


def buy(member, when: datetime.datetime, points: int = 10) -> None:
    points_earn(member=member, points=points, reference=f"sale:{member.pk}:{when.isoformat()}", occurred_at=when)


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def journey(**fields) -> Campaign:
    fields.setdefault("name", fields["code"].title())
    campaign = campaign_save(campaign=Campaign(**fields))
    campaign_activate(campaign=campaign)
    return campaign


@pytest.fixture
def welcome_template(db):
    return template_save(
        template=MessageTemplate(
            event=Event.CAMPAIGN,
            variant="WELCOME",
            channel=Channel.SMS,
            language=Language.VI,
            body="Chào mừng {member_name}! Dùng mã CHAOBAN khi thanh toán.",
        )
    )


@pytest.fixture
def cash50k(db):
    return reward_save(
        reward=Reward(
            code="CASH50K",
            name="Voucher 50.000đ",
            kind=Reward.Kind.CASH,
            value=Decimal(50_000),
            points_cost=0,
            validity=Reward.Validity.DAYS,
            validity_days=30,
        )
    )


# --- Who each journey reaches -----------------------------------------------------------------


def test_welcome_reaches_the_members_enrolled_in_the_last_days_once_ever(welcome_template):
    new = enrol(consents={"sms": True})
    yesterday = enrol(consents={"sms": True}, enrolled_at=days_ago(1))
    enrol(consents={"sms": True}, enrolled_at=days_ago(5))
    campaign = journey(
        code="WELCOME",
        journey=Journey.WELCOME,
        journey_days=2,
        notification_event=Event.CAMPAIGN,
        once_per=Campaign.OncePer.EVER,
        schedule=Campaign.Schedule.RECURRING,
        cron_minute="*/15",
        cron_hour="*",
        cron_day_of_month="*",
    )

    run = campaign_run(campaign=campaign, as_of=audience_today())

    assert (run.status, run.audience_count, run.members_reached, run.messages_queued) == ("done", 2, 2, 2)
    texts = set(Message.objects.filter(event=Event.CAMPAIGN).values_list("member_id", "body"))
    assert {m for m, _ in texts} == {new.pk, yesterday.pk}
    assert all("CHAOBAN" in body for _, body in texts)
    again = campaign_run(campaign=campaign, as_of=audience_today())
    assert (again.members_reached, again.messages_queued) == (0, 0)
    assert Message.objects.filter(event=Event.CAMPAIGN).count() == 2


def test_first_visit_reaches_only_a_first_purchase_in_the_window():
    first = enrol()
    buy(first, days_ago(1))
    regular = enrol()
    buy(regular, days_ago(30))
    buy(regular, days_ago(1))
    enrol()  # never bought
    old_first = enrol()
    buy(old_first, days_ago(10))

    assert ids(journey_members(journey=Journey.FIRST_VISIT, days=3, as_of=audience_today())) == {first.pk}


def test_win_back_gives_the_voucher_once_a_year_to_who_stopped_coming(cash50k):
    lapsed = enrol()
    buy(lapsed, days_ago(70))
    active = enrol()
    buy(active, days_ago(70))
    buy(active, days_ago(10))
    enrol()  # never bought: not "won back"
    campaign = journey(
        code="WIN-BACK",
        journey=Journey.WIN_BACK,
        journey_days=60,
        reward=cash50k,
        once_per=Campaign.OncePer.YEAR,
        schedule=Campaign.Schedule.RECURRING,
    )

    run = campaign_run(campaign=campaign, as_of=audience_today())

    assert (run.members_reached, run.vouchers_issued) == (1, 1)
    assert list(Voucher.objects.filter(reward=cash50k).values_list("member_id", flat=True)) == [lapsed.pk]
    assert campaign_run(campaign=campaign, as_of=audience_today()).vouchers_issued == 0
    assert CampaignDelivery.objects.get(campaign=campaign).period_key == f"{audience_today().year:04d}"


def test_win_back_counts_the_last_n_days_including_today():
    edge = enrol()
    buy(edge, days_ago(59))  # 60 days up to today include this one
    out = enrol()
    buy(out, days_ago(60))
    assert ids(journey_members(journey=Journey.WIN_BACK, days=60, as_of=audience_today())) == {out.pk}


def test_anniversary_is_the_local_day_of_enrolment_in_an_earlier_year():
    late_evening = enrol(enrolled_at=datetime.datetime(2024, 5, 19, 23, 30, tzinfo=HCM))  # 16:30 UTC
    enrol(enrolled_at=datetime.datetime(2024, 5, 20, 0, 30, tzinfo=HCM))  # 19 May 17:30 UTC, but the 20th here
    that_day = enrol(enrolled_at=datetime.datetime(2025, 5, 19, 8, 0, tzinfo=HCM))  # no anniversary the same day
    leap = enrol(enrolled_at=datetime.datetime(2024, 2, 29, 9, 0, tzinfo=HCM))

    assert ids(journey_members(journey=Journey.ANNIVERSARY, days=None, as_of=D(2025, 5, 19))) == {late_evening.pk}
    assert ids(journey_members(journey=Journey.ANNIVERSARY, days=None, as_of=D(2026, 5, 19))) == {
        late_evening.pk,
        that_day.pk,
    }
    assert ids(journey_members(journey=Journey.ANNIVERSARY, days=None, as_of=D(2025, 2, 28))) == {leap.pk}
    assert ids(journey_members(journey=Journey.ANNIVERSARY, days=None, as_of=D(2025, 3, 1))) == set()


def test_points_expiring_reaches_members_with_open_points_expiring_in_the_next_days():
    soon, later, spent = enrol(), enrol(), enrol()
    for member in (soon, later, spent):
        buy(member, days_ago(1))
    as_of = D(2030, 6, 10)
    PointLot.objects.filter(member=soon).update(expires_at=at_noon(D(2030, 6, 15)))
    PointLot.objects.filter(member=later).update(expires_at=at_noon(D(2030, 6, 20)))
    PointLot.objects.filter(member=spent).update(expires_at=at_noon(D(2030, 6, 12)), remaining=0)

    assert ids(journey_members(journey=Journey.POINTS_EXPIRING, days=7, as_of=as_of)) == {soon.pk}
    assert ids(journey_members(journey=Journey.POINTS_EXPIRING, days=10, as_of=as_of)) == {soon.pk, later.pk}


def test_a_group_narrows_a_journey(cash50k):
    inside, outside = enrol(), enrol()
    for member in (inside, outside):
        buy(member, days_ago(90))
    group = group_create(name="Khách Hà Nội")
    group_add_members(group=group, members=[inside], source="other")
    campaign = journey(code="WB-HN", journey=Journey.WIN_BACK, journey_days=60, group=group, reward=cash50k)

    run = campaign_run(campaign=campaign, as_of=audience_today())

    assert run.members_reached == 1
    assert set(CampaignDelivery.objects.values_list("member_id", flat=True)) == {inside.pk}


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"journey": Journey.WIN_BACK}, "journey_days"),
        ({"journey": Journey.WELCOME, "journey_days": 0}, "journey_days"),
        ({"journey_days": 5}, "journey_days"),
        ({}, "segment"),
    ],
)
def test_a_wrong_journey_is_refused_and_nothing_is_written(cash50k, fields, field):
    with pytest.raises(ValidationFailed) as refused:
        campaign_save(campaign=Campaign(code="SAI", name="Sai", reward=cash50k, **fields))
    assert field in refused.value.errors
    assert not Campaign.objects.exists()


# --- Campaigns on a date schedule ------------------------------------------------------------


def test_a_scheduled_run_outside_the_date_schedule_does_nothing(cash50k):
    member = enrol()
    buy(member, days_ago(90))
    # A schedule of the 3 days that end yesterday, counted from a one-off holiday.
    holiday = Holiday.objects.create(code="MOC", name="Mốc", kind=Holiday.Kind.ONE_OFF, date=audience_today())
    schedule = date_schedule_save(
        schedule=DateSchedule(code="BA-NGAY", name="Ba ngày", holiday=holiday, offset_days=-3, length_days=3)
    )
    assert schedule_range(schedule, audience_today().year)[1] == audience_today() - datetime.timedelta(days=1)
    campaign = journey(
        code="WB-LICH", journey=Journey.WIN_BACK, journey_days=60, reward=cash50k, date_schedule=schedule
    )

    assert run_campaign(campaign.pk, as_of=audience_today().isoformat()) == {"run": None}
    assert not CampaignRun.objects.exists()
    inside = run_campaign(campaign.pk, as_of=(audience_today() - datetime.timedelta(days=1)).isoformat())
    assert inside["members_reached"] == 1
    # By hand, the schedule does not stop a run: staff chose to run it.
    by_hand = run_campaign(campaign.pk, as_of=audience_today().isoformat(), trigger=CampaignRun.Trigger.MANUAL)
    assert by_hand["run"] is not None
