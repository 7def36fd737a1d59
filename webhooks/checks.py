"""Deploy check (`manage.py check --deploy`): webhooks to private addresses are for development."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.checks import Tags, Warning


@checks.register(Tags.security, deploy=True)
def private_receivers_refused(app_configs, **kwargs):
    if not getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False):
        return []
    return [
        Warning(
            "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES is true: webhook endpoints may point at loopback, private or "
            "cloud-metadata addresses (server-side request forgery).",
            hint="Leave it false in production (docs/webhooks.md, Endpoints and security).",
            id="webhooks.W001",
        )
    ]
