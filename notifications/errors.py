"""The refusals of the notifications app (see `loyalty_site.core.errors`)."""

from django.utils.translation import gettext_lazy as _

from loyalty_site.core.errors import ConflictError, UnprocessableError


class MessageNotResendable(ConflictError):
    code = "message-not-resendable"
    title = _("Only failed messages can be sent again.")


class PreviewSendFailed(UnprocessableError):
    code = "test-send-failed"
    title = _("The test message could not be sent.")
