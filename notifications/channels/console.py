"""The development backend: messages are written to the log, or appended as JSON lines to the
file `NOTIFICATIONS_CONSOLE_PATH` (or the backend's `path` option). It is the default for SMS,
Zalo and push whenever no gateway is configured, so a development machine never texts anyone."""

from __future__ import annotations

import json
import logging
import uuid

from django.utils import timezone

from notifications.channels import ChannelBackend, OutgoingMessage, SendResult
from notifications.conf import notifications_setting

logger = logging.getLogger("notifications.console")


class ConsoleBackend(ChannelBackend):
    def __init__(self, *, channel: str, path: str = "", **options) -> None:
        super().__init__(channel=channel, **options)
        self.path = path or notifications_setting("CONSOLE_PATH")

    def send(self, message: OutgoingMessage) -> SendResult:
        record = {
            "at": timezone.now().isoformat(),
            "message_id": message.message_id,
            "channel": message.channel,
            "recipient": message.recipient,
            "language": message.language,
            "subject": message.subject,
            "body": message.body,
            "zns_template_id": message.zns_template_id,
            "zns_params": message.zns_params,
        }
        line = json.dumps(record, ensure_ascii=False)
        if self.path:
            # One write per line in append mode: lines from several workers never interleave.
            with open(self.path, "a", encoding="utf-8") as file:
                file.write(line + "\n")
        else:
            logger.info("%s", line)
        suffix = message.message_id if message.message_id is not None else uuid.uuid4().hex[:12]
        return SendResult(provider_message_id=f"console-{suffix}")
