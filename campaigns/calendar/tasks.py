"""Keep the promotions' resolved schedule dates reaching the years ahead."""

from __future__ import annotations

from celery import shared_task

from campaigns.promotions.services import promotions_schedule_refresh


@shared_task(name="campaigns.promotion_schedules_refresh", ignore_result=True)
def promotion_schedules_refresh() -> int:
    return promotions_schedule_refresh()
