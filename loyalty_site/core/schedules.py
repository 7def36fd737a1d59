"""Periodic tasks declared in code and upserted into django-celery-beat by name.

Each app declares its schedules in `<app>/schedules.py` as a list `SCHEDULES` of `Schedule`.
`schedules_sync()` (run after every `migrate`, and by `python manage.py sync_schedules`)
creates missing ones and updates the task and timing of existing ones, but never touches their
`enabled` flag: a switch-off made in the admin survives a deploy."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    minute: str = "0"
    hour: str = "*"
    day_of_week: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"
    kwargs: dict = field(default_factory=dict)
    description: str = ""


def declared_schedules() -> list[Schedule]:
    found: list[Schedule] = []
    for app_config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{app_config.name}.schedules")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.schedules":
                raise
            continue
        found.extend(getattr(module, "SCHEDULES", []))
    return found


def schedules_sync() -> list[str]:
    """Upsert every declared schedule; returns the names created."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

    created = []
    for schedule in declared_schedules():
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=schedule.minute,
            hour=schedule.hour,
            day_of_week=schedule.day_of_week,
            day_of_month=schedule.day_of_month,
            month_of_year=schedule.month_of_year,
            timezone=settings.TIME_ZONE,
        )
        _, was_created = PeriodicTask.objects.update_or_create(
            name=schedule.name,
            defaults={
                "task": schedule.task,
                "crontab": crontab,
                "interval": None,
                "kwargs": json.dumps(schedule.kwargs),
                "description": schedule.description,
            },
        )
        if was_created:
            created.append(schedule.name)
    PeriodicTasks.update_changed()
    return created


SCHEDULES = [
    Schedule(
        name="core: purge expired POS idempotency records",
        task="core.purge_idempotency_records",
        minute="17",
        hour="3",
        description="Deletes idempotency records older than POS_IDEMPOTENCY_TTL_HOURS.",
    ),
]
