from rest_framework.throttling import SimpleRateThrottle


class TerminalRateThrottle(SimpleRateThrottle):
    """Requests per POS terminal (`POS_THROTTLE_RATE`, e.g. 600/min). Counts live in the
    default cache: Redis in production (CACHE_URL), so every web worker shares them."""

    scope = "terminal"

    def get_cache_key(self, request, view):
        terminal = getattr(request, "auth", None)
        if terminal is None or not hasattr(terminal, "pk"):
            return None  # unauthenticated requests are refused before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": terminal.pk}
