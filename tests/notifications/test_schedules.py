"""The periodic jobs are declared in code, point at registered tasks, and can be run by hand."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from loyalty_site.celery import app as celery_app
from loyalty_site.core.schedules import schedules_sync
from notifications.models import Message
from notifications.schedules import SCHEDULES
from notifications.services import message_enqueue
from tests.notifications.helpers import enrol, make_template, vn


@pytest.mark.django_db
def test_the_sweeper_and_the_reminder_are_scheduled_with_registered_tasks():
    schedules_sync()
    celery_app.loader.import_default_modules()
    for schedule in SCHEDULES:
        task = PeriodicTask.objects.get(name=schedule.name)
        assert task.task == schedule.task
        assert schedule.task in celery_app.tasks
    sweep = PeriodicTask.objects.get(task="notifications.sweep_outbox")
    assert (sweep.crontab.minute, sweep.crontab.hour) == ("*", "*")
    reminder = PeriodicTask.objects.get(task="notifications.send_expiry_reminders")
    assert (reminder.crontab.minute, reminder.crontab.hour, str(reminder.crontab.timezone)) == (
        "0",
        "9",
        "Asia/Ho_Chi_Minh",
    )


@pytest.mark.django_db
def test_send_due_messages_sweeps_once_by_hand():
    make_template(event="points-earned", channel="email", subject="Điểm", body="+{points_earned}")
    [message] = message_enqueue(
        member=enrol(), event="points-earned", context={"points_earned": 7}, now=vn(2025, 6, 10, 12)
    )
    out = StringIO()
    call_command("send_due_messages", stdout=out)
    message.refresh_from_db()
    assert message.status == "sent" and len(mail.outbox) == 1
    assert "1" in out.getvalue()
    call_command("send_due_messages", stdout=StringIO())
    assert Message.objects.get().attempts == 1 and len(mail.outbox) == 1
