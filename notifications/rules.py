"""The rule chain of the outbox: what one message to one member on one channel becomes.

`message_decide` is the only place the rules live; `message_enqueue` (one member) and
`messages_enqueue_bulk` (many, set-based) both call it for every channel of every member, and
differ only in how they read the facts it needs and how they write its rows. It reads nothing
from the database itself: the caller gives the member's facts (`Recipient`), what is the same
for the whole enqueue (`Enqueue`: the event, the clock, the settings, the active templates,
each compiled once), and the marketing messages already going to the member on a day
(`SentOnDay`). The rendering is `notifications.rendering.CompiledTemplate`'s, the one renderer.

The rules, in order (the first that applies decides):
1. the dedupe key was already used for this member, event and channel: nothing is written;
2. no active template: skipped (no-template);
3. marketing to a blocked member: skipped (member-blocked);
4. no consent on the channel (always for marketing, for transactional messages only when
   NOTIFICATIONS_TRANSACTIONAL_REQUIRES_CONSENT): skipped (no-consent);
5. no address on the channel (email, phone, push token): skipped (no-address);
6. a placeholder without a value, or a template that does not parse: skipped (missing-data);
7. SMS and Zalo due in the quiet hours (21:00-08:00 store time) wait for the end of them, but
   for the urgent events (a one-time code the member waits for at the till);
8. marketing over NOTIFICATIONS_MARKETING_DAILY_CAP on the store-local day the message goes
   out: skipped (daily-cap);
9. otherwise pending: due at the requested time, now or `send_at` ("queue"), or at the end of
   the quiet hours ("hold"); beyond the ETA horizon the sweeper queues it when due.
A skipped message keeps its rendered text, so the outbox shows what would have been sent."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from django.utils import translation
from django.utils.translation import gettext as _

from members.models import Member
from notifications.conf import notifications_setting
from notifications.models import URGENT_EVENTS, Message, MessageTemplate
from notifications.rendering import CompiledTemplate
from notifications.selectors import member_address, template_pick
from notifications.timing import local_day_bounds, quiet_hours_release
from notifications.unsubscribe import unsubscribe_url

Status = Message.Status
SkipReason = Message.SkipReason

Day = tuple[datetime.datetime, datetime.datetime]

# Marketing messages on these channels always carry their unsubscribe link (member-web.md).
UNSUBSCRIBE_FOOTER_CHANNELS = frozenset({"email", "sms"})
UNSUBSCRIBE_PLACEHOLDER = "unsubscribe_link"

# What `message_decide` decided.
EXISTING = "existing"  # the dedupe key was already used: write nothing
SKIP = "skip"  # write the row, skipped with the reason
QUEUE = "queue"  # write the row, pending, due at the requested time
HOLD = "hold"  # write the row, pending, due at the end of the quiet hours


def queued_for(
    due: datetime.datetime, now: datetime.datetime, *, horizon: datetime.timedelta | None = None
) -> datetime.datetime | None:
    """When the task queued for a message due at `due` will run, or None when it is too far
    ahead for a Celery ETA and the sweeper will queue it once due. `horizon`: the setting
    NOTIFICATIONS_ETA_HORIZON_SECONDS, when the caller has read it already."""
    if horizon is None:
        horizon = datetime.timedelta(seconds=notifications_setting("ETA_HORIZON_SECONDS"))
    return max(due, now) if due - now <= horizon else None


def consent_required(marketing: bool) -> bool:
    return marketing or notifications_setting("TRANSACTIONAL_REQUIRES_CONSENT")


@dataclass
class Enqueue:
    """What is the same for every message of one enqueue: the event, whether it is marketing,
    the clock, and the settings (read once). Also remembers each zone's and channel's send time,
    the same for every member who shares them."""

    event: str
    marketing: bool
    requested_at: datetime.datetime
    now: datetime.datetime
    consent_required: bool
    daily_cap: int
    eta_horizon: datetime.timedelta
    templates: Mapping[tuple[str, str], MessageTemplate]
    _compiled: dict[tuple[str, str], CompiledTemplate | None] = field(default_factory=dict, repr=False)
    _send_times: dict[tuple[str, str], tuple[datetime.datetime, Day]] = field(default_factory=dict, repr=False)
    _footers: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @classmethod
    def start(
        cls,
        *,
        event: str,
        marketing: bool,
        templates: Mapping[tuple[str, str], MessageTemplate],
        send_at: datetime.datetime | None,
        now: datetime.datetime,
    ) -> Enqueue:
        """`templates`: the active templates of the event's variant (`templates_active`)."""
        return cls(
            event=event,
            marketing=marketing,
            requested_at=max(send_at, now) if send_at is not None else now,
            now=now,
            consent_required=consent_required(marketing),
            daily_cap=notifications_setting("MARKETING_DAILY_CAP") if marketing else 0,
            eta_horizon=datetime.timedelta(seconds=notifications_setting("ETA_HORIZON_SECONDS")),
            templates=templates,
        )

    def template(self, channel: str, language: str) -> CompiledTemplate | None:
        """The template for `channel` in `language` (else the default language, else any:
        `template_pick`), compiled once for the whole enqueue."""
        key = (channel, language)
        if key not in self._compiled:
            picked = template_pick(self.templates, channel=channel, language=language)
            same = next((c for c in self._compiled.values() if c is not None and c.template is picked), None)
            self._compiled[key] = same or (CompiledTemplate(picked) if picked is not None else None)
        return self._compiled[key]

    def unsubscribe_footer(self, channel: str, language: str) -> str:
        """What is added to a marketing email or SMS that does not show its unsubscribe link,
        in the template's language (translated once per enqueue), with `%(link)s` to fill."""
        key = (channel, language)
        text = self._footers.get(key)
        if text is None:
            with translation.override(language):
                if channel == "sms":
                    # Short: an SMS is paid per 70 characters.
                    text = "\n" + _("Opt out: %(link)s")
                else:
                    text = "\n\n--\n" + _("To stop receiving these emails, unsubscribe in one click: %(link)s")
            self._footers[key] = text
        return text

    def send_time(self, zone: zoneinfo.ZoneInfo, channel: str) -> tuple[datetime.datetime, Day]:
        """When a message on `channel` to a member in `zone` may go out, and the local day it
        counts against."""
        key = (zone.key, channel)
        found = self._send_times.get(key)
        if found is None:
            scheduled_at = (
                self.requested_at
                if self.event in URGENT_EVENTS
                else quiet_hours_release(self.requested_at, zone, channel)
            )
            found = self._send_times[key] = (scheduled_at, local_day_bounds(scheduled_at, zone))
        return found


