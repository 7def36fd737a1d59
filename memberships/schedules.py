"""The periodic tasks of paid membership (upserted by name, see `loyalty_site.core.schedules`)."""

from loyalty_site.core.schedules import Schedule

SCHEDULES = [
    Schedule(
        name="memberships: expiry, reminders, monthly voucher",
        task="memberships.daily",
        minute="15",
        hour="2",
        description=(
            "Every night at 02:15 (programme time): marks ended paid memberships expired and tells the member, "
            "sends the renewal reminders due, gives each paid member this month's voucher once. Safe to run again."
        ),
    ),
]
