"""API keys for POS terminals: generated once, shown once, stored as a hash.

A key looks like `<prefix>.<secret>`: the 8-character prefix is stored in clear and indexed to
find the terminal, the whole key is stored as a SHA-256 digest. The secret has 256 bits of
entropy, so a fast hash is enough (a slow password hash would only cost every request time);
the comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX_LENGTH = 8


def api_key_generate() -> tuple[str, str, str]:
    """A new key: (full key, prefix, digest). Only the prefix and the digest are stored."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    key = f"{prefix}.{secrets.token_urlsafe(32)}"
    return key, prefix, api_key_digest(key)


def api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_prefix(key: str) -> str | None:
    prefix, sep, secret = key.partition(".")
    if not sep or len(prefix) != PREFIX_LENGTH or not secret:
        return None
    return prefix


def api_key_matches(key: str, digest: str) -> bool:
    return hmac.compare_digest(api_key_digest(key), digest)
