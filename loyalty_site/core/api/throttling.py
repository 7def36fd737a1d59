import logging

from rest_framework.throttling import SimpleRateThrottle

from loyalty_site.core.cache import CACHE_ERRORS, cache_failure_logged

logger = logging.getLogger("loyalty_site.api.throttling")


class TerminalRateThrottle(SimpleRateThrottle):
    """Requests per POS terminal (`POS_THROTTLE_RATE`, e.g. 600/min). Counts live in the
    default cache: Redis in production (CACHE_URL), so every web worker shares them. When the
    cache cannot be reached the request is let through and the failure logged (risk.md: throttling
    fails open; a till's sale matters more than its rate)."""

    scope = "terminal"

    def get_cache_key(self, request, view):
        terminal = getattr(request, "auth", None)
        if terminal is None or not hasattr(terminal, "pk"):
            return None  # unauthenticated requests are refused before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": terminal.pk}

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            cache_failure_logged("throttle", exc)
            logger.warning("throttling skipped: the cache is unavailable")
            return True
