"""Notification templates, members' language preferences and the outbox.

Everything here is written by `notifications.services` only. Other apps enqueue messages with
`notifications.services.message_enqueue` (see its module docstring)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel
from members.models import Member
from notifications.rendering import template_errors


class Event(models.TextChoices):
    """What a message is about. The code is what other apps pass to `message_enqueue`."""

    POINTS_EARNED = "points-earned", _("Points earned")
    TIER_CHANGED = "tier-changed", _("Tier changed")
    VOUCHER_ISSUED = "voucher-issued", _("Voucher issued")
    POINTS_EXPIRING = "points-expiring", _("Points expiring")
    BIRTHDAY = "birthday", _("Birthday")
    CAMPAIGN = "campaign", _("Campaign")
    PRESENCE_CODE = "presence-code", _("One-time code to spend points")
    SIGN_IN_CODE = "sign-in-code", _("Code to sign in to the member pages")
    MEMBERSHIP_RENEWAL = "membership-renewal", _("Paid membership: renewal reminder")
    MEMBERSHIP_EXPIRED = "membership-expired", _("Paid membership: ended")


# Events that are marketing unless the caller says otherwise: they need the member's consent on
# the channel, count against the daily cap and are never sent to blocked members.
MARKETING_EVENTS = frozenset({Event.BIRTHDAY, Event.CAMPAIGN})

# Events a member is waiting for right now (a one-time code valid 5 minutes, asked for at the
# till): never held back by the quiet hours, which would make them useless.
# The sign-in code of the member pages likewise (valid 5 minutes, asked for by the person holding
# the phone).
URGENT_EVENTS = frozenset({Event.PRESENCE_CODE, Event.SIGN_IN_CODE})


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    ZALO = "zalo", _("Zalo ZNS")
    PUSH = "push", _("Push notification")


class Language(models.TextChoices):
    VI = "vi", _("Vietnamese")
    EN = "en", _("English")


class MessageTemplate(TimeStampedModel):
    """The text of one event on one channel in one language. `variant` tells templates of the
    same event apart (e.g. a campaign code); blank is the event's default.

    Placeholders are written `{member_name}`; the ones each event offers are listed in
    `notifications.rendering.PLACEHOLDERS` and shown in the admin. Anything else in braces is
    refused when the template is saved (write `{{` and `}}` for literal braces)."""

    event = models.CharField(_("event"), max_length=20, choices=Event.choices)
    variant = models.CharField(
        _("variant"),
        max_length=50,
        blank=True,
        help_text=_("Blank for the event's default text; e.g. a campaign code for a campaign's own text."),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.VI)
    subject = models.CharField(
        _("subject"), max_length=200, blank=True, help_text=_("Email subject or push notification title.")
    )
    body = models.TextField(
        _("text"),
        blank=True,
        help_text=_("The message text. For Zalo it is only shown in the outbox: Zalo sends its own approved template."),
    )
    zalo_template_id = models.CharField(
        _("Zalo ZNS template id"), max_length=64, blank=True, help_text=_("The id of the template approved by Zalo.")
    )
    zalo_params = models.JSONField(
        _("Zalo ZNS parameters"),
        default=dict,
        blank=True,
        help_text=_('Each parameter of the Zalo template and its value, e.g. {"customer_name": "{member_name}"}.'),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")
        ordering = ["event", "variant", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "variant", "channel", "language"],
                name="notifications_template_event_channel_language_uniq",
            )
        ]

    def __str__(self) -> str:
        variant = f" [{self.variant}]" if self.variant else ""
        return f"{self.get_event_display()}{variant} · {self.get_channel_display()} · {self.language}"

    def clean(self) -> None:
        super().clean()
        errors = template_errors(
            event=self.event,
            channel=self.channel,
            subject=self.subject,
            body=self.body,
            zalo_template_id=self.zalo_template_id,
            zalo_params=self.zalo_params,
        )
        if errors:
            raise ValidationError(errors)


class MemberPreference(models.Model):
    """What the member chose for their messages. Kept here, not on `Member`: members must not
    depend on notifications. No row means the defaults."""

    member = models.OneToOneField(
        Member, on_delete=models.CASCADE, related_name="notification_preference", verbose_name=_("member")
    )
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.VI)
    push_token = models.CharField(
        _("push address"),
        max_length=1000,
        blank=True,
        help_text=_(
            "Where push messages go: the endpoint of the member's latest web push subscription (kept by the "
            "member pages), or a device token of the HTTP push service; blank: no push messages."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("member notification preference")
        verbose_name_plural = _("member notification preferences")
        ordering = ["member_id"]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.language}"


class PushSubscription(models.Model):
    """A browser's standard Web Push subscription (RFC 8030 / 8291 / 8292), given by the member
    on their own pages: the push service's `endpoint` URL and the browser's keys to encrypt for
    (`p256dh`, `auth`). The endpoint of the member's latest active subscription is their push
    address (`MemberPreference.push_token`, read with the member's language at no extra cost):
    a message's recipient is that endpoint, and the web push backend looks the keys up by it.
    Disabled (never deleted) when the push service says it is gone (404 / 410) or the member
    turns it off. Written by `notifications.services.push` only."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="push_subscriptions", verbose_name=_("member")
    )
    endpoint = models.CharField(_("endpoint"), max_length=1000, unique=True)
    p256dh = models.CharField(_("browser public key (p256dh)"), max_length=200)
    auth = models.CharField(_("authentication secret"), max_length=100)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("subscribed at"))
    last_success_at = models.DateTimeField(_("last delivered at"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("web push subscription")
        verbose_name_plural = _("web push subscriptions")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["member", "-created_at"],
                condition=Q(disabled_at__isnull=True),
                name="notifications_push_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.endpoint[:60]}"


class Message(TimeStampedModel):
    """One message to one member on one channel: the outbox row.

    Written in the transaction of the event that caused it, then sent after commit. A worker
    claims it (pending -> sending, one atomic UPDATE) before sending, so no two workers ever
    send the same message; `attempts` doubles as the claim token. Skipped messages are kept,
    with the reason, so the outbox shows every decision."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class SkipReason(models.TextChoices):
        NO_TEMPLATE = "no-template", _("No active template for this event and channel")
        MEMBER_BLOCKED = "member-blocked", _("The member is blocked")
        NO_CONSENT = "no-consent", _("No consent for this channel")
        NO_ADDRESS = "no-address", _("No address for this channel")
        MISSING_DATA = "missing-data", _("Data for the template is missing")
        DAILY_CAP = "daily-cap", _("Daily marketing cap reached")

    # Blank only for a sign-in code sent to a phone that is not a member yet (it proves the phone
    # before enrolment on the member pages): `recipient` is then the only address.
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="messages", verbose_name=_("member")
    )
    event = models.CharField(_("event"), max_length=20, choices=Event.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices)
    template = models.ForeignKey(
        MessageTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("template"),
    )
    marketing = models.BooleanField(_("marketing"), default=False)
    # An email, a phone in E.164, or a web push endpoint (some push services' run to ~500 characters).
    recipient = models.CharField(_("recipient"), max_length=1000, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"), blank=True)
    zns_template_id = models.CharField(_("Zalo ZNS template id"), max_length=64, blank=True)
    zns_params = models.JSONField(_("Zalo ZNS parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    skip_reason = models.CharField(_("reason skipped"), max_length=20, choices=SkipReason.choices, blank=True)
    skip_detail = models.CharField(_("details"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    scheduled_at = models.DateTimeField(_("scheduled for"))
    queued_at = models.DateTimeField(
        _("queued for"), null=True, blank=True, help_text=_("When the last task queued for it was due to run.")
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    dedupe_key = models.CharField(
        _("deduplication key"),
        max_length=200,
        blank=True,
        help_text=_("Enqueueing again with the same key for the same member, event and channel sends nothing."),
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-pk"]
        permissions = [("resend_message", _("Can send failed messages again"))]
        indexes = [
            models.Index(fields=["status", "scheduled_at"], name="notifications_msg_due"),
            models.Index(fields=["member", "marketing", "scheduled_at"], name="notifications_msg_cap"),
            models.Index(fields=["member", "event", "created_at"], name="notifications_msg_member_event"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "event", "channel", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notifications_message_dedupe_uniq",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="notifications_message_sent_has_time"
            ),
            models.CheckConstraint(
                condition=(Q(status="skipped") & ~Q(skip_reason="")) | (~Q(status="skipped") & Q(skip_reason="")),
                name="notifications_message_skipped_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="notifications_message_sending_is_claimed",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event} · {self.channel} → {self.member_id} ({self.status})"


class ZaloConnection(models.Model):
    """The Zalo Official Account's tokens for ZNS (one row, pk 1): the access token the Zalo
    backend sends with each message, and the refresh token that renews it. Zalo access tokens
    last about 25 hours and each refresh token works once (every renewal returns a new one), so
    `notifications.services.zalo_token_renew` renews ahead of expiry under a row lock, one
    renewal at a time. Both tokens are stored encrypted (`notifications.zalo_tokens`) and never
    shown; a failed renewal is kept here and raised as a banner in the admin."""

    SINGLETON_PK = 1

    access_token_encrypted = models.TextField(_("access token (encrypted)"), blank=True, editable=False)
    refresh_token_encrypted = models.TextField(_("refresh token (encrypted)"), blank=True, editable=False)
    access_expires_at = models.DateTimeField(_("access token expires at"), null=True, blank=True, editable=False)
    renewed_at = models.DateTimeField(_("last renewed at"), null=True, blank=True, editable=False)
    failed_at = models.DateTimeField(_("last renewal failed at"), null=True, blank=True, editable=False)
    failures = models.PositiveIntegerField(_("failed renewals in a row"), default=0, editable=False)
    last_error = models.CharField(_("last renewal error"), max_length=500, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("refresh token given by"),
        editable=False,
    )

    class Meta:
        verbose_name = _("Zalo connection")
        verbose_name_plural = _("Zalo connection")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="notifications_zaloconnection_singleton")]

    def __str__(self) -> str:
        return str(_("Zalo Official Account tokens"))

    @property
    def is_failing(self) -> bool:
        """The last renewal failed (and none succeeded since)."""
        return self.failed_at is not None and (self.renewed_at is None or self.failed_at > self.renewed_at)
