"""Scheduled campaigns: who gets what, once per period whatever the number of runs; the run
history; the schedule kept in django-celery-beat; the test send; the admin pages."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from campaigns.audiences.models import Segment
from campaigns.audiences.selectors import audience_today
from campaigns.audiences.services import group_add_members, group_create
from campaigns.errors import CampaignInactive
from campaigns.runs.models import Campaign, CampaignDelivery, CampaignRun
from campaigns.runs.services import (
    campaign_activate,
    campaign_deactivate,
    campaign_run,
    campaign_save,
    campaign_send_test,
)
from campaigns.runs.tasks import run_campaign
from loyalty_site.core.errors import ValidationFailed
from members.models import LedgerEntry, Member
from members.services import member_block
from notifications.models import Event, Message
from tests.campaigns.conftest import enrol
from tests.conftest import run_in_threads
from vouchers.models import Reward, Voucher
from vouchers.services import reward_save, voucher_issue

pytestmark = pytest.mark.django_db

# Collected once; the years only need to be past ones ("today" is taken when a test runs).
THIS_YEAR = audience_today().year
# Past days in March, so that "a future day" never refuses them whatever the date of the run.
MARCH_1 = datetime.date(THIS_YEAR - 2, 3, 1)
MARCH_2 = datetime.date(THIS_YEAR - 2, 3, 2)
NEXT_YEAR_MARCH_1 = datetime.date(THIS_YEAR - 1, 3, 1)


def make_campaign(*, activate: bool = True, **fields) -> Campaign:
    fields.setdefault("name", fields["code"].title())
    campaign = campaign_save(campaign=Campaign(**fields))
    if activate:
        campaign_activate(campaign=campaign)
    return campaign


@pytest.fixture
def march_segment(db):
    return Segment.objects.create(name="Sinh nhật tháng 3", birthday_month="3")


@pytest.fixture
def birthday_campaign(bday20, birthday_templates, march_segment):
    return make_campaign(
        code="BIRTHDAY-MONTHLY",
        name="Quà sinh nhật hằng tháng",
        segment=march_segment,
        reward=bday20,
        notification_event=Event.BIRTHDAY,
        once_per=Campaign.OncePer.YEAR,
        schedule=Campaign.Schedule.RECURRING,
    )


@pytest.fixture
def march_members(db):
    """Three active members born in March (two consent to SMS), one born in April, one blocked."""
    with_sms = [enrol(birthday=datetime.date(1990, 3, d), consents={"sms": True}) for d in (5, 28)]
    without = enrol(birthday=datetime.date(1985, 3, 12))
    enrol(birthday=datetime.date(1990, 4, 5), consents={"sms": True})
    blocked = enrol(birthday=datetime.date(1991, 3, 9), consents={"sms": True})
    member_block(member=blocked, reason="Khóa")
    return [*with_sms, without]


def served(campaign: Campaign) -> set[int]:
    return set(CampaignDelivery.objects.filter(campaign=campaign).values_list("member_id", flat=True))


# --- What a run does --------------------------------------------------------------------------


def test_the_birthday_campaign_gives_the_voucher_and_the_message(birthday_campaign, march_members, bday20):
    run = campaign_run(campaign=birthday_campaign, as_of=MARCH_1)
    assert (run.status, run.period_key, run.trigger) == (CampaignRun.Status.DONE, str(MARCH_1.year), "manual")
    assert (run.audience_count, run.members_reached, run.members_skipped) == (3, 3, 0)
    assert (run.vouchers_issued, run.points_given, run.messages_queued) == (3, 0, 2)
    assert run.finished_at is not None
    assert served(birthday_campaign) == {m.pk for m in march_members}

    vouchers = Voucher.objects.filter(reward=bday20)
    assert {v.member_id for v in vouchers} == {m.pk for m in march_members}
    assert {v.channel for v in vouchers} == {Voucher.Channel.CAMPAIGN}
    # The vouchers' codes and expiry are the vouchers service's (tests/vouchers/test_bulk.py).
    assert {v.reference for v in vouchers} == {
        f"campaign:{birthday_campaign.pk}:{MARCH_1.year}:{m.pk}" for m in march_members
    }
    bday20.refresh_from_db()
    assert bday20.issued_count == 3

    messages = Message.objects.filter(event=Event.BIRTHDAY)
    assert messages.count() == 3
    pending = messages.exclude(status=Message.Status.SKIPPED)
    assert pending.count() == 2
    skipped = messages.get(status=Message.Status.SKIPPED)
    assert (skipped.member_id, skipped.skip_reason) == (march_members[2].pk, Message.SkipReason.NO_CONSENT)
    first = pending.get(member=march_members[0])
    code = vouchers.get(member=march_members[0]).code
    assert code in first.body and march_members[0].name in first.body
    assert first.marketing
    # The campaign's own message tells about the voucher: no separate "voucher issued" message.
    assert not Message.objects.filter(event=Event.VOUCHER_ISSUED).exists()


def test_running_twice_for_the_same_period_gives_nothing_twice(birthday_campaign, march_members):
    first = campaign_run(campaign=birthday_campaign, as_of=MARCH_1)
    again = campaign_run(campaign=birthday_campaign, as_of=MARCH_1)
    later_same_year = campaign_run(campaign=birthday_campaign, as_of=MARCH_2)
    for run in (again, later_same_year):
        assert (run.status, run.audience_count, run.members_reached) == (CampaignRun.Status.DONE, 3, 0)
        assert (run.vouchers_issued, run.messages_queued) == (0, 0)
        assert "3" in run.note
    assert Voucher.objects.count() == 3
    assert Message.objects.count() == 3
    assert CampaignDelivery.objects.count() == 3
    assert CampaignRun.objects.filter(campaign=birthday_campaign).count() == 3
    assert first.members_reached == 3
    next_year = campaign_run(campaign=birthday_campaign, as_of=NEXT_YEAR_MARCH_1)
    assert (next_year.period_key, next_year.members_reached, next_year.vouchers_issued) == (
        str(NEXT_YEAR_MARCH_1.year),
        3,
        3,
    )
    assert Voucher.objects.count() == 6


def test_a_member_who_joins_later_in_the_period_is_served_by_the_next_run(birthday_campaign, march_members):
    campaign_run(campaign=birthday_campaign, as_of=MARCH_1)
    newcomer = enrol(birthday=datetime.date(2000, 3, 20))
    run = campaign_run(campaign=birthday_campaign, as_of=MARCH_2)
    assert (run.audience_count, run.members_reached) == (4, 1)
    assert served(birthday_campaign) == {m.pk for m in march_members} | {newcomer.pk}


def test_once_per_run_and_once_ever(bday20, march_segment, march_members):
    per_run = make_campaign(code="PER-RUN", segment=march_segment, reward=bday20, once_per=Campaign.OncePer.RUN)
    ever = make_campaign(code="EVER", segment=march_segment, bonus_points=10, once_per=Campaign.OncePer.EVER)
    assert campaign_run(campaign=per_run, as_of=MARCH_1).members_reached == 3
    assert campaign_run(campaign=per_run, as_of=MARCH_1).members_reached == 0
    assert campaign_run(campaign=per_run, as_of=MARCH_2).members_reached == 3
    assert campaign_run(campaign=ever, as_of=MARCH_1).members_reached == 3
    assert campaign_run(campaign=ever, as_of=NEXT_YEAR_MARCH_1).members_reached == 0
    assert set(CampaignDelivery.objects.filter(campaign=ever).values_list("period_key", flat=True)) == {"ever"}


def test_bonus_points_go_through_the_ledger_once(march_members):
    group = group_create(name="Khách thân thiết")
    group_add_members(group=group, members=march_members[:2], source="admin")
    campaign = make_campaign(code="TANG-DIEM", group=group, bonus_points=50, once_per=Campaign.OncePer.YEAR)
    run = campaign_run(campaign=campaign, as_of=MARCH_1)
    assert (run.members_reached, run.points_given, run.vouchers_issued, run.messages_queued) == (2, 100, 0, 0)
    assert campaign_run(campaign=campaign, as_of=MARCH_2).points_given == 0
    entries = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.BONUS, cause_kind="campaign")
    assert entries.count() == 2
    member = Member.objects.get(pk=march_members[0].pk)
    assert member.points_balance == 50


def test_a_voucher_without_a_campaign_message_is_announced_as_issued(
    bday20, march_segment, march_members, voucher_templates
):
    campaign = make_campaign(code="CHI-VOUCHER", segment=march_segment, reward=bday20, once_per=Campaign.OncePer.YEAR)
    run = campaign_run(campaign=campaign, as_of=MARCH_1)
    assert run.vouchers_issued == 3
    announced = Message.objects.filter(event=Event.VOUCHER_ISSUED)
    assert announced.count() == 3
    assert not announced.filter(marketing=True).exists()
    voucher = Voucher.objects.get(member=march_members[0])
    assert announced.get(member=march_members[0]).dedupe_key == f"voucher-issued:{voucher.pk}"


def test_stock_runs_out_the_rest_are_not_claimed_and_a_later_run_serves_them(birthday_campaign, march_members, bday20):
    bday20.stock = 2
    reward_save(reward=bday20)
    run = campaign_run(campaign=birthday_campaign, as_of=MARCH_1)
    assert (run.members_reached, run.members_skipped, run.vouchers_issued) == (2, 1, 2)
    assert CampaignDelivery.objects.count() == 2
    assert Message.objects.count() == 2
    bday20.refresh_from_db()
    assert bday20.issued_count == 2
    bday20.stock = 10
    reward_save(reward=bday20)
    again = campaign_run(campaign=birthday_campaign, as_of=MARCH_1)
    assert (again.members_reached, again.vouchers_issued) == (1, 1)
    assert served(birthday_campaign) == {m.pk for m in march_members}


def test_the_rewards_per_member_limit_holds(birthday_campaign, march_members, bday20):
    bday20.limit_per_member = 1
    bday20.limit_period = Reward.LimitPeriod.EVER
    reward_save(reward=bday20)
    voucher_issue(reward=bday20, member=march_members[0], channel=Voucher.Channel.STAFF, reason="Tặng trước")
    run = campaign_run(campaign=birthday_campaign, as_of=MARCH_1)
    assert (run.members_reached, run.members_skipped, run.vouchers_issued) == (2, 1, 2)
    assert Voucher.objects.filter(member=march_members[0]).count() == 1


def test_a_reward_that_cannot_be_issued_fails_the_run_and_writes_nothing_for_it(
    birthday_campaign, march_members, bday20
):
    Reward.objects.filter(pk=bday20.pk).update(active_until=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    run = campaign_run(campaign=birthday_campaign, as_of=MARCH_1)
    assert run.status == CampaignRun.Status.FAILED
    assert "BDAY20" in run.note
    assert not CampaignDelivery.objects.exists()
    assert not Voucher.objects.exists()
    assert not Message.objects.exists()


@override_settings(NOTIFICATIONS_MARKETING_DAILY_CAP=1)
def test_the_daily_marketing_cap_holds_across_campaigns(bday20, birthday_templates, march_segment, march_members):
    one = make_campaign(code="MOT", segment=march_segment, reward=bday20, notification_event=Event.BIRTHDAY)
    two = make_campaign(code="HAI", segment=march_segment, reward=bday20, notification_event=Event.BIRTHDAY)
    assert campaign_run(campaign=one, as_of=MARCH_1).messages_queued == 2
    assert campaign_run(campaign=two, as_of=MARCH_1).messages_queued == 0
    capped = Message.objects.filter(skip_reason=Message.SkipReason.DAILY_CAP)
    assert capped.count() == 2


# --- Refusals ---------------------------------------------------------------------------------


def test_an_inactive_campaign_is_refused_and_nothing_is_written(bday20, march_segment, march_members):
    campaign = make_campaign(code="CHUA-BAT", segment=march_segment, reward=bday20, activate=False)
    with pytest.raises(CampaignInactive):
        campaign_run(campaign=campaign, as_of=MARCH_1)
    assert not CampaignRun.objects.exists()
    assert not CampaignDelivery.objects.exists()
    assert not Voucher.objects.exists()


def test_a_future_day_is_refused(birthday_campaign):
    with pytest.raises(ValidationFailed):
        campaign_run(campaign=birthday_campaign, as_of=audience_today() + datetime.timedelta(days=1))
    assert not CampaignRun.objects.exists()


def test_a_campaign_needs_one_audience_and_something_to_give(bday20, march_segment):
    group = group_create(name="Nhóm")
    with pytest.raises(ValidationFailed) as both:
        campaign_save(campaign=Campaign(code="HAI-NHOM", name="x", segment=march_segment, group=group, reward=bday20))
    assert "segment" in both.value.errors
    with pytest.raises(ValidationFailed) as nothing:
        campaign_save(campaign=Campaign(code="KHONG-GI", name="x", segment=march_segment))
    assert "reward" in nothing.value.errors
    with pytest.raises(ValidationFailed):
        campaign_save(campaign=Campaign(code="SAI-SU-KIEN", name="x", segment=march_segment, notification_event="x"))
    assert not Campaign.objects.exists()
    assert not PeriodicTask.objects.filter(task="campaigns.run_campaign").exists()


# --- The schedule in django-celery-beat -------------------------------------------------------


def test_a_recurring_campaign_has_a_crontab_task_enabled_only_while_active(bday20, march_segment):
    campaign = make_campaign(
        code="HANG-THANG",
        segment=march_segment,
        reward=bday20,
        schedule=Campaign.Schedule.RECURRING,
        cron_minute="0",
        cron_hour="8",
        cron_day_of_month="1",
        activate=False,
    )
    task = PeriodicTask.objects.get(name="campaign: HANG-THANG")
    assert (task.task, json.loads(task.kwargs), task.enabled) == (
        "campaigns.run_campaign",
        {"campaign_id": campaign.pk},
        False,
    )
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_month) == ("0", "8", "1")
    assert str(task.crontab.timezone) == "Asia/Ho_Chi_Minh"
    campaign_activate(campaign=campaign)
    task.refresh_from_db()
    assert task.enabled
    campaign.cron_hour = "9"
    campaign_save(campaign=campaign)
    task.refresh_from_db()
    assert task.crontab.hour == "9" and task.enabled
    campaign_deactivate(campaign=campaign)
    task.refresh_from_db()
    assert not task.enabled
    campaign.schedule = Campaign.Schedule.MANUAL
    campaign_save(campaign=campaign)
    assert not PeriodicTask.objects.filter(name="campaign: HANG-THANG").exists()


def test_a_one_off_campaign_gets_a_clocked_task_and_cannot_be_activated_in_the_past(bday20, march_segment):
    from django.utils import timezone

    soon = timezone.now() + datetime.timedelta(days=2)
    make_campaign(code="MOT-LAN", segment=march_segment, reward=bday20, schedule="once", run_at=soon)
    task = PeriodicTask.objects.get(name="campaign: MOT-LAN")
    assert task.one_off and task.clocked.clocked_time == soon and task.enabled
    past = make_campaign(
        code="QUA-GIO", segment=march_segment, reward=bday20, schedule="once",
        run_at=timezone.now() - datetime.timedelta(hours=1), activate=False,
    )  # fmt: skip
    with pytest.raises(ValidationFailed):
        campaign_activate(campaign=past)
    past.refresh_from_db()
    assert not past.is_active
    assert not PeriodicTask.objects.get(name="campaign: QUA-GIO").enabled


def test_the_task_runs_an_active_campaign_and_leaves_an_inactive_one(birthday_campaign, march_members):
    assert run_campaign(birthday_campaign.pk, MARCH_1.isoformat())["members_reached"] == 3
    assert CampaignRun.objects.get().trigger == CampaignRun.Trigger.SCHEDULE
    campaign_deactivate(campaign=birthday_campaign)
    assert run_campaign(birthday_campaign.pk, MARCH_2.isoformat()) == {"run": None}
    assert CampaignRun.objects.count() == 1


# --- By hand ----------------------------------------------------------------------------------


def test_the_run_campaign_command(birthday_campaign, march_members, capsys):
    call_command("run_campaign", "BIRTHDAY-MONTHLY", "--as-of", MARCH_1.isoformat())
    first = capsys.readouterr().out
    assert "BIRTHDAY-MONTHLY" in first and "3" in first
    call_command("run_campaign", "birthday-monthly", "--as-of", MARCH_1.isoformat())
    assert Voucher.objects.count() == 3
    assert [r.members_reached for r in CampaignRun.objects.order_by("pk")] == [3, 0]
    with pytest.raises(CommandError):
        call_command("run_campaign", "NO-SUCH-CAMPAIGN")
    with pytest.raises(CommandError):
        call_command("run_campaign", "BIRTHDAY-MONTHLY", "--as-of", "01/03/2024")
    campaign_deactivate(campaign=birthday_campaign)
    with pytest.raises(CommandError):
        call_command("run_campaign", "BIRTHDAY-MONTHLY")
    assert CampaignRun.objects.count() == 2


def test_runs_by_two_workers_at_once_serve_each_member_once(
    transactional_db, bday20, birthday_templates, march_segment
):
    members = [enrol(birthday=datetime.date(1990, 3, 1 + i % 28), consents={"sms": True}) for i in range(30)]
    campaign = make_campaign(code="SONG-SONG", segment=march_segment, reward=bday20,
                             notification_event=Event.BIRTHDAY, once_per=Campaign.OncePer.YEAR)  # fmt: skip

    def work(index: int):
        return campaign_run(campaign=Campaign.objects.get(pk=campaign.pk), as_of=MARCH_1, chunk_span=7)

    results = run_in_threads(2, work)
    assert all(isinstance(r, CampaignRun) for r in results), results
    assert sum(r.members_reached for r in results) == len(members)
    assert CampaignDelivery.objects.filter(campaign=campaign).count() == len(members)
    assert Voucher.objects.filter(reward=bday20).count() == len(members)
    assert Message.objects.filter(event=Event.BIRTHDAY).count() == len(members)


# --- The test send ----------------------------------------------------------------------------


def test_a_test_goes_to_one_member_and_gives_nothing(birthday_campaign, superuser):
    staff_member = enrol(name="Nhân Viên Marketing")  # no marketing consent: a test goes anyway
    run = campaign_send_test(campaign=birthday_campaign, member=staff_member, by=superuser)
    assert (run.trigger, run.messages_queued, run.members_reached) == (CampaignRun.Trigger.TEST, 1, 1)
    message = Message.objects.get(member=staff_member)
    assert "TEST-0000" in message.body and message.status != Message.Status.SKIPPED
    assert not Voucher.objects.exists()
    assert not CampaignDelivery.objects.exists()


def test_a_campaign_without_a_message_has_nothing_to_test(march_segment):
    campaign = make_campaign(code="DIEM", segment=march_segment, bonus_points=5)
    with pytest.raises(ValidationFailed):
        campaign_send_test(campaign=campaign, member=enrol())
    assert not CampaignRun.objects.exists()
    assert not Message.objects.exists()


# --- Admin ------------------------------------------------------------------------------------


def test_admin_previews_the_audience_before_activating(client, superuser, bday20, birthday_templates):
    segment = Segment.objects.create(name="Sinh nhật tháng này", birthday_month="current")
    enrol(name="Đỗ Thị Tháng Này", birthday=datetime.date(1990, audience_today().month, 1))
    enrol(name="Đỗ Văn Tháng Khác", birthday=datetime.date(1990, audience_today().month % 12 + 1, 1))
    campaign = make_campaign(code="BDAY", segment=segment, reward=bday20, notification_event="birthday", activate=False)
    client.force_login(superuser)
    change = client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "Đỗ Thị Tháng Này" in change and "Đỗ Văn Tháng Khác" not in change
    preview = client.get(reverse("admin:campaigns_campaign_activate", args=[campaign.pk]))
    assert preview.status_code == 200
    assert preview.context["count"] == 1
    campaign.refresh_from_db()
    assert not campaign.is_active  # looking changes nothing
    client.post(reverse("admin:campaigns_campaign_activate", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.is_active and campaign.activated_by == superuser


def test_admin_runs_by_hand_and_shows_the_history(
    client, superuser, birthday_campaign, march_members, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    url = reverse("admin:campaigns_campaign_run", args=[birthday_campaign.pk])
    page = client.get(url, {"as_of": MARCH_1.isoformat()})
    assert page.status_code == 200 and page.context["count"] == 3 and page.context["already"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"as_of": MARCH_1.isoformat(), "confirm": "yes"})
    run = CampaignRun.objects.get()
    assert (run.trigger, run.started_by, run.members_reached) == (CampaignRun.Trigger.MANUAL, superuser, 3)
    change = client.get(reverse("admin:campaigns_campaign_change", args=[birthday_campaign.pk])).content.decode()
    assert "campaigns/campaignrun/?campaign__id__exact=" in change
    runs = client.get(reverse("admin:campaigns_campaignrun_changelist")).content.decode()
    assert "BIRTHDAY-MONTHLY" in runs
    assert client.get(reverse("admin:campaigns_campaigndelivery_changelist")).status_code == 200
    assert client.get(reverse("admin:campaigns_campaign_changelist")).status_code == 200


def test_admin_sends_a_test_to_a_staff_member(client, superuser, birthday_campaign):
    member = enrol(phone="0903111222")
    client.force_login(superuser)
    url = reverse("admin:campaigns_campaign_test", args=[birthday_campaign.pk])
    assert client.get(url).status_code == 200
    unknown = client.post(url, {"phone": "0900000009"})
    assert unknown.status_code == 200 and not Message.objects.exists()
    client.post(url, {"phone": "0903 111 222"})
    assert Message.objects.filter(member=member).count() == 1


def test_admin_pages_need_the_rights(client, staff, birthday_campaign):
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(staff)
    assert client.get(reverse("admin:campaigns_campaign_run", args=[birthday_campaign.pk])).status_code == 403
    assert client.get(reverse("admin:campaigns_campaign_test", args=[birthday_campaign.pk])).status_code == 403
    assert client.post(reverse("admin:campaigns_campaign_activate", args=[birthday_campaign.pk])).status_code == 403


def test_period_keys():
    campaign = Campaign(code="X", once_per=Campaign.OncePer.RUN)
    assert campaign.period_key(as_of=datetime.date(2025, 3, 1)) == "2025-03-01"
    campaign.once_per = Campaign.OncePer.YEAR
    assert campaign.period_key(as_of=datetime.date(2025, 3, 1)) == "2025"
    campaign.once_per = Campaign.OncePer.EVER
    assert campaign.period_key(as_of=datetime.date(2025, 3, 1)) == "ever"


# --- The bulk writers agree with the per-member services --------------------------------------


def test_bulk_messages_match_message_enqueue_field_for_field(birthday_templates):
    """The campaign run's messages come from `notifications.services.messages_enqueue_bulk`,
    called as `_serve` calls it (a queryset of members, one key for the period); its rows are
    those of `message_enqueue` (every rule is compared in tests/notifications/test_enqueue_bulk.py)."""
    from django.utils import timezone

    from notifications.services import message_enqueue, messages_enqueue_bulk

    one = enrol(name="Lý Thị Một", consents={"sms": True})
    two = enrol(name="Lý Thị Hai", consents={"sms": True})
    no_consent = enrol(name="Lý Văn Ba")
    now = timezone.now()
    context = {"voucher_code": "ABCD-EFGH", "voucher_name": "Quà", "voucher_expires_at": datetime.date(2030, 1, 31)}
    message_enqueue(member=one, event=Event.BIRTHDAY, context=context, dedupe_key="k", now=now)
    message_enqueue(member=no_consent, event=Event.BIRTHDAY, context=context, dedupe_key="k", now=now)
    result = messages_enqueue_bulk(
        members=Member.objects.filter(pk__in=[two.pk, no_consent.pk]),
        event=Event.BIRTHDAY,
        context_for=lambda _member_id, _language: context,
        dedupe_key="k",
        now=now,
    )
    assert (result.pending, result.skipped, result.existing) == (1, 0, 1)
    fields = ["event", "channel", "language", "template_id", "marketing", "subject", "status", "skip_reason",
              "skip_detail", "scheduled_at", "queued_at", "dedupe_key", "zns_template_id", "zns_params", "attempts",
              "claimed_at", "sent_at", "provider_message_id", "last_error"]  # fmt: skip
    by_service = Message.objects.filter(member=one).values(*fields).get()
    by_bulk = Message.objects.filter(member=two).values(*fields, "body", "recipient").get()

    # The same text but each member's own unsubscribe link (an SMS for marketing carries one).
    def link_blanked(body):
        return re.sub(r"/m/unsubscribe/\S+", "/m/unsubscribe/<token>", body)

    assert "/m/unsubscribe/" in by_bulk["body"]
    assert link_blanked(by_bulk.pop("body")) == link_blanked(
        Message.objects.get(member=one).body.replace("Lý Thị Một", "Lý Thị Hai")
    )
    assert by_bulk.pop("recipient") == two.phone
    assert by_bulk == by_service
    assert Message.objects.filter(member=no_consent).count() == 1  # the same key wrote nothing new


def test_side_by_side_ranges_keep_the_stock_and_withdraw_the_messages_of_those_refused(
    transactional_db, bday20, birthday_templates, march_segment
):
    bday20.stock = 4
    reward_save(reward=bday20)
    members = [enrol(birthday=datetime.date(1990, 3, 1 + i), consents={"sms": True}) for i in range(9)]
    campaign = make_campaign(code="IT-QUA", segment=march_segment, reward=bday20,
                             notification_event=Event.BIRTHDAY, once_per=Campaign.OncePer.YEAR)  # fmt: skip
    run = campaign_run(campaign=campaign, as_of=MARCH_1, chunk_span=2, workers=2)
    assert (run.status, run.members_reached, run.members_skipped, run.vouchers_issued) == ("done", 4, 5, 4)
    served_ids = served(campaign)
    assert len(served_ids) == 4
    assert set(Voucher.objects.values_list("member_id", flat=True)) == served_ids
    assert set(Message.objects.values_list("member_id", flat=True)) == served_ids
    assert run.messages_queued == 4
    bday20.refresh_from_db()
    assert bday20.issued_count == 4
    assert len(members) == 9


def test_batches_queued_under_the_task_name_used_before_the_move_are_still_sent(monkeypatch):
    from celery import current_app

    import campaigns.runs.tasks  # noqa: F401 -- registers the tasks, as the worker's autodiscovery does
    from notifications import tasks as notification_tasks

    sent = []
    monkeypatch.setattr(notification_tasks, "message_send", lambda *, message_id: sent.append(message_id))
    # What a worker does with a message from the broker: look the name up, run the task.
    current_app.tasks["campaigns.send_messages"].apply(args=[[3, 5]]).get()
    assert sent == [3, 5]
