"""Commands, the daily task and its schedule, the programme settings and the demo members."""

import datetime
import re
import zoneinfo
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django_celery_beat.models import PeriodicTask

from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.schedules import declared_schedules, schedules_sync
from members.demo import MEMBER_COUNT, demo_members_load
from members.models import LedgerEntry, Member, PointLot, ProgrammeSettings
from members.selectors import PROGRAMME_SETTINGS_CACHE_KEY, ledger_drift, programme_settings_get
from members.services import points_earn, points_spend, programme_settings_update
from members.tasks import expire_points
from stores.demo import demo_stores_load
from tests.factories import MemberFactory
from tests.members.helpers import days_ago, written_state

pytestmark = pytest.mark.django_db
HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- expire_points ----------------------------------------------------------------------------


def test_expire_points_expires_what_is_due_and_a_second_run_the_same_day_nothing():
    member = MemberFactory()
    points_earn(member=member, points=30, reference="old", occurred_at=days_ago(400))
    points_earn(member=member, points=12, reference="new", occurred_at=days_ago(3))
    assert "30" in run("expire_points")
    assert Member.objects.get(pk=member.pk).points_balance == 12
    before = written_state()
    output = run("expire_points")
    assert set(re.findall(r"\d+", output)) == {"0"}  # nothing expired, whatever the language
    assert written_state() == before


def test_expire_points_as_of_a_past_day_and_refusals():
    member = MemberFactory()
    points_earn(member=member, points=30, reference="a", occurred_at=days_ago(400))
    points_earn(member=member, points=20, reference="b", occurred_at=days_ago(367))
    day = (datetime.datetime.now(HCM) - datetime.timedelta(days=20)).date()
    run("expire_points", "--as-of", day.isoformat())
    assert Member.objects.get(pk=member.pk).points_balance == 20
    before = written_state()
    with pytest.raises(CommandError):
        run("expire_points", "--as-of", "31/12/2025")
    with pytest.raises(CommandError):
        run("expire_points", "--as-of", (datetime.datetime.now(HCM) + datetime.timedelta(days=2)).date().isoformat())
    assert written_state() == before


def test_the_daily_task_calls_the_same_service_and_is_idempotent():
    member = MemberFactory()
    points_earn(member=member, points=30, reference="old", occurred_at=days_ago(400))
    assert expire_points() == {"members": 1, "lots": 1, "points": 30}
    assert expire_points() == {"members": 0, "lots": 0, "points": 0}
    assert expire_points.delay(datetime.date.today().isoformat()).get() == {"members": 0, "lots": 0, "points": 0}


def test_the_expiry_is_scheduled_daily_and_a_switch_off_survives_a_sync():
    assert any(s.task == "members.expire_points" for s in declared_schedules())
    schedules_sync()
    task = PeriodicTask.objects.get(task="members.expire_points")
    assert (task.crontab.hour, task.crontab.minute) == ("0", "5")
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)
    schedules_sync()
    assert not PeriodicTask.objects.get(pk=task.pk).enabled


# --- check_ledger -----------------------------------------------------------------------------


def test_check_ledger_is_clean_on_a_consistent_ledger():
    member = MemberFactory(points=100)
    points_spend(member=member, points=30, reference="s")
    assert "consistent" in run("check_ledger") or "nhất quán" in run("check_ledger")


def test_check_ledger_finds_a_balance_drift_made_behind_the_service_s_back():
    member = MemberFactory(points=100)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Member._meta.db_table} SET points_balance = points_balance + 7 WHERE id = %s", [member.pk]
        )
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("check_ledger", stdout=out)
    assert "1" in str(exc.value)
    assert "107" in out.getvalue() and "100" in out.getvalue()
    drift = ledger_drift()
    assert [(d.what, d.object_id, d.cached, d.expected) for d in drift] == [("balance", member.pk, 107, 100)]


def test_check_ledger_finds_a_lot_drift():
    member = MemberFactory(points=100)
    lot = PointLot.objects.get(member=member)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {PointLot._meta.db_table} SET remaining = 60 WHERE id = %s", [lot.pk])
    drift = ledger_drift()
    assert ("lot", lot.pk, 60, 100) in [(d.what, d.object_id, d.cached, d.expected) for d in drift]
    with pytest.raises(CommandError):
        run("check_ledger")


