"""Periodic tasks of the notifications app (upserted by name after migrate; see
`loyalty_site.core.schedules`). Times are in settings.TIME_ZONE."""

from loyalty_site.core.schedules import Schedule

SCHEDULES = [
    Schedule(
        name="notifications: sweep the outbox",
        task="notifications.sweep_outbox",
        minute="*",
        hour="*",
        description="Queues due messages whose task was lost or scheduled beyond the ETA horizon, and takes "
        "back messages claimed by workers that died.",
    ),
    Schedule(
        name="notifications: points-expiring reminders",
        task="notifications.send_expiry_reminders",
        minute="0",
        hour="9",
        description="Reminds members of points whose last usable day is within the next 30 days "
        "(NOTIFICATIONS_EXPIRY_REMINDER_DAYS). Safe to run again for the same day.",
    ),
]
