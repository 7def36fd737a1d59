"""The refusals of the notifications app (see `loyalty_site.core.errors`)."""

from django.utils.translation import gettext_lazy as _

from loyalty_site.core.errors import ConflictError, DomainError, UnprocessableError, ValidationFailed


class MessageNotResendable(ConflictError):
    code = "message-not-resendable"
    title = _("Only failed messages can be sent again.")


class PreviewSendFailed(UnprocessableError):
    code = "test-send-failed"
    title = _("The test message could not be sent.")


class PresenceCodeNotSent(UnprocessableError):
    """Neither Zalo nor SMS can carry a one-time code to the member (no template, no phone,
    no consent where consent is required): nothing is kept, not even the code."""

    code = "otp-not-sent"
    title = _("The one-time code cannot be sent to this member by Zalo or SMS.")


class UnsubscribeLinkInvalid(DomainError):
    """Not one of our unsubscribe links (malformed, altered, for another purpose), or its
    member no longer exists: nothing is changed."""

    code = "unsubscribe-link-invalid"
    status = 400
    title = _("This unsubscribe link is not valid. Open the link from the message again, or sign in to change it.")


class UnsubscribeLinkExpired(DomainError):
    code = "unsubscribe-link-expired"
    status = 400
    title = _("This unsubscribe link has expired. Sign in to the member pages to stop these messages.")


class PushSubscriptionInvalid(ValidationFailed):
    code = "push-subscription-invalid"


class SignInCodeNotSent(UnprocessableError):
    """No channel can carry the sign-in code of the member pages (no active template for the
    event): nothing is kept. The same for members and other phones, so it tells nothing."""

    code = "sign-in-code-not-sent"
    title = _("The sign-in code cannot be sent right now.")
