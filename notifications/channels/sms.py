"""SMS brandname through an HTTP gateway, in the request shape of the common Vietnamese
brandname gateways (eSMS.vn's `SendMultipleMessage_V4_post_json`; others such as VietGuys or
SpeedSMS take the same fields under other names, and need a small subclass overriding
`payload` and `interpret`).

Request: `POST <url>`, JSON body
    {"ApiKey": ..., "SecretKey": ..., "Brandname": ..., "Phone": "84912345678",
     "Content": ..., "SmsType": "2", "IsUnicode": "1", "Sandbox": "0", "RequestId": ...}
`SmsType` 2 is a customer-care (CSKH) message from a registered brandname; `RequestId` is the
same for every attempt of one message, so the gateway refuses a duplicate (code 124).
With `unicode=False` the text is sent without diacritics (`IsUnicode` 0: cheaper, 160
characters per part instead of 70).

Response `{"CodeResult": "100", "SMSID": "..."}`. Codes:
- 100 accepted -> sent (the SMSID is the provider message id);
- 124 duplicate RequestId -> sent: an earlier attempt of this very message got through;
- 103 not enough credit -> transient (retried while someone tops up);
- 99 number blocked, 108 number malformed, 177 the number's network not registered -> permanent
  ("rejected number");
- 101 wrong ApiKey/SecretKey, 102 no price list, 104 unknown brandname, 140 IP not whitelisted,
  146 unregistered CSKH template, and any other code -> permanent.
HTTP 5xx, 408, 429, timeouts and connection errors are transient; other HTTP errors permanent."""

from __future__ import annotations

import unicodedata

from notifications.channels import (
    ChannelBackend,
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    phone_for_gateway,
)
from notifications.channels.http import HttpResponse, http_status_error, post_json

ACCEPTED = "100"
DUPLICATE_REQUEST = "124"
TRANSIENT_CODES = {"103": "not enough credit"}
REJECTED_NUMBER_CODES = {"99": "number blocked", "108": "number malformed", "177": "network not registered"}


def strip_diacritics(text: str) -> str:
    """Vietnamese without diacritics, for non-Unicode SMS: `Điểm thưởng` -> `Diem thuong`."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


class BrandnameSmsBackend(ChannelBackend):
    def __init__(
        self,
        *,
        channel: str,
        url: str = "",
        api_key: str = "",
        secret_key: str = "",
        brandname: str = "",
        sms_type: str = "2",
        unicode: bool = True,
        sandbox: bool = False,
        timeout: float = 10.0,
        **options,
    ) -> None:
        super().__init__(channel=channel, **options)
        self.url, self.api_key, self.secret_key, self.brandname = url, api_key, secret_key, brandname
        self.sms_type, self.unicode, self.sandbox, self.timeout = sms_type, unicode, sandbox, timeout

    def payload(self, message: OutgoingMessage) -> dict:
        return {
            "ApiKey": self.api_key,
            "SecretKey": self.secret_key,
            "Brandname": self.brandname,
            "Phone": phone_for_gateway(message.recipient),
            "Content": message.body if self.unicode else strip_diacritics(message.body),
            "SmsType": str(self.sms_type),
            "IsUnicode": "1" if self.unicode else "0",
            "Sandbox": "1" if self.sandbox else "0",
            "RequestId": message.tracking_id,
        }

    def interpret(self, response: HttpResponse) -> SendResult:
        error = http_status_error(response)
        if error is not None:
            raise error
        data = response.data if isinstance(response.data, dict) else {}
        code = str(data.get("CodeResult", ""))
        detail = data.get("ErrorMessage") or response.text[:200]
        if code == ACCEPTED:
            return SendResult(provider_message_id=str(data.get("SMSID", "")))
        if code == DUPLICATE_REQUEST:
            return SendResult(provider_message_id=str(data.get("SMSID", "")))
        if code in TRANSIENT_CODES:
            raise TransientSendError(f"gateway code {code} ({TRANSIENT_CODES[code]}): {detail}")
        if code in REJECTED_NUMBER_CODES:
            raise PermanentSendError(f"rejected number: gateway code {code} ({REJECTED_NUMBER_CODES[code]}): {detail}")
        raise PermanentSendError(f"gateway code {code or '?'}: {detail}")

    def send(self, message: OutgoingMessage) -> SendResult:
        return self.interpret(post_json(self.url, self.payload(message), timeout=self.timeout))
