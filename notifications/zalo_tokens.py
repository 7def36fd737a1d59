"""Encryption of the stored Zalo tokens (Fernet: AES-128-CBC + HMAC-SHA256). The key is
NOTIFICATIONS_ZALO_TOKEN_KEY, or derived from SECRET_KEY when that is empty: a database dump
alone does not give the tokens away. Changing the key makes the stored tokens unreadable; the
renewal then fails (and says so in the admin) until a lead enters a new refresh token."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from notifications.conf import notifications_setting


class TokenUnreadable(Exception):
    """A stored token cannot be decrypted with the current key."""


def _fernet() -> Fernet:
    secret = notifications_setting("ZALO_TOKEN_KEY") or settings.SECRET_KEY
    digest = hashlib.sha256(b"loyalty:zalo-token:" + secret.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def token_encrypt(token: str) -> str:
    return _fernet().encrypt(token.encode("utf-8")).decode("ascii") if token else ""


def token_decrypt(stored: str) -> str:
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise TokenUnreadable("the stored Zalo token cannot be decrypted with the current key") from exc
