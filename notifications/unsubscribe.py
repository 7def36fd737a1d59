"""One-click unsubscribe links (member-web.md; RFC 8058 for email): `/m/unsubscribe/<token>`.

The token names a member and a channel, and is short enough for an SMS:
`<member id, base 36>-<channel letter>-<day issued, base 36>-<MAC>`, where the MAC is 96 bits
of an HMAC-SHA256 keyed by SECRET_KEY with a salt of its own (so no other token of the project
can be passed off as one, and no one can make one for another member or channel). It is stored
nowhere; it expires `UNSUBSCRIBE_LINK_DAYS` days (default 365) after the day it was issued, and
all it can do is withdraw that member's consent on that channel."""

from __future__ import annotations

import base64
import datetime
import functools
import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

SALT = "loyalty.notifications.unsubscribe-link"
CHANNEL_LETTERS = {"sms": "s", "email": "e", "zalo": "z", "push": "p"}
_CHANNELS = {letter: channel for channel, letter in CHANNEL_LETTERS.items()}
_TOKEN = re.compile(r"^([0-9a-z]{1,12})-([sezp])-([0-9a-z]{1,6})-([A-Za-z0-9_-]{16})$")
# 12 base-36 digits of member id stay below 2^63 (a PostgreSQL bigint).
_EPOCH = datetime.date(2020, 1, 1)


def link_days() -> int:
    return int(getattr(settings, "UNSUBSCRIBE_LINK_DAYS", 365))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def _mac(payload: str) -> str:
    digest = salted_hmac(SALT, payload, algorithm="sha256").digest()[:12]
    return base64.urlsafe_b64encode(digest).decode()


def _day(at: datetime.datetime) -> int:
    return (timezone.localdate(at) - _EPOCH).days


def unsubscribe_token_make(*, member_id: int, channel: str, at: datetime.datetime | None = None) -> str:
    payload = f"{_base36(member_id)}-{CHANNEL_LETTERS[channel]}-{_base36(_day(at or timezone.now()))}"
    return f"{payload}-{_mac(payload)}"


class TokenInvalid(Exception):
    """Not a token of ours: malformed, tampered with, or for another purpose."""


class TokenExpired(Exception):
    """A genuine token, older than `UNSUBSCRIBE_LINK_DAYS`."""


@dataclass(frozen=True)
class UnsubscribeToken:
    member_id: int
    channel: str


def unsubscribe_token_read(token: str, *, now: datetime.datetime | None = None) -> UnsubscribeToken:
    """What a token names; TokenInvalid or TokenExpired otherwise. Reads nothing from the database."""
    match = _TOKEN.match(token or "")
    if match is None:
        raise TokenInvalid(token)
    member_part, letter, day_part, mac = match.groups()
    payload = f"{member_part}-{letter}-{day_part}"
    if not hmac.compare_digest(mac, _mac(payload)):
        raise TokenInvalid(token)
    issued, today = int(day_part, 36), _day(now or timezone.now())
    if today - issued > link_days() or issued > today + 1:
        raise TokenExpired(token)
    return UnsubscribeToken(member_id=int(member_part, 36), channel=_CHANNELS[letter])


@functools.lru_cache(maxsize=8)
def _url_prefix(base_url: str) -> str:
    # Reversed once per base address: a campaign builds one link per message.
    return base_url.rstrip("/") + reverse("portal:unsubscribe", args=["TOKEN"]).removesuffix("TOKEN")


def unsubscribe_url(*, member_id: int, channel: str, at: datetime.datetime | None = None) -> str:
    """The absolute link a message carries (`PORTAL_BASE_URL` + `/m/unsubscribe/<token>`)."""
    token = unsubscribe_token_make(member_id=member_id, channel=channel, at=at)
    return _url_prefix(settings.PORTAL_BASE_URL) + token
