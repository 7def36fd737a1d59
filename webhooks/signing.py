"""The signature of a delivery (docs/webhooks.md): `X-Loyalty-Signature: sha256=<hex>` where
<hex> is HMAC-SHA256(secret, "{timestamp}.{body}"), with the timestamp sent in
`X-Loyalty-Timestamp` (Unix seconds). A receiver recomputes it, compares in constant time and
refuses a timestamp more than a few minutes old (replays)."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def secret_generate() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_valid(secret: str, timestamp: int, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), header or "")
