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
    Schedule(
        name="notifications: renew the Zalo access token",
        task="notifications.renew_zalo_token",
        minute="*/10",
        hour="*",
        description="Renews the Zalo OA access token (refresh-token flow) when it expires within "
        "NOTIFICATIONS_ZALO_RENEW_AHEAD_SECONDS; a failure shows a banner in the admin. Does nothing without a "
        "refresh token.",
    ),
]
