"""One-click unsubscribe (member-web.md, RFC 8058): what a link names, and withdrawing that
consent. The token is `notifications.unsubscribe`'s; the record of the change is the members
app's (`member_consent_set`, source "unsubscribe-link")."""

from __future__ import annotations

from dataclasses import dataclass

from members.models import ConsentChange, Member
from members.selectors import member_resolve
from members.services import member_consent_set
from notifications.errors import UnsubscribeLinkExpired, UnsubscribeLinkInvalid
from notifications.unsubscribe import TokenExpired, TokenInvalid, unsubscribe_token_read


@dataclass(frozen=True)
class Unsubscribe:
    member: Member
    channel: str
    given: bool  # the member's consent on the channel right now


def unsubscribe_check(*, token: str) -> Unsubscribe:
    """The member and channel a link names (a merged member: their survivor). Refusals:
    UnsubscribeLinkInvalid (400), UnsubscribeLinkExpired (400). Writes nothing."""
    try:
        named = unsubscribe_token_read(token)
    except TokenExpired:
        raise UnsubscribeLinkExpired() from None
    except TokenInvalid:
        raise UnsubscribeLinkInvalid() from None
    member = Member.objects.filter(pk=named.member_id).first()
    if member is None:
        raise UnsubscribeLinkInvalid()
    member = member_resolve(member)
    return Unsubscribe(member=member, channel=named.channel, given=member.consent_given_at(named.channel) is not None)


def unsubscribe_apply(*, token: str, note: str = "") -> Unsubscribe:
    """Withdraw the consent the link names; recorded as a `ConsentChange` (source
    unsubscribe-link) unless it was withdrawn already (unsubscribing twice is fine)."""
    found = unsubscribe_check(token=token)
    member = member_consent_set(
        member=found.member,
        channel=found.channel,
        given=False,
        source=ConsentChange.Source.UNSUBSCRIBE_LINK,
        note=note,
    )
    return Unsubscribe(member=member, channel=found.channel, given=False)
