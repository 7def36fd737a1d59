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
