from loyalty_site.core.schedules import Schedule

SCHEDULES = [
    Schedule(
        name="vouchers: expire vouchers",
        task="vouchers.expire_vouchers",
        minute="10",
        hour="0",
        description="Marks expired the issued vouchers whose last valid day was yesterday (programme time zone). "
        "Idempotent: a second run on the same day changes nothing.",
    ),
]
