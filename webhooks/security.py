"""What an endpoint URL may be (issue 17): http or https only, and, unless
`WEBHOOKS_ALLOW_PRIVATE_ADDRESSES` (tests and development), a host whose every address is a
public one: never loopback, private, link-local (cloud metadata at 169.254.169.254), reserved or
multicast. Checked when staff save the endpoint and again before every delivery (an address
can change). Known gap: the HTTP client resolves the name again after the check, so a DNS answer
that changes between the two (rebinding) is not caught; redirects are never followed."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def url_refusal(url: str, *, resolve: bool = True) -> str | None:
    """Why `url` cannot receive webhooks, or None when it can."""
    try:
        parts = urlsplit(str(url or "").strip())
        port = parts.port
    except ValueError:
        return _("Enter a valid URL.")
    if parts.scheme not in ("http", "https"):
        return _("Only http:// and https:// addresses can receive webhooks.")
    if not parts.hostname:
        return _("Enter a valid URL.")
    if parts.username or parts.password:
        return _("The address cannot carry a user name or password.")
    if settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES or not resolve:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        return _("The host %(host)s cannot be found.") % {"host": parts.hostname}
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(_public(address) for address in addresses):
        return _("The host %(host)s is a private or local address: webhooks only go to public addresses.") % {
            "host": parts.hostname
        }
    return None


def url_check(url: str) -> str:
    """The URL, stripped, or ValidationFailed (400) on the `url` field."""
    refusal = url_refusal(url)
    if refusal is not None:
        raise ValidationFailed(errors={"url": [refusal]})
    return str(url).strip()
