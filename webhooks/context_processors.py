"""The admin's banner when a webhook endpoint was switched off after repeated failures (issue
17), shown as the Zalo token alert is: on every admin page, for the people who can fix it
(`webhooks.change_webhookendpoint`). One query on admin pages for those users only."""

from __future__ import annotations

from django.utils.translation import gettext as _

from webhooks.models import WebhookEndpoint


def webhook_alert(request) -> dict[str, str]:
    if not request.path.startswith("/admin/"):
        return {}
    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.is_staff:
        return {}
    if not user.has_perm("webhooks.change_webhookendpoint"):
        return {}
    disabled = list(
        WebhookEndpoint.objects.filter(is_active=False, disabled_at__isnull=False).values_list(
            "name", "disabled_reason"
        )[:3]
    )
    if not disabled:
        return {}
    names = "; ".join(f"{name} ({reason})" for name, reason in disabled)
    return {
        "webhook_alert": _(
            "Webhook endpoints switched off after repeated failed deliveries: %(endpoints)s. Fix the receiver, "
            "then switch the endpoint on again; its pending deliveries then go out."
        )
        % {"endpoints": names}
    }