def test_call_command_exit_status_is_non_zero_on_drift(capsys):
    member = MemberFactory(points=5)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Member._meta.db_table} SET points_balance = 9 WHERE id = %s", [member.pk])
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as exc:
        ManagementUtility(["manage.py", "check_ledger"]).execute()
    assert exc.value.code != 0


# --- Programme settings -----------------------------------------------------------------------


def test_programme_settings_are_one_row_with_the_documented_defaults():
    programme = programme_settings_get()
    assert programme.pk == 1
    assert (programme.point_value, programme.rounding_mode) == (1000, "half_up")
    assert (programme.expiry_policy, programme.expiry_months) == ("months_after_earning", 12)
    assert (programme.pending_days, programme.backdating_limit_days) == (0, 7)
    assert programme.clawback_policy == "allow_negative"
    assert ProgrammeSettings.objects.count() == 1


def test_updating_the_settings_refreshes_the_cached_copy(django_user_model, django_capture_on_commit_callbacks):
    staff = django_user_model.objects.create_user("boss")
    with django_capture_on_commit_callbacks(execute=True):
        programme_settings_get()
    assert cache.get(PROGRAMME_SETTINGS_CACHE_KEY).pending_days == 0
    with django_capture_on_commit_callbacks(execute=True):
        programme_settings_update(data={"pending_days": 2, "point_value": "500"}, updated_by=staff)
    assert cache.get(PROGRAMME_SETTINGS_CACHE_KEY) is None
    programme = programme_settings_get()
    assert (programme.pending_days, programme.point_value, programme.updated_by) == (2, 500, staff)


def test_settings_read_in_a_transaction_that_rolls_back_are_never_cached(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        programme_settings_update(data={"pending_days": 5})
        assert programme_settings_get().pending_days == 5
    # The test's transaction never commits: nothing was cached for other requests.
    assert cache.get(PROGRAMME_SETTINGS_CACHE_KEY) is None
    assert callbacks


def test_invalid_settings_are_refused_and_nothing_changes():
    with pytest.raises(ValidationFailed) as exc:
        programme_settings_update(data={"point_value": "0", "expiry_months": 0, "rounding_mode": "sideways"})
    assert set(exc.value.errors) >= {"point_value", "expiry_months", "rounding_mode"}
    assert programme_settings_get(fresh=True).point_value == 1000
    with pytest.raises(ValueError):
        programme_settings_update(data={"points_balance": 5})


def test_a_policy_change_applies_to_points_earned_from_then_on():
    member = MemberFactory()
    before = points_earn(member=member, points=10, reference="before")
    programme_settings_update(data={"expiry_policy": "never"})
    after = points_earn(member=member, points=10, reference="after")
    assert PointLot.objects.get(entry=before).expires_at is not None
    assert PointLot.objects.get(entry=after).expires_at is None


# --- Demo -------------------------------------------------------------------------------------


def test_demo_members_are_vietnamese_deterministic_and_loaded_once():
    demo_stores_load()
    assert demo_members_load() == MEMBER_COUNT
    members = Member.objects.all()
    assert members.count() == MEMBER_COUNT
    today = datetime.date.today()
    assert members.filter(birthday__month=today.month).count() >= 10
    assert members.filter(name__startswith="Nguyễn").exists()
    assert all(m.phone.startswith("+84") for m in members)
    assert members.filter(cards__isnull=False).count() > 50
    assert members.filter(referred_by__isnull=False).exists()
    assert members.filter(home_store__code="CAFE-DN01").exists()
    assert LedgerEntry.objects.filter(reference__startswith="demo:opening:").count() == MEMBER_COUNT // 4
    assert ledger_drift() == []
    programme = programme_settings_get(fresh=True)
    assert (programme.point_value, programme.rounding_mode, programme.expiry_months) == (1000, "half_up", 12)
    snapshot = sorted(members.values_list("code", "phone", "name", "birthday"))

    before = written_state()
    assert demo_members_load() == 0
    assert written_state() == before
    assert sorted(Member.objects.values_list("code", "phone", "name", "birthday")) == snapshot


def test_demo_keeps_settings_an_operator_has_edited():
    programme_settings_update(data={"point_value": "2000", "pending_days": 1})
    demo_members_load()
    programme = programme_settings_get(fresh=True)
    assert (programme.point_value, programme.pending_days) == (2000, 1)
