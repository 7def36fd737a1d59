"""Sending the code that signs a person in to the member pages (member-web.md).

The code is made and kept (hashed) by the portal; this only carries it, through the outbox like
every message, as the transactional, urgent event `sign-in-code` (never held back by the quiet
hours: it is dead after 5 minutes). To a member: by Zalo ZNS when the member consented to Zalo
and an active Zalo template exists, else by SMS; one message only. To a phone that is no
member's (its owner proves it before enrolling): by SMS, as a message without a member
(`message_enqueue_to_phone`). When nothing can carry it, SignInCodeNotSent rolls back the
caller's transaction, the code with it."""

from __future__ import annotations

import datetime

from django.utils.translation import gettext as _

from loyalty_site.core.transactions import service_transaction
from members.models import Member
from notifications.errors import SignInCodeNotSent
from notifications.models import Channel, Event, Message
from notifications.services.outbox import message_enqueue_first, message_enqueue_to_phone


def sign_in_code_send(
    *, phone: str, member: Member | None, code: str, language: str = "", at: datetime.datetime | None = None
) -> Message:
    """Queue `code` for the person at `phone` (E.164): the member's channels when `member` is
    given, else an SMS to `phone` in `language`. Returns the pending message."""
    context = {"one_time_code": code}
    with service_transaction():
        if member is not None:
            channels = [Channel.ZALO, Channel.SMS] if member.consent_zalo_at else [Channel.SMS]
            message = message_enqueue_first(
                member=member, event=Event.SIGN_IN_CODE, context=context, channels=channels, dedupe_key="", now=at
            )
        else:
            message = message_enqueue_to_phone(
                phone=phone, event=Event.SIGN_IN_CODE, context=context, language=language, now=at
            )
            if message.status != Message.Status.PENDING:
                message = None
        if message is None:
            raise SignInCodeNotSent(_("The sign-in code cannot be sent right now: please try again later."))
    return message
