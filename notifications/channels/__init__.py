"""Channel backends: how a rendered message leaves the system.

Each channel (email, sms, zalo, push) is sent by the backend named in
`settings.NOTIFICATIONS_CHANNELS[channel]["BACKEND"]` (a dotted path), built with that entry's
`OPTIONS` as keyword arguments. A backend has one method, `send(message) -> SendResult`, and
reports failures with one of two exceptions, which decide what the outbox does next:

- `TransientSendError`: worth retrying (timeouts, connection errors, HTTP 5xx / 429, a provider
  saying "busy" or "out of credit"); the message goes back to pending with exponential backoff,
  up to `NOTIFICATIONS_MAX_ATTEMPTS`.
- `PermanentSendError`: retrying cannot help (a rejected number, bad credentials, an unknown
  template); the message fails at once with the reason.

Backends get plain data (`OutgoingMessage`), never model instances, and keep no state between
messages. `tracking_id` is the same for every attempt of one message, so a provider that
deduplicates on it (eSMS `RequestId`, Zalo `tracking_id`) never delivers a retried message
twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.conf import notifications_setting


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: int | None
    channel: str
    recipient: str
    subject: str = ""
    body: str = ""
    zns_template_id: str = ""
    zns_params: dict[str, str] = field(default_factory=dict)
    language: str = "vi"
    tracking_id: str = ""
    # Marketing messages: the member's one-click unsubscribe link for this channel (the email
    # backend puts it in the List-Unsubscribe header, RFC 8058).
    unsubscribe_url: str = ""


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str = ""


class SendError(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class TransientSendError(SendError):
    """The send may succeed later: retry with backoff."""


class PermanentSendError(SendError):
    """The send cannot succeed: fail without retrying."""


class ChannelBackend:
    """Base class. Subclasses take their options as keyword arguments; unknown ones are
    ignored, so one OPTIONS dictionary can serve a gateway backend and the console."""

    def __init__(self, *, channel: str, **options: Any) -> None:
        self.channel = channel
        self.options = options

    def send(self, message: OutgoingMessage) -> SendResult:
        raise NotImplementedError


DEFAULT_BACKEND = "notifications.channels.console.ConsoleBackend"


def channel_backend(channel: str) -> ChannelBackend:
    """The configured backend of `channel`, freshly built (settings are read on every call).
    With `MESSAGE_FILES_DIR` set, every channel writes to its file there instead of sending
    (`notifications.channels.files`)."""
    files_dir = getattr(settings, "MESSAGE_FILES_DIR", "")
    if files_dir:
        from notifications.channels.files import MessageFileBackend

        return MessageFileBackend(channel=channel, directory=files_dir)
    config = notifications_setting("CHANNELS").get(channel) or {}
    backend_class = import_string(config.get("BACKEND") or DEFAULT_BACKEND)
    return backend_class(channel=channel, **(config.get("OPTIONS") or {}))


def phone_for_gateway(e164: str) -> str:
    """`+84912345678` -> `84912345678`, the form Vietnamese SMS gateways and Zalo expect."""
    return e164[1:] if e164.startswith("+") else e164
