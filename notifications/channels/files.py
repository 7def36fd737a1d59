"""`MESSAGE_FILES_DIR` (member-web.md): for development and tests, every outgoing message, on
every channel, is appended instead of being sent as one JSON line
`{"channel", "to", "subject", "text"}` to `<dir>/<channel>.jsonl`, so that a person (or a
browser test) can read the sign-in code or the link a member would have received. `to` is the
phone in E.164, the email address, or the push subscription's endpoint.

`notifications.channels.channel_backend` picks this backend for every channel whenever the
setting is set, whatever the channel's own configuration says."""

from __future__ import annotations

import json
import os
from pathlib import Path

from notifications.channels import ChannelBackend, OutgoingMessage, PermanentSendError, SendResult


class MessageFileBackend(ChannelBackend):
    def __init__(self, *, channel: str, directory: str, **options) -> None:
        super().__init__(channel=channel, **options)
        self.directory = Path(directory)

    def path(self) -> Path:
        return self.directory / f"{self.channel}.jsonl"

    def send(self, message: OutgoingMessage) -> SendResult:
        line = json.dumps(
            {"channel": message.channel, "to": message.recipient, "subject": message.subject, "text": message.body},
            ensure_ascii=False,
        )
        data = (line + "\n").encode("utf-8")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # One write of the whole line on an O_APPEND descriptor: lines written by several
            # workers at once never interleave.
            fd = os.open(self.path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as exc:
            raise PermanentSendError(f"cannot write the message file {self.path()}: {exc}") from None
        return SendResult(provider_message_id=f"file-{message.message_id}")
