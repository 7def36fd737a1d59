from loyalty_site.core.schedules import Schedule

SCHEDULES = [
    Schedule(
        name="members: expire points",
        task="members.expire_points",
        minute="5",
        hour="0",
        description="Expires the points whose last usable day was yesterday (programme time zone). "
        "Idempotent: a second run on the same day expires nothing.",
    ),
]