@dataclass(slots=True)
class Recipient:
    """The member's facts the rules read: who (the record the message goes to), whether they are
    blocked, their consent and address per channel, their language and their store's zone."""

    member_id: int | None  # None: a phone that is no member's (`message_enqueue_to_phone`)
    blocked: bool
    consents: Mapping[str, datetime.datetime | None]
    addresses: Mapping[str, str]
    language: str
    zone: zoneinfo.ZoneInfo


def recipient_facts(member, preference, *, channels: list[str], language: str, zone: zoneinfo.ZoneInfo) -> Recipient:
    """A `Recipient` from a member (a `Member`, or a view with the same fields) and their
    preference (or None), for the channels of the enqueue."""
    return Recipient(
        member_id=member.pk,
        blocked=member.status == Member.Status.BLOCKED,
        consents={channel: member.consent_given_at(channel) for channel in channels},
        addresses={channel: member_address(member, channel, preference) for channel in channels},
        language=language,
        zone=zone,
    )


class SentOnDay(Protocol):
    """The marketing messages going to a member on a local day (pending, sending or sent)."""

    def count(self, member_id: int, day: Day) -> int: ...

    def add(self, member_id: int, day: Day) -> None:
        """One more pending marketing message was decided for the member that day."""


@dataclass(slots=True)
class Decision:
    outcome: str  # EXISTING, SKIP, QUEUE or HOLD
    row: dict | None  # the Message row as {attname: value}; None when EXISTING


