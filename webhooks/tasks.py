from celery import shared_task

from webhooks.services import deliveries_run, deliveries_sweep


@shared_task(name="webhooks.deliver")
def deliver() -> int:
    """Fan out the new events and deliver what is due (queued after a commit that wrote events)."""
    return deliveries_run().attempted


@shared_task(name="webhooks.sweep")
def sweep() -> int:
    """Every minute: what the broker missed, the retries that are due, stale claims."""
    return deliveries_sweep().attempted
