"""The arithmetic of proof of presence (pos-api.md 1.1): card tokens and one-time codes.

Card token: `MT` + the member's key handle (12 characters) + a MAC (16 base32 characters, 80
bits) of (handle, secret, time step), computed with Django's `salted_hmac`, whose key is derived
from SECRET_KEY. A new token every 60 s (`TOKEN_STEP_SECONDS`); the token of step s is accepted
during steps s and s + 1, i.e. for 120 s from the start of its step. Knowing a member's id, code
or phone says nothing about their tokens; reading the database (handle and secret) is not enough
to forge one without SECRET_KEY.

One-time code: 6 random digits; only `salted_hmac(code, salt)` is stored, so a database reader
cannot try the million codes against the hash without SECRET_KEY either.

Pure functions: the models are read and written by `members.selectors` and
`members.services.presence`."""

from __future__ import annotations

import base64
import datetime
import secrets

from django.utils.crypto import constant_time_compare, salted_hmac

from members.codes import ALPHABET, codes_generate

TOKEN_PREFIX = "MT"
TOKEN_STEP_SECONDS = 60
TOKEN_VALID_STEPS = 2  # the token's own step and the next: 120 s
HANDLE_LENGTH = 12
MAC_LENGTH = 16
TOKEN_LENGTH = len(TOKEN_PREFIX) + HANDLE_LENGTH + MAC_LENGTH

CODE_DIGITS = 6
CODE_VALID = datetime.timedelta(minutes=5)
CODE_MAX_WRONG_TRIES = 5
CODES_PER_WINDOW = 3
CODES_WINDOW = datetime.timedelta(minutes=10)

_TOKEN_SALT = "members.presence.token"
_CODE_SALT = "members.presence.code"


def token_step(at: datetime.datetime) -> int:
    return int(at.timestamp()) // TOKEN_STEP_SECONDS


def step_start(step: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(step * TOKEN_STEP_SECONDS, tz=datetime.UTC)


def token_valid_until(step: int) -> datetime.datetime:
    return step_start(step + TOKEN_VALID_STEPS)


def handle_generate() -> str:
    return codes_generate(1, HANDLE_LENGTH)[0]


def secret_generate() -> str:
    return secrets.token_hex(32)


def token_mac(*, handle: str, secret: str, step: int) -> str:
    digest = salted_hmac(_TOKEN_SALT, f"{handle}:{secret}:{step}", algorithm="sha256").digest()
    return base64.b32encode(digest).decode()[:MAC_LENGTH]


def token_make(*, handle: str, secret: str, step: int) -> str:
    return f"{TOKEN_PREFIX}{handle}{token_mac(handle=handle, secret=secret, step=step)}"


def token_split(value: str) -> tuple[str, str] | None:
    """(handle, mac) of something shaped like a card token, else None."""
    value = "".join(str(value or "").split()).upper()
    if len(value) != TOKEN_LENGTH or not value.startswith(TOKEN_PREFIX):
        return None
    handle, mac = value[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + HANDLE_LENGTH], value[-MAC_LENGTH:]
    if any(c not in ALPHABET for c in handle):
        return None
    return handle, mac


def token_matching_step(*, handle: str, secret: str, mac: str, at: datetime.datetime) -> int | None:
    """The step whose token `mac` is, if that token is still valid at `at`; else None."""
    now = token_step(at)
    for step in range(now, now - TOKEN_VALID_STEPS, -1):
        if constant_time_compare(token_mac(handle=handle, secret=secret, step=step), mac):
            return step
    return None


def code_generate() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def salt_generate() -> str:
    return secrets.token_hex(16)


def code_hash(*, code: str, salt: str) -> str:
    return salted_hmac(_CODE_SALT, f"{salt}:{code}", algorithm="sha256").hexdigest()


def code_matches(*, code: str, salt: str, hashed: str) -> bool:
    return constant_time_compare(code_hash(code=code, salt=salt), hashed)
