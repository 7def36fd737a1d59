"""Push notifications through an HTTP push service.

Request: `POST <url>` with `Authorization: Bearer <token>` and the JSON body
    {"to": "<device token>", "title": ..., "body": ..., "data": {"message_id": ..., "language": ...},
     "tracking_id": ...}
The device token is `MemberPreference.push_token`, registered by the member app.

Response 2xx with `{"id": "..."}` (or `message_id`, or FCM's `name`) -> sent. 400, 404 and
410 (malformed or unregistered device token), 401 and 403 (credentials) and other 4xx ->
permanent; 408, 429 and 5xx, timeouts and connection errors -> transient."""

from __future__ import annotations

from notifications.channels import ChannelBackend, OutgoingMessage, SendResult
from notifications.channels.http import http_status_error, post_json


class HttpPushBackend(ChannelBackend):
    def __init__(self, *, channel: str, url: str = "", token: str = "", timeout: float = 10.0, **options) -> None:
        super().__init__(channel=channel, **options)
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: OutgoingMessage) -> SendResult:
        payload = {
            "to": message.recipient,
            "title": message.subject,
            "body": message.body,
            "data": {"message_id": message.message_id, "language": message.language},
            "tracking_id": message.tracking_id,
        }
        response = post_json(self.url, payload, headers={"Authorization": f"Bearer {self.token}"}, timeout=self.timeout)
        error = http_status_error(response)
        if error is not None:
            raise error
        data = response.data if isinstance(response.data, dict) else {}
        return SendResult(provider_message_id=str(data.get("id") or data.get("message_id") or data.get("name") or ""))
