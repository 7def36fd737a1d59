from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from loyalty_site.core.events import dispatcher_register
        from webhooks import checks  # noqa: F401 -- registers the deploy check
        from webhooks.dispatch import events_committed

        # After every commit that wrote domain events: queue their delivery (issue 17).
        dispatcher_register(events_committed)
