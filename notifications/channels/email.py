"""Email through Django's email backend (`EMAIL_URL`: SMTP in production, the console by
default). SMTP answers map as: recipient refused and 5xx replies are permanent; 4xx replies,
timeouts and connection errors are transient."""

from __future__ import annotations

import smtplib

from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import make_msgid

from notifications.channels import (
    ChannelBackend,
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)


class EmailBackend(ChannelBackend):
    def __init__(self, *, channel: str, from_email: str = "", timeout: float | None = None, **options) -> None:
        super().__init__(channel=channel, **options)
        self.from_email = from_email or None
        self.timeout = timeout

    def send(self, message: OutgoingMessage) -> SendResult:
        message_id = make_msgid(domain="loyalty.local")
        headers = {"Message-ID": message_id}
        if message.unsubscribe_url:
            # RFC 8058 one-click unsubscribe: the mail client POSTs
            # "List-Unsubscribe=One-Click" to the link (portal/views/unsubscribe.py).
            headers["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=self.from_email,
            to=[message.recipient],
            headers=headers,
        )
        try:
            connection = get_connection(fail_silently=False, **({"timeout": self.timeout} if self.timeout else {}))
            sent = connection.send_messages([email])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            error = PermanentSendError if codes and min(codes) >= 500 else TransientSendError
            raise error(f"recipient refused: {exc.recipients}") from None
        except smtplib.SMTPResponseException as exc:
            error = PermanentSendError if exc.smtp_code >= 500 else TransientSendError
            raise error(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientSendError(f"{exc.__class__.__name__}: {exc}") from None
        except ValueError as exc:  # a bad header or address
            raise PermanentSendError(str(exc)) from None
        if not sent:
            raise PermanentSendError("the email backend sent nothing")
        return SendResult(provider_message_id=message_id.strip("<>"))
