"""Sending the one-time code that proves the member is at the till (pos-api.md 1.1).

The code is made by `members.services.presence_code_issue` (stored hashed, at most 3 a member
per 10 minutes) and goes out through the outbox like every message, as the transactional event
`presence-code`: Zalo first when an active Zalo template exists, else SMS; one message only.
It is never held back by the quiet hours (the member is waiting at the till, and the code is
dead after 5 minutes), is sent to blocked members too (who cannot spend anyway), and follows
NOTIFICATIONS_TRANSACTIONAL_REQUIRES_CONSENT like any transactional message. When no channel can
carry it, PresenceCodeNotSent (422) rolls everything back: the code and the attempt."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.transactions import service_transaction
from members.models import Member
from members.selectors import member_resolve
from members.services import presence_code_issue
from notifications.errors import PresenceCodeNotSent
from notifications.models import Channel, Event, Message
from notifications.services.outbox import message_enqueue_first
from stores.models import Store

PRESENCE_CHANNELS = (Channel.ZALO, Channel.SMS)


@dataclass(frozen=True)
class PresenceCodeSent:
    channel: str
    expires_at: datetime.datetime
    message: Message


def presence_code_send(
    *, member: Member, store: Store | None = None, at: datetime.datetime | None = None
) -> PresenceCodeSent:
    """Make a one-time code for `member` and queue it on the first channel that can carry it."""
    at = at or timezone.now()
    member = member_resolve(member)
    with service_transaction():
        row, code = presence_code_issue(member=member, at=at)
        context = {"one_time_code": code}
        if store is not None:
            context["store_name"] = store.name
        message = message_enqueue_first(
            member=member,
            event=Event.PRESENCE_CODE,
            context=context,
            channels=PRESENCE_CHANNELS,
            dedupe_key=f"presence-code:{row.pk}",
            now=at,
        )
        if message is None:
            raise PresenceCodeNotSent(_("Neither Zalo nor SMS can reach this member: no code was sent."))
    return PresenceCodeSent(channel=str(message.channel), expires_at=row.expires_at, message=message)
