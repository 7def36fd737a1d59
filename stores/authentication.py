"""POS terminal authentication: `Authorization: Api-Key <key>`.

Missing or unknown key: 401. Revoked key, or a store that is not active: 403 (the contract).
On success `request.user` is None and `request.auth` is the Terminal."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from loyalty_site.core.api.auth_failures import auth_failures_check
from loyalty_site.core.api_keys import api_key_matches, api_key_prefix
from stores.models import Terminal
from stores.services import terminal_mark_used

KEYWORD = b"api-key"


class TerminalApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        # An address that sent too many missing or wrong keys is throttled before any lookup.
        auth_failures_check(request)
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("The API key is not valid."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The API key is not valid.")) from None
        prefix = api_key_prefix(key)
        terminal = Terminal.objects.select_related("store__brand").filter(key_prefix=prefix).first() if prefix else None
        if terminal is None or not api_key_matches(key, terminal.key_hash):
            raise exceptions.AuthenticationFailed(_("The API key is not valid."))
        if terminal.is_revoked:
            raise exceptions.PermissionDenied(_("This terminal's API key has been revoked."))
        if not terminal.store.is_active:
            raise exceptions.PermissionDenied(_("This terminal's store is not active."))
        terminal_mark_used(terminal=terminal)
        return (None, terminal)

    def authenticate_header(self, request):
        return "Api-Key"


class IsTerminal(BasePermission):
    """Only an authenticated POS terminal may call the POS API."""

    def has_permission(self, request, view):
        return isinstance(request.auth, Terminal)
