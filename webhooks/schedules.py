from loyalty_site.core.schedules import Schedule

SCHEDULES = [
    Schedule(
        name="webhooks: deliver due events and retries",
        task="webhooks.sweep",
        minute="*",
        description="Fans out new domain events to the webhook endpoints and delivers what is due (retries included).",
    ),
]
