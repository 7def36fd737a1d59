"""Templates: saving (validated), previewing for a member, and sending a test to staff."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed
from members.models import Member
from members.phones import phone_normalise
from notifications.channels import OutgoingMessage, SendError, channel_backend
from notifications.errors import PreviewSendFailed
from notifications.models import Channel, MessageTemplate
from notifications.selectors import Rendered, member_zone, sample_values, template_render


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def template_save(*, template: MessageTemplate) -> MessageTemplate:
    """Create or update a template. Unknown placeholders, bad brace syntax and missing parts
    (an email's subject, a Zalo template id) are refused with ValidationFailed, per field, and
    nothing is written."""
    template.variant = (template.variant or "").strip()
    try:
        template.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(errors=_errors(exc)) from exc
    with transaction.atomic():
        template.save()
    return template


def template_preview(*, template: MessageTemplate, member: Member | None = None) -> Rendered:
    """The template rendered with the member's data (example values for the rest)."""
    zone = member_zone(member) if member is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return template_render(template=template, values=sample_values(member=member), zone=zone)


def _checked_recipient(channel: str, recipient: str) -> str:
    recipient = (recipient or "").strip()
    try:
        if channel == Channel.EMAIL:
            validate_email(recipient)
        elif channel in (Channel.SMS, Channel.ZALO):
            recipient = phone_normalise(recipient)
        elif not recipient:
            raise ValidationError(_("Enter the device token to send the test to."))
    except ValidationError as exc:
        raise ValidationFailed(errors={"recipient": list(exc.messages)}) from exc
    return recipient


@dataclass(frozen=True)
class SentTest:
    recipient: str  # as sent: an E.164 phone for SMS and Zalo
    provider_message_id: str


def template_send_test(*, template: MessageTemplate, recipient: str, member: Member | None = None) -> SentTest:
    """Send the template, rendered as in the preview, to a staff address now, through the
    channel's real backend, outside the outbox and its rules (consent, quiet hours, caps are the
    members' protections, not staff's). ValidationFailed for a bad recipient; PreviewSendFailed
    with the provider's reason when the channel refuses."""
    recipient = _checked_recipient(template.channel, recipient)
    rendered = template_preview(template=template, member=member)
    if rendered.error:
        raise ValidationFailed(errors={"body": [rendered.error]})
    outgoing = OutgoingMessage(
        message_id=None,
        channel=template.channel,
        recipient=recipient,
        subject=rendered.subject,
        body=rendered.body,
        zns_template_id=rendered.zns_template_id,
        zns_params=rendered.zns_params,
        language=template.language,
        tracking_id=f"loyalty-test-{template.pk}-{recipient}"[:64],
    )
    try:
        result = channel_backend(template.channel).send(outgoing)
    except SendError as exc:
        raise PreviewSendFailed(_("The test message was not sent: %(reason)s") % {"reason": exc.reason}) from exc
    return SentTest(recipient=recipient, provider_message_id=result.provider_message_id)
