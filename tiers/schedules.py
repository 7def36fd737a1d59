"""The periodic tasks of the tiers app (upserted by name, see `loyalty_site.core.schedules`)."""

from loyalty_site.core.schedules import Schedule

SCHEDULES = [
    Schedule(
        name="tiers: evaluate retention cycles",
        task="tiers.evaluate",
        minute="30",
        hour="1",
        description=(
            "Every night at 01:30 (programme time): renews the tier cycles that were met, downgrades members "
            "who did not keep their tier after any grace period, and tells them. Safe to run again."
        ),
    ),
]
