from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from campaigns.credit import receivers as credit_receivers
        from campaigns.promotions import receivers
        from campaigns.stamps import receivers as stamp_receivers

        receivers.connect()
        stamp_receivers.connect()
        credit_receivers.connect()
