"""The periodic tasks of the reports app (upserted by name, see `loyalty_site.core.schedules`)."""

from loyalty_site.core.schedules import Schedule

SCHEDULES = [
    Schedule(
        name="reports: refresh the daily rollups",
        task="reports.refresh_rollups",
        minute="*/15",
        description=(
            "Every 15 minutes: rebuilds the last two closed days and every day a sale, refund, ledger entry, member "
            "or voucher created since the last run belongs to (late-synced sales, refunds of old sales). The figures "
            "read those days from the raw tables until then. Safe to run again."
        ),
    ),
]
