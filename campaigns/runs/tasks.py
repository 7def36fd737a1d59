"""Celery tasks: thin wrappers that take ids and call one service. Each may run twice (the
broker can deliver a task again) without giving anything twice: a campaign run claims its
members through unique delivery rows."""

from __future__ import annotations

import datetime
import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import DatabaseError

from campaigns.audiences.selectors import audience_today
from campaigns.calendar.selectors import schedule_covers
from campaigns.runs.models import Campaign, CampaignRun
from campaigns.runs.services import campaign_run

logger = logging.getLogger("campaigns.runs.tasks")
_DB_RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": 60, "max_retries": 3}


@shared_task(name="campaigns.run_campaign", **_DB_RETRY)
def run_campaign(
    campaign_id: int, as_of: str | None = None, trigger: str = CampaignRun.Trigger.SCHEDULE, user_id: int | None = None
) -> dict:
    """Run one campaign for today (or `as_of`, YYYY-MM-DD). A campaign switched off since the
    task was queued is left alone, and so is a scheduled run on a day outside the campaign's
    date schedule (e.g. a Tết campaign the rest of the year)."""
    campaign = Campaign.objects.select_related("date_schedule__holiday").filter(pk=campaign_id).first()
    if campaign is None or not campaign.is_active:
        logger.info("campaign %s is gone or inactive: not run", campaign_id)
        return {"run": None}
    day = datetime.date.fromisoformat(as_of) if as_of else audience_today()
    outside = campaign.date_schedule_id and not schedule_covers(campaign.date_schedule, day)
    if trigger == CampaignRun.Trigger.SCHEDULE and outside:
        logger.info("campaign %s: %s is outside its date schedule: not run", campaign.code, day)
        return {"run": None}
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    run = campaign_run(
        campaign=campaign,
        as_of=day,
        trigger=trigger,
        by=user,
    )
    return {"run": run.pk, "status": run.status, "members_reached": run.members_reached}


@shared_task(name="campaigns.send_messages", ignore_result=True, **_DB_RETRY)
def send_messages_before_the_move(message_ids: list[int]) -> None:
    """The name campaign batches were queued under before the bulk enqueue moved to
    `notifications` (`notifications.send_messages`): batches already in the broker at a deploy,
    some of them held for quiet hours, are still sent rather than refused as unregistered."""
    from notifications.tasks import send_messages

    send_messages(message_ids)
