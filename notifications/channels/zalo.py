"""Zalo ZNS (Zalo Notification Service) through the Zalo Official Account API.

Request: `POST https://business.openapi.zalo.me/message/template` with the header
`access_token: <OA access token>` and the JSON body
    {"phone": "84912345678", "template_id": "...", "template_data": {...}, "tracking_id": "..."}
(`"mode": "development"` is added when the `mode` option is set, for templates in development).
The template is the one approved by Zalo; `template_data` fills its parameters.

Response `{"error": 0, "message": "Success", "data": {"msg_id": "..."}}`. Codes:
- 0 -> sent (`msg_id` is the provider message id);
- -124 access token invalid or expired, -216 daily quota exceeded -> transient (a refreshed
  token or the next day's quota lets the retry through);
- -108 phone number invalid, -118 no Zalo account, -119 the account cannot receive ZNS ->
  permanent ("rejected number");
- -131 template not approved, -132 unknown template, -201 / -217 / -218 wrong parameters, and
  any other code -> permanent.
HTTP 5xx, 408, 429, timeouts and connection errors are transient. The access token expires
(about 25 hours): without a fixed `access_token` option (NOTIFICATIONS_ZALO_ACCESS_TOKEN), each
send uses the token the renewal keeps fresh (`notifications.services.zalo`, every 10 minutes)."""

from __future__ import annotations

from notifications.channels import (
    ChannelBackend,
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    phone_for_gateway,
)
from notifications.channels.http import HttpResponse, http_status_error, post_json
from notifications.selectors import zalo_access_token

ZNS_URL = "https://business.openapi.zalo.me/message/template"
TRANSIENT_CODES = {-124: "access token invalid or expired", -216: "quota exceeded"}
REJECTED_NUMBER_CODES = {
    -108: "phone number invalid",
    -118: "no Zalo account",
    -119: "account cannot receive ZNS",
}


class ZaloZnsBackend(ChannelBackend):
    def __init__(
        self,
        *,
        channel: str,
        url: str = ZNS_URL,
        access_token: str = "",
        mode: str = "",
        timeout: float = 10.0,
        **options,
    ) -> None:
        super().__init__(channel=channel, **options)
        self.url, self.access_token, self.mode, self.timeout = url or ZNS_URL, access_token, mode, timeout

    def payload(self, message: OutgoingMessage) -> dict:
        payload = {
            "phone": phone_for_gateway(message.recipient),
            "template_id": message.zns_template_id,
            "template_data": message.zns_params,
            "tracking_id": message.tracking_id,
        }
        if self.mode:
            payload["mode"] = self.mode
        return payload

    def interpret(self, response: HttpResponse) -> SendResult:
        error = http_status_error(response)
        if error is not None:
            raise error
        data = response.data if isinstance(response.data, dict) else {}
        try:
            code = int(data.get("error"))
        except (TypeError, ValueError):
            raise PermanentSendError(f"unexpected Zalo response: {response.text[:200]}") from None
        detail = data.get("message") or ""
        if code == 0:
            return SendResult(provider_message_id=str((data.get("data") or {}).get("msg_id", "")))
        if code in TRANSIENT_CODES:
            raise TransientSendError(f"Zalo error {code} ({TRANSIENT_CODES[code]}): {detail}")
        if code in REJECTED_NUMBER_CODES:
            raise PermanentSendError(f"rejected number: Zalo error {code} ({REJECTED_NUMBER_CODES[code]}): {detail}")
        raise PermanentSendError(f"Zalo error {code}: {detail}")

    def send(self, message: OutgoingMessage) -> SendResult:
        if not message.zns_template_id:
            raise PermanentSendError("no Zalo template id")
        # Read per message: a renewal between two sends is used by the next one.
        access_token = self.access_token or zalo_access_token()
        if not access_token:
            raise TransientSendError("no Zalo access token yet: set the refresh token in the admin")
        response = post_json(
            self.url, self.payload(message), headers={"access_token": access_token}, timeout=self.timeout
        )
        return self.interpret(response)
