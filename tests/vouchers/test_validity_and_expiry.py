"""When vouchers expire (N days / a fixed date / the end of the month of issue, in
Asia/Ho_Chi_Minh), and the nightly expiry: service, command, task and schedule."""

import contextlib
import datetime
import zoneinfo
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.schedules import declared_schedules
from tests.vouchers.factories import RewardFactory
from tests.vouchers.helpers import written_state
from vouchers.models import Reward, Voucher
from vouchers.selectors import voucher_expires_at
from vouchers.services import voucher_issue, voucher_use, voucher_void, vouchers_expire
from vouchers.tasks import expire_vouchers

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def at_hcm(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=HCM)


def midnight_hcm(year, month, day) -> datetime.datetime:
    return at_hcm(year, month, day, 0, 0)


# --- Validity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issued_at", "expires_at"),
    [
        # Issued on 1 March: usable through 31 March, gone at the midnight that starts 1 April.
        (at_hcm(2025, 3, 1, 9, 0), midnight_hcm(2025, 4, 1)),
        # 23:30 on 31 January in Hà Nội is 16:30 UTC: the local day counts.
        (at_hcm(2025, 1, 31, 23, 30), midnight_hcm(2025, 3, 3)),
        # 00:30 local on 1 February is still 31 January in UTC: still the local day.
        (at_hcm(2025, 2, 1, 0, 30), midnight_hcm(2025, 3, 4)),
    ],
)
def test_n_days_after_issue(issued_at, expires_at):
    reward = Reward(validity=Reward.Validity.DAYS, validity_days=30)
    assert voucher_expires_at(reward=reward, issued_at=issued_at.astimezone(datetime.UTC), zone=HCM) == expires_at


def test_fixed_date():
    reward = Reward(validity=Reward.Validity.FIXED_DATE, valid_until=datetime.date(2025, 12, 31))
    assert voucher_expires_at(reward=reward, issued_at=at_hcm(2025, 6, 1, 10), zone=HCM) == midnight_hcm(2026, 1, 1)


@pytest.mark.parametrize(
    ("issued_at", "expires_at"),
    [
        (at_hcm(2025, 2, 10, 8), midnight_hcm(2025, 3, 1)),
        (at_hcm(2024, 2, 29, 23, 59), midnight_hcm(2024, 3, 1)),
        (at_hcm(2025, 12, 1, 0, 1), midnight_hcm(2026, 1, 1)),
        # 1 June 01:00 in Hà Nội is 31 May 18:00 UTC: the month of issue is June.
        (at_hcm(2025, 6, 1, 1, 0), midnight_hcm(2025, 7, 1)),
    ],
)
def test_end_of_the_month_of_issue(issued_at, expires_at):
    reward = Reward(validity=Reward.Validity.END_OF_MONTH)
    assert voucher_expires_at(reward=reward, issued_at=issued_at.astimezone(datetime.UTC), zone=HCM) == expires_at


@pytest.mark.django_db
def test_issued_vouchers_carry_their_expiry(member, pho_store):
    voucher = voucher_issue(
        reward=RewardFactory(validity_days=14), member=member, channel=Voucher.Channel.CAMPAIGN, store=pho_store
    )
    issued_on = timezone.localtime(voucher.issued_at, HCM).date()
    assert voucher.expires_at == midnight_hcm(*(issued_on + datetime.timedelta(days=15)).timetuple()[:3])


# --- Expiry -------------------------------------------------------------------------------------


@contextlib.contextmanager
def monkeypatch_now(moment):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        yield


def issued_on(monkeypatch, member, reward, moment):
    monkeypatch.setattr(timezone, "now", lambda: moment)
    voucher = voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN)
    monkeypatch.undo()
    return voucher


@pytest.fixture
def three_vouchers(monkeypatch, member):
    """Issued 28 Feb, 1 and 2 March 2025, valid 10 days: expiring at the start of 11, 12 and 13
    March."""
    reward = RewardFactory(validity_days=10)
    return [
        issued_on(monkeypatch, member, reward, at_hcm(2025, 2, 28, 12)),
        issued_on(monkeypatch, member, reward, at_hcm(2025, 3, 1, 12)),
        issued_on(monkeypatch, member, reward, at_hcm(2025, 3, 2, 12)),
    ]


@pytest.mark.django_db
def test_expiry_marks_what_is_past_and_is_idempotent(three_vouchers):
    first = three_vouchers[0]
    assert first.expires_at == midnight_hcm(2025, 3, 11)
    assert vouchers_expire(as_of=datetime.date(2025, 3, 10)) == 0
    assert vouchers_expire(as_of=datetime.date(2025, 3, 12)) == 2
    assert list(Voucher.objects.order_by("issued_at").values_list("status", flat=True)) == [
        "expired",
        "expired",
        "issued",
    ]
    before = written_state()
    assert vouchers_expire(as_of=datetime.date(2025, 3, 12)) == 0
    assert written_state() == before


@pytest.mark.django_db
def test_used_and_void_vouchers_are_left_alone(three_vouchers, pho_store):
    first, second, _third = three_vouchers
    voucher_use(voucher=first, store=pho_store, sale_reference="sale:1", at=at_hcm(2025, 3, 5, 12))
    with monkeypatch_now(at_hcm(2025, 3, 5, 12)):
        voucher_void(voucher=second, by=None, reason="Nhầm")
    assert vouchers_expire(as_of=datetime.date(2025, 3, 20)) == 1
    assert list(Voucher.objects.order_by("issued_at").values_list("status", flat=True)) == ["used", "void", "expired"]


@pytest.mark.django_db
def test_a_future_day_is_refused(three_vouchers):
    before = written_state()
    with pytest.raises(ValidationFailed):
        vouchers_expire(as_of=timezone.localdate() + datetime.timedelta(days=1))
    assert written_state() == before


@pytest.mark.django_db
def test_the_command_and_its_as_of(three_vouchers):
    out = StringIO()
    call_command("expire_vouchers", "--as-of", "2025-03-12", stdout=out)
    assert "2" in out.getvalue()
    out = StringIO()
    call_command("expire_vouchers", "--as-of", "2025-03-12", stdout=out)
    assert "0" in out.getvalue()
    call_command("expire_vouchers", stdout=StringIO())
    assert not Voucher.objects.filter(status="issued").exists()
    with pytest.raises(CommandError):
        call_command("expire_vouchers", "--as-of", "12/03/2025")


@pytest.mark.django_db
def test_the_task_calls_the_service(three_vouchers):
    assert expire_vouchers("2025-03-12") == 2
    assert expire_vouchers("2025-03-12") == 0
    assert expire_vouchers() == 1


def test_a_daily_schedule_is_declared():
    schedule = next(s for s in declared_schedules() if s.task == "vouchers.expire_vouchers")
    assert (schedule.minute, schedule.hour, schedule.day_of_week, schedule.day_of_month) == ("10", "0", "*", "*")
