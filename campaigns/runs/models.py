"""Scheduled campaigns: an audience (a static group or a segment), what each member gets (a
voucher from the catalogue, bonus points, a notification), when it runs (once, on a recurring
schedule through django-celery-beat, or only by hand) and how often one member may get it.

`CampaignDelivery` is the once-per-member rule made physical: one row per (campaign, member,
period key), unique in the database, inserted before anything is given. A second run for the
same period finds the rows there and gives nothing twice."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.audiences.models import CustomerGroup, Segment
from campaigns.calendar.models import DateSchedule
from loyalty_site.core.models import TimeStampedModel
from notifications.models import Event
from stores.models import code_validator

cron_validator = RegexValidator(r"^[0-9*/,\-]+$", _("A crontab field: digits, *, /, commas and dashes, e.g. */15."))
weekday_cron_validator = RegexValidator(
    r"^[0-9a-zA-Z*/,\-]+$", _("A crontab field: digits or day names, *, /, commas and dashes, e.g. mon-fri.")
)


MAX_HOLDOUT_PERCENT = 50
MAX_RESULT_DAYS = 365


class Campaign(TimeStampedModel):
    class Schedule(models.TextChoices):
        MANUAL = "manual", _("Only when run by hand")
        ONCE = "once", _("Once, at a given time")
        RECURRING = "recurring", _("Recurring (crontab)")

    class VoucherDelivery(models.TextChoices):
        ISSUE = "issue", _("Issued when the campaign runs")
        CLAIM_LINK = "claim_link", _("Claimed by the member from a link in the message")

    class OncePer(models.TextChoices):
        RUN = "run", _("Once per run (per day of the run)")
        MONTH = "month", _("Once per calendar month")
        YEAR = "year", _("Once per calendar year")
        EVER = "ever", _("Once ever")

    class Journey(models.TextChoices):
        """Campaigns whose audience is a moment in each member's life, found afresh on every run
        (`campaigns.runs.journeys`); `journey_days` sets the moment."""

        NONE = "", _("None: the group or segment only")
        WELCOME = "welcome", _("Welcome: enrolled in the last N days")
        FIRST_VISIT = "first_visit", _("First visit follow-up: first purchase in the last N days")
        ANNIVERSARY = "anniversary", _("Enrolment anniversary: enrolled on this day in an earlier year")
        WIN_BACK = "win_back", _("Win-back: bought before, but not in the last N days")
        POINTS_EXPIRING = "points_expiring", _("Points about to expire in the next N days")

    code = models.CharField(_("code"), max_length=30, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)

    # --- Audience: a group or a segment, or a journey (which a group or a segment may narrow)
    journey = models.CharField(_("journey"), max_length=20, choices=Journey.choices, blank=True, default="")
    journey_days = models.PositiveIntegerField(
        _("journey days (N)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3660)],
        help_text=_(
            "Welcome and first visit: how many days back a run looks (so a missed run catches up); win-back: "
            "days without a purchase; points expiring: days ahead. Not used for anniversaries."
        ),
    )
    group = models.ForeignKey(
        CustomerGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("static group"),
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.PROTECT, null=True, blank=True, related_name="campaigns", verbose_name=_("segment")
    )

    # --- What each member gets: any of the three
    reward = models.ForeignKey(
        "vouchers.Reward",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("voucher to give"),
        help_text=_("Any reward of the catalogue, hidden ones included."),
    )
    voucher_delivery = models.CharField(
        _("how the voucher reaches the member"),
        max_length=12,
        choices=VoucherDelivery.choices,
        default=VoucherDelivery.ISSUE,
        help_text=_(
            "By a claim link, the run issues no voucher: the message carries {claim_link}, and the voucher is "
            "issued when the member opens it on the member pages, within the days to claim."
        ),
    )
    claim_days = models.PositiveSmallIntegerField(
        _("days to claim"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("For a claim link: the link works until the end of this many days after the run."),
    )
    bonus_points = models.PositiveIntegerField(
        _("bonus points to give"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    notification_event = models.CharField(
        _("notification to send"),
        max_length=50,
        blank=True,
        help_text=_("The event of a notification template, e.g. birthday. Empty: no message."),
    )
    notification_is_marketing = models.BooleanField(
        _("marketing message"),
        default=True,
        help_text=_("Marketing messages go only to members who consented to them."),
    )

    # --- When
    schedule = models.CharField(_("schedule"), max_length=10, choices=Schedule.choices, default=Schedule.MANUAL)
    run_at = models.DateTimeField(_("run at"), null=True, blank=True, help_text=_("For a campaign that runs once."))
    cron_minute = models.CharField(_("minute"), max_length=60, default="0", validators=[cron_validator])
    cron_hour = models.CharField(_("hour"), max_length=60, default="8", validators=[cron_validator])
    cron_day_of_month = models.CharField(_("day of the month"), max_length=60, default="1", validators=[cron_validator])
    cron_month_of_year = models.CharField(_("month"), max_length=60, default="*", validators=[cron_validator])
    cron_day_of_week = models.CharField(
        _("day of the week"), max_length=60, default="*", validators=[weekday_cron_validator]
    )
    once_per = models.CharField(_("each member gets it"), max_length=5, choices=OncePer.choices, default=OncePer.RUN)
    date_schedule = models.ForeignKey(
        DateSchedule,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("only on the days of the schedule"),
        help_text=_("Scheduled runs outside these days (e.g. the days around Tết) do nothing. Empty: every day."),
    )

    # --- Measuring it (reports.md, "Campaign result")
    holdout_percent = models.PositiveSmallIntegerField(
        _("holdout (%)"),
        default=0,
        validators=[MaxValueValidator(MAX_HOLDOUT_PERCENT, message=_("At most half of the audience can be held out."))],
        help_text=_(
            "A random share of the audience that gets nothing, kept to compare their sales with the members "
            "reached (0 to 50; 0: no holdout)."
        ),
    )
    result_days = models.PositiveSmallIntegerField(
        _("result window (days)"),
        default=30,
        validators=[
            MinValueValidator(1, message=_("Give a window of 1 to 365 days.")),
            MaxValueValidator(MAX_RESULT_DAYS, message=_("Give a window of 1 to 365 days.")),
        ],
        help_text=_("The sales of the N days after each delivery count towards the campaign's result."),
    )

    is_active = models.BooleanField(_("active"), default=False, editable=False)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True, editable=False)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("activated by"),
        editable=False,
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("periodic task"),
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["code"]
        permissions = [("run_campaign", _("Can run a campaign by hand or send a test"))]
        constraints = [
            models.CheckConstraint(
                condition=(Q(group__isnull=False) & Q(segment__isnull=True))
                | (Q(group__isnull=True) & Q(segment__isnull=False))
                | (~Q(journey="") & (Q(group__isnull=True) | Q(segment__isnull=True))),
                name="campaigns_campaign_one_audience",
            ),
            models.CheckConstraint(
                condition=Q(reward__isnull=False) | Q(bonus_points__gt=0) | ~Q(notification_event=""),
                name="campaigns_campaign_has_action",
            ),
            models.CheckConstraint(
                condition=~Q(schedule="once") | Q(run_at__isnull=False), name="campaigns_campaign_once_has_time"
            ),
            models.CheckConstraint(
                condition=Q(holdout_percent__lte=MAX_HOLDOUT_PERCENT), name="campaigns_campaign_holdout_range"
            ),
            models.CheckConstraint(
                condition=Q(result_days__gte=1) & Q(result_days__lte=MAX_RESULT_DAYS),
                name="campaigns_campaign_result_days_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def audience(self) -> CustomerGroup | Segment:
        return self.group if self.group_id else self.segment

    @property
    def crontab_text(self) -> str:
        return " ".join(
            [self.cron_minute, self.cron_hour, self.cron_day_of_month, self.cron_month_of_year, self.cron_day_of_week]
        )

    def period_key(self, *, as_of: datetime.date) -> str:
        """The once-per-member period a run for `as_of` belongs to."""
        if self.once_per == self.OncePer.EVER:
            return "ever"
        if self.once_per == self.OncePer.YEAR:
            return f"{as_of.year:04d}"
        if self.once_per == self.OncePer.MONTH:
            return f"{as_of.year:04d}-{as_of.month:02d}"
        return as_of.isoformat()

    def clean(self) -> None:
        errors: dict[str, list] = {}
        if self.group_id and self.segment_id:
            errors.setdefault("segment", []).append(_("Choose either a static group or a segment."))
        elif not (self.group_id or self.segment_id or self.journey):
            errors.setdefault("segment", []).append(_("Choose a static group, a segment or a journey."))
        needs_days = self.journey in (
            self.Journey.WELCOME,
            self.Journey.FIRST_VISIT,
            self.Journey.WIN_BACK,
            self.Journey.POINTS_EXPIRING,
        )
        if needs_days and not self.journey_days:
            errors.setdefault("journey_days", []).append(_("Give the number of days for this journey."))
        if not self.journey and self.journey_days:
            errors.setdefault("journey_days", []).append(_("Only a journey uses a number of days."))
        if not (self.reward_id or self.bonus_points or self.notification_event.strip()):
            errors.setdefault("reward", []).append(_("Give a voucher, bonus points or a notification, or several."))
        if self.notification_event and self.notification_event not in Event.values:
            errors.setdefault("notification_event", []).append(_("Unknown notification event."))
        if self.schedule == self.Schedule.ONCE and self.run_at is None:
            errors.setdefault("run_at", []).append(_("Give the time of the run."))
        if self.voucher_delivery == self.VoucherDelivery.CLAIM_LINK:
            if not self.reward_id:
                errors.setdefault("voucher_delivery", []).append(_("A claim link needs a voucher to give."))
            if not self.notification_event.strip():
                errors.setdefault("voucher_delivery", []).append(
                    _("A claim link reaches members only in a message: choose the notification to send.")
                )
        if errors:
            raise ValidationError(errors)


class CampaignRun(models.Model):
    """One run of a campaign, with what it did. Written by `campaign_run` as it goes."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        MANUAL = "manual", _("By hand")
        TEST = "test", _("Test")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="runs", verbose_name=_("campaign"))
    as_of = models.DateField(_("for the day"))
    period_key = models.CharField(_("period"), max_length=20)
    trigger = models.CharField(_("started by"), max_length=10, choices=Trigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff user"),
    )
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    audience_count = models.PositiveIntegerField(_("audience"), default=0)
    members_reached = models.PositiveIntegerField(_("members reached"), default=0)
    members_skipped = models.PositiveIntegerField(
        _("members skipped"), default=0, help_text=_("Already served in this period, or could not receive it.")
    )
    vouchers_issued = models.PositiveIntegerField(_("vouchers issued"), default=0)
    points_given = models.PositiveIntegerField(_("points given"), default=0)
    messages_queued = models.PositiveIntegerField(_("messages queued"), default=0)
    members_held_out = models.PositiveIntegerField(
        _("members held out"), default=0, help_text=_("The campaign's random holdout: recorded, given nothing.")
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("campaign run")
        verbose_name_plural = _("campaign runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.as_of} ({self.get_status_display()})"

    @property
    def duration(self) -> datetime.timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None


class CampaignDelivery(models.Model):
    """A member served by a campaign in a period. Inserted set-based (INSERT ... SELECT ... ON
    CONFLICT DO NOTHING) before the member is given anything, in the same transaction.

    A member drawn into the campaign's random holdout gets a row too, marked `holdout`, and is
    given nothing: the row keeps them out of later runs of the period (they stay held out) and is
    what the campaign's result compares the members reached with."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("campaign"), db_index=False
    )
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    period_key = models.CharField(_("period"), max_length=20)
    run = models.ForeignKey(
        CampaignRun, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("run"), db_index=False
    )
    delivered_at = models.DateTimeField(_("delivered at"))
    holdout = models.BooleanField(_("held out"), default=False, help_text=_("Recorded for comparison, given nothing."))

    class Meta:
        verbose_name = _("campaign delivery")
        verbose_name_plural = _("campaign deliveries")
        ordering = ["-delivered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "member", "period_key"], name="campaigns_delivery_once_per_period"
            ),
        ]
        indexes = [
            models.Index(fields=["run", "member"], name="campaigns_delivery_run"),
            models.Index(fields=["-delivered_at", "-id"], name="campaigns_delivery_recent"),  # the admin's list
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.member_id} ({self.period_key})"
