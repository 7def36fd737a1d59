"""The points-expiring reminder: who is reminded, with what, and that running it again (or
concurrently) sends nothing twice."""

import datetime
import re
from io import StringIO

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.services import points_earn
from notifications.models import Message
from notifications.services import expiry_reminders_enqueue, member_preference_set
from notifications.tasks import send_expiry_reminders
from tests.notifications.helpers import VN, enrol, make_template

pytestmark = pytest.mark.django_db


def _today() -> datetime.date:
    return timezone.localdate(timezone.now(), VN)


def _earn(member, points: int, *, last_day: datetime.date, ref: str) -> None:
    """Credit points whose last usable day is `last_day` (the demo policy: 12 months after
    earning), through the ledger service."""
    earned_on = last_day - relativedelta(months=12)
    points_earn(
        member=member,
        points=points,
        reference=f"test:{ref}",
        occurred_at=datetime.datetime.combine(earned_on, datetime.time(12), tzinfo=VN),
    )


@pytest.fixture
def templates():
    make_template(
        event="points-expiring",
        channel="email",
        subject="{expiring_points} điểm sắp hết hạn",
        body="{member_name}: {expiring_points} điểm, hạn {expiry_date}",
    )
    make_template(
        event="points-expiring",
        language="en",
        channel="email",
        subject="{expiring_points} points expire",
        body="{member_name}: {expiring_points} points, first on {expiry_date}",
    )


def test_members_with_points_expiring_within_30_days_get_one_reminder(templates):
    today = _today()
    soon = enrol(name="Ngô Bảo Ngọc", email="ngoc@example.vn")
    _earn(soon, 120, last_day=today + datetime.timedelta(days=10), ref="soon-1")
    _earn(soon, 30, last_day=today + datetime.timedelta(days=25), ref="soon-2")
    _earn(soon, 999, last_day=today + datetime.timedelta(days=45), ref="soon-3")  # later: not counted
    last_chance = enrol(name="Mai Anh Tuấn", email="tuan@example.vn")
    _earn(last_chance, 40, last_day=today, ref="today")  # usable through today: still reminded
    member_preference_set(member=last_chance, language="en")
    later = enrol(name="Không Nhắc", email="later@example.vn")
    _earn(later, 500, last_day=today + datetime.timedelta(days=31), ref="later")

    result = expiry_reminders_enqueue()

    assert (result.members, result.messages) == (2, 2)
    first_day = today + datetime.timedelta(days=10)
    reminder = Message.objects.get(member=soon)
    assert (reminder.event, reminder.status, reminder.channel) == ("points-expiring", "pending", "email")
    assert reminder.subject == "150 điểm sắp hết hạn"
    assert reminder.body == f"Ngô Bảo Ngọc: 150 điểm, hạn {first_day:%d/%m/%Y}"
    assert reminder.dedupe_key == f"points-expiring:{first_day.isoformat()}"
    english = Message.objects.get(member=last_chance)
    assert english.subject == "40 points expire" and english.language == "en"
    assert not Message.objects.filter(member=later).exists()


def test_running_it_again_the_same_day_sends_nothing_twice(templates):
    member = enrol()
    _earn(member, 50, last_day=_today() + datetime.timedelta(days=3), ref="a")
    assert expiry_reminders_enqueue().messages == 1
    assert expiry_reminders_enqueue().messages == 0
    send_expiry_reminders.delay()  # the scheduled task (eager here)
    call_command("send_expiry_reminders", "--as-of", _today().isoformat(), stdout=StringIO())
    assert Message.objects.count() == 1


def test_the_dedupe_key_holds_even_when_the_interval_has_passed(templates, settings):
    """Reminded 30+ days ago about the same first expiry day (e.g. the window was widened):
    the dedupe key still refuses a second message for that day."""
    member = enrol()
    day = _today() + datetime.timedelta(days=5)
    _earn(member, 50, last_day=day, ref="a")
    assert expiry_reminders_enqueue().messages == 1
    Message.objects.update(created_at=timezone.now() - datetime.timedelta(days=40))
    assert expiry_reminders_enqueue().messages == 1  # returned, not created
    assert Message.objects.count() == 1


def test_a_member_reminded_recently_is_not_reminded_daily(templates):
    member = enrol()
    today = _today()
    _earn(member, 10, last_day=today + datetime.timedelta(days=1), ref="d1")
    _earn(member, 10, last_day=today + datetime.timedelta(days=2), ref="d2")
    assert expiry_reminders_enqueue().messages == 1
    # Tomorrow the first lot is gone and the next one is first: no new reminder within 30 days.
    Message.objects.update(created_at=timezone.now() - datetime.timedelta(days=1))
    assert expiry_reminders_enqueue().messages == 0


def test_the_query_is_set_based(templates):
    """Members without expiring points cost no query: only the matching members are visited."""
    today = _today()
    for i in range(15):
        _earn(enrol(), 10, last_day=today + datetime.timedelta(days=200), ref=f"far-{i}")
    with CaptureQueriesContext(connection) as empty_run:
        assert expiry_reminders_enqueue().messages == 0
    assert len(empty_run) <= 2


def test_a_future_day_is_refused_and_nothing_is_written(templates):
    member = enrol()
    _earn(member, 50, last_day=_today() + datetime.timedelta(days=3), ref="a")
    tomorrow = (_today() + datetime.timedelta(days=1)).isoformat()
    with pytest.raises(CommandError):
        call_command("send_expiry_reminders", "--as-of", tomorrow, stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("send_expiry_reminders", "--as-of", "31/12/2025", stdout=StringIO())
    assert not Message.objects.exists()


def test_the_command_reports_what_it_did(templates):
    member = enrol()
    _earn(member, 50, last_day=_today() + datetime.timedelta(days=3), ref="a")
    out = StringIO()
    call_command("send_expiry_reminders", stdout=out)
    assert re.search(r"\b1\b\D+\b1\b", out.getvalue())
    assert Message.objects.count() == 1
