from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def webpush_public_key() -> str:
    """The VAPID public key the browser subscribes with; "" when web push is not configured
    (the button is then left out)."""
    if not (settings.WEBPUSH_VAPID_PUBLIC_KEY and settings.WEBPUSH_VAPID_PRIVATE_KEY):
        return ""
    return settings.WEBPUSH_VAPID_PUBLIC_KEY
