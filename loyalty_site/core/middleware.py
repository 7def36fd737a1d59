from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ProgrammeLocaleMiddleware(LocaleMiddleware):
    """The POS API follows `Accept-Language` (the contract). Staff pages are Vietnamese unless
    the user picked another language with the switch in the admin header (a cookie): staff in
    Vietnam often run English-language browsers and still expect the Vietnamese console."""

    api_prefix = "/api/"

    def process_request(self, request):
        if request.path.startswith(self.api_prefix):
            return super().process_request(request)
        supported = {code for code, _name in settings.LANGUAGES}
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        return None


class ContentSecurityPolicyMiddleware:
    """The `Content-Security-Policy` header (CONTENT_SECURITY_POLICY) on every HTML page: the
    admin and the API docs. Scripts come from this site only (no inline script: the Swagger page
    loads its set-up script as a file), so an injected `<script>` in a member's name or a
    template does not run in a staff member's browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and response.get("Content-Type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", policy)
        return response
