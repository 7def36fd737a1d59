"""Configuring campaigns: save, activate, deactivate, and keep each campaign's periodic task in
django-celery-beat in step with it.

The schedule of a campaign lives in one `PeriodicTask` (task `campaigns.run_campaign`, kwargs
`{"campaign_id": ...}`), linked from the campaign: a clocked one-off task for "once", a crontab
for "recurring" (in settings.TIME_ZONE, which is the Celery and beat time zone: a crontab in
another zone than CELERY_TIMEZONE misfires, see pitfalls.md), none for "manual". The task is
enabled exactly when the campaign is active; every change goes through
`campaign_schedule_sync`, which django-celery-beat's own signals report to the beat process."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, PeriodicTask

from campaigns.runs.models import Campaign
from loyalty_site.core.errors import ValidationFailed, clean_or_refuse

RUN_TASK = "campaigns.run_campaign"


def periodic_task_name(campaign: Campaign) -> str:
    return f"campaign: {campaign.code}"


def campaign_schedule_sync(*, campaign: Campaign) -> PeriodicTask | None:
    """Create, update or remove the campaign's periodic task so that it matches the campaign's
    schedule and active flag. Returns the task (None for a manual campaign)."""
    with transaction.atomic():
        task = campaign.periodic_task
        if campaign.schedule == Campaign.Schedule.MANUAL:
            if task is not None:
                Campaign.objects.filter(pk=campaign.pk).update(periodic_task=None)
                campaign.periodic_task = None
                task.delete()
            return None
        fields = {
            "name": periodic_task_name(campaign),
            "task": RUN_TASK,
            "kwargs": json.dumps({"campaign_id": campaign.pk}),
            "enabled": campaign.is_active,
            "description": _("Runs campaign %(code)s (%(name)s).") % {"code": campaign.code, "name": campaign.name},
        }
        if campaign.schedule == Campaign.Schedule.ONCE:
            clocked, _created = ClockedSchedule.objects.get_or_create(clocked_time=campaign.run_at)
            fields.update(clocked=clocked, crontab=None, interval=None, one_off=True)
        else:
            crontab, _created = CrontabSchedule.objects.get_or_create(
                minute=campaign.cron_minute,
                hour=campaign.cron_hour,
                day_of_month=campaign.cron_day_of_month,
                month_of_year=campaign.cron_month_of_year,
                day_of_week=campaign.cron_day_of_week,
                timezone=settings.TIME_ZONE,
            )
            fields.update(crontab=crontab, clocked=None, interval=None, one_off=False)
        if task is None:
            # A task left under this name (e.g. by a deleted campaign) is taken over.
            task = PeriodicTask.objects.filter(name=fields["name"]).first() or PeriodicTask()
        for name, value in fields.items():
            setattr(task, name, value)
        task.save()
        if campaign.periodic_task_id != task.pk:
            Campaign.objects.filter(pk=campaign.pk).update(periodic_task=task)
            campaign.periodic_task = task
    return task


def campaign_save(*, campaign: Campaign, by=None) -> Campaign:
    """Create or change a campaign (its fields already set), then bring its periodic task in
    line. Refusals write nothing."""
    if campaign.pk is None and by is not None:
        campaign.created_by = by
    clean_or_refuse(campaign)
    with transaction.atomic():
        campaign.save()
        campaign_schedule_sync(campaign=campaign)
    return campaign


def campaign_activate(*, campaign: Campaign, by=None) -> Campaign:
    """Switch the campaign on: its schedule starts. A one-off campaign whose time has passed is
    refused (nothing written); run it by hand instead."""
    clean_or_refuse(campaign)
    if campaign.schedule == Campaign.Schedule.ONCE and campaign.run_at <= timezone.now():
        raise ValidationFailed(
            _("The time of the run has passed: change it, or run the campaign by hand."),
            errors={"run_at": [_("The time of the run has passed: change it, or run the campaign by hand.")]},
        )
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if not locked.is_active:
            campaign.is_active = True
            campaign.activated_at = timezone.now()
            campaign.activated_by = by
            Campaign.objects.filter(pk=campaign.pk).update(
                is_active=True, activated_at=campaign.activated_at, activated_by=by
            )
        campaign.periodic_task = locked.periodic_task
        campaign_schedule_sync(campaign=campaign)
    return campaign


def campaign_deactivate(*, campaign: Campaign, by=None) -> Campaign:
    """Switch the campaign off: its periodic task is disabled (kept, with its history)."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        Campaign.objects.filter(pk=campaign.pk).update(is_active=False)
        campaign.is_active = False
        campaign.periodic_task = locked.periodic_task
        campaign_schedule_sync(campaign=campaign)
    return campaign
