"""The services of the notifications app: the only code that writes its tables.

The API for other apps
======================

    from notifications.services import message_enqueue
    from notifications.models import Event

    message_enqueue(
        member=member,                      # members.models.Member (a merged one stands for its survivor)
        event=Event.POINTS_EARNED,          # points-earned, tier-changed, voucher-issued,
                                            # points-expiring, birthday, campaign
        context={"points_earned": 85, "store_name": store.name},
        send_at=None,                       # aware datetime; None or past: now
        channels=None,                      # e.g. ["zalo", "sms"]; None: every channel with an
                                            # active template for the event
        marketing=None,                     # None: the event's default (birthday and campaign are
                                            # marketing, the others transactional)
        dedupe_key=f"sale:{sale.pk}",       # optional: at most one message per member, event,
                                            # channel and key, whoever calls and however often
        variant="",                         # optional: a template variant, e.g. a campaign code
                                            # (falls back to the event's default text)
    ) -> list[Message]

It must be called inside the caller's transaction (or it opens its own): the outbox rows are
written in it, and the sending task is queued only after it commits (`transaction.on_commit`),
so a rolled-back sale sends nothing. It returns one `Message` per channel, each pending (with
its send time) or skipped with the reason; with a `dedupe_key` already used it returns the
existing rows and writes nothing. A programming error (an unknown event, channel or context key)
raises ValueError.

`context` keys are the placeholders of `notifications.rendering.PLACEHOLDERS`: member_name,
points_balance, store_name (these three default to the member's name, balance and home store),
points_earned, tier_name, voucher_code, voucher_name, voucher_expires_at, expiring_points,
expiry_date, campaign_name. Pass numbers as int and dates as `date`; they are formatted in the
member's language.

Rules applied per channel, in this order (the first one that applies skips the message; they
live in one place, `notifications.rules.message_decide`, which both enqueues call):
no active template (when `channels` names the channel); marketing to a blocked member; no
consent on the channel (always for marketing, for transactional messages only when
NOTIFICATIONS_TRANSACTIONAL_REQUIRES_CONSENT); no address (email, phone, push token); a
placeholder without a value; the daily marketing cap (NOTIFICATIONS_MARKETING_DAILY_CAP per
member per store-local day). SMS and Zalo due in the quiet hours (21:00-08:00 store time) are
scheduled for the end of them. The member's language (`MemberPreference`, default vi) picks the
template; a missing translation falls back to Vietnamese.

Many members at once
====================

    from notifications.services import messages_enqueue_bulk

    messages_enqueue_bulk(
        members=member_ids,                 # member ids, or a queryset (used as a subquery)
        event=Event.TIER_CHANGED,
        context=None,                       # values every member gets (optional)
        context_for=lambda member_id, language: {"tier_name": names[language]},
                                            # one member's values, given their language (optional)
        dedupe_key="tier-evaluate:2025-06-10:VIP:MEMBER",
                                            # or dedupe_key_for=lambda member_id: ...
        send_at=None, channels=None, marketing=None, variant="",   # as message_enqueue
    ) -> BulkMessages                       # counts: pending, skipped, existing, dispatched

writes, in the caller's transaction, exactly the rows `message_enqueue` would write called once
per member, with every rule above, in a handful of queries per batch (COPY on PostgreSQL), and
queues one sending task per batch and send time after commit. Use it wherever one event goes to
many members: a campaign run, the daily tier evaluation. `messages_withdraw` takes back what it
wrote in the current transaction for members who turn out not to be served after all.
"""

from notifications.services.bulk import BulkMessages, messages_enqueue_bulk, messages_withdraw
from notifications.services.outbox import (
    SweepResult,
    message_enqueue,
    message_enqueue_first,
    message_enqueue_to_phone,
    message_resend,
    message_send,
    outbox_sweep,
)
from notifications.services.preferences import member_preference_set
from notifications.services.presence import PresenceCodeSent, presence_code_send
from notifications.services.push import (
    push_subscribe,
    push_subscription_delivered,
    push_subscription_disable,
    push_unsubscribe,
)
from notifications.services.reminders import ReminderResult, expiry_reminders_enqueue
from notifications.services.signin import sign_in_code_send
from notifications.services.templates import template_preview, template_save, template_send_test
from notifications.services.unsubscribe import Unsubscribe, unsubscribe_apply, unsubscribe_check
from notifications.services.zalo import RenewalResult, zalo_token_renew, zalo_tokens_set

__all__ = [
    "BulkMessages",
    "PresenceCodeSent",
    "ReminderResult",
    "RenewalResult",
    "SweepResult",
    "Unsubscribe",
    "expiry_reminders_enqueue",
    "member_preference_set",
    "message_enqueue",
    "message_enqueue_first",
    "message_enqueue_to_phone",
    "message_resend",
    "message_send",
    "messages_enqueue_bulk",
    "messages_withdraw",
    "outbox_sweep",
    "presence_code_send",
    "push_subscribe",
    "push_subscription_delivered",
    "push_subscription_disable",
    "push_unsubscribe",
    "sign_in_code_send",
    "template_preview",
    "template_save",
    "template_send_test",
    "unsubscribe_apply",
    "unsubscribe_check",
    "zalo_token_renew",
    "zalo_tokens_set",
]