def _row(
    enqueue: Enqueue,
    recipient: Recipient,
    channel: str,
    dedupe_key: str,
    *,
    language: str,
    template_id: int | None,
    subject: str = "",
    body: str = "",
    zns_template_id: str = "",
    zns_params: dict | None = None,
) -> dict:
    """Every field of the outbox row but its clock, pending at the requested time."""
    return {
        "member_id": recipient.member_id,
        "event": enqueue.event,
        "channel": channel,
        "language": language,
        "template_id": template_id,
        "marketing": enqueue.marketing,
        "dedupe_key": dedupe_key,
        "recipient": recipient.addresses[channel],
        "subject": subject,
        "body": body,
        "zns_template_id": zns_template_id,
        "zns_params": zns_params if zns_params is not None else {},
        "status": Status.PENDING,
        "skip_reason": "",
        "skip_detail": "",
        "scheduled_at": enqueue.requested_at,
        "queued_at": None,
    }


def _skipped(row: dict, reason: str, detail: str = "") -> Decision:
    row.update(status=Status.SKIPPED, skip_reason=reason, skip_detail=detail[:300], queued_at=None)
    return Decision(SKIP, row)


def message_decide(
    *,
    enqueue: Enqueue,
    recipient: Recipient,
    channel: str,
    values: Mapping[str, object],
    dedupe_key: str,
    key_used: bool,
    sent: SentOnDay,
) -> Decision:
    """The message `enqueue` writes for `recipient` on `channel`, with every rule applied in the
    order of the module docstring, in the template of the member's language. `values` are the
    placeholder values (the member's and the caller's); `key_used` whether `dedupe_key` is
    already used for this member, event and channel. Calls `sent.count` only for a marketing
    message that passes every other rule, and `sent.add` when it is pending."""
    if key_used:
        return Decision(EXISTING, None)
    template = enqueue.template(channel, recipient.language)
    if template is None:
        row = _row(enqueue, recipient, channel, dedupe_key, language=recipient.language, template_id=None)
        return _skipped(row, SkipReason.NO_TEMPLATE)
    footer = enqueue.marketing and channel in UNSUBSCRIBE_FOOTER_CHANNELS
    link = ""
    if footer or UNSUBSCRIBE_PLACEHOLDER in template.used:
        link = unsubscribe_url(member_id=recipient.member_id, channel=channel, at=enqueue.now)
        values = {**values, UNSUBSCRIBE_PLACEHOLDER: link}
    rendered = template.render(values, recipient.zone)
    if footer and link not in rendered.body:
        rendered.body += enqueue.unsubscribe_footer(channel, template.language) % {"link": link}
    row = _row(
        enqueue,
        recipient,
        channel,
        dedupe_key,
        language=template.language,
        template_id=template.pk,
        subject=rendered.subject,
        body=rendered.body,
        zns_template_id=rendered.zns_template_id,
        zns_params=rendered.zns_params,
    )
    if enqueue.marketing and recipient.blocked:
        return _skipped(row, SkipReason.MEMBER_BLOCKED)
    if enqueue.consent_required and recipient.consents[channel] is None:
        return _skipped(row, SkipReason.NO_CONSENT)
    if not row["recipient"]:
        return _skipped(row, SkipReason.NO_ADDRESS)
    if rendered.error or rendered.missing:
        detail = rendered.error or ", ".join("{" + name + "}" for name in rendered.missing)
        return _skipped(row, SkipReason.MISSING_DATA, detail)
    scheduled_at, day = enqueue.send_time(recipient.zone, channel)
    row["scheduled_at"] = scheduled_at
    cap = enqueue.daily_cap
    if enqueue.marketing and cap > 0:
        if sent.count(recipient.member_id, day) >= cap:
            return _skipped(row, SkipReason.DAILY_CAP, _("%(cap)d per day") % {"cap": cap})
        sent.add(recipient.member_id, day)
    row["queued_at"] = queued_for(scheduled_at, enqueue.now, horizon=enqueue.eta_horizon)
    return Decision(HOLD if scheduled_at > enqueue.requested_at else QUEUE, row)
