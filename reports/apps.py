from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        # Segments (campaigns, a floor below) filter on sales by the report definitions: they
        # ask for them through `campaigns.audiences.purchases`, and this app answers.
        from campaigns.audiences.purchases import sale_facts_provide
        from reports.segment_facts import ReportSaleFacts

        sale_facts_provide(ReportSaleFacts())
