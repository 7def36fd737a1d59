"""Tiers, the programme's tier settings, each member's tier status, the qualifying spend that
moves it and the history of every change.

Everything here is written by `tiers.services` only. Amounts that thresholds compare against
("qualifying spend") are VND when the programme counts spend and points when it counts points
earned (`TierSettings.basis`); they are stored as Decimal either way.

A member without a `TierStatus` row is in the entry tier (the lowest rank, threshold 0): rows
are created lazily, on the member's first qualifying event or when staff set a tier."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel, UpdatedByModel, settings_history
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from members.models import Member
from stores.models import code_validator

PERCENT_VALIDATORS = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


def _amount_field(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs)


def _percent_field(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=5, decimal_places=2, validators=PERCENT_VALIDATORS, **kwargs)


# --- Programme tier settings ------------------------------------------------------------------


class TierSettings(UpdatedByModel):
    """What tier thresholds count and over which period: one row (pk 1), read through
    `tiers.selectors.tier_settings_get()` and written through
    `tiers.services.tier_settings_update()`."""

    SINGLETON_PK = 1

    class Basis(models.TextChoices):
        SPEND = "spend", _("Qualifying spend (VND)")
        POINTS = "points", _("Points earned")

    class Window(models.TextChoices):
        SINCE_ENROLMENT = "since_enrolment", _("Since enrolment or the last downgrade")
        ROLLING = "rolling", _("A rolling window of N months")

    basis = models.CharField(
        _("thresholds count"),
        max_length=10,
        choices=Basis.choices,
        default=Basis.SPEND,
        help_text=_("Qualifying spend is the money actually paid (the earn base); points are the points earned."),
    )
    window = models.CharField(_("counted over"), max_length=20, choices=Window.choices, default=Window.SINCE_ENROLMENT)
    window_months = models.PositiveSmallIntegerField(
        _("rolling window (months)"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("For a rolling window: only what was spent in the last N months counts."),
    )
    last_evaluated_on = models.DateField(_("cycles last evaluated for"), null=True, blank=True, editable=False)

    history = settings_history(_("tier settings history"))

    class Meta:
        verbose_name = _("tier settings")
        verbose_name_plural = _("tier settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="tiers_tiersettings_singleton"),
        ]

    def __str__(self) -> str:
        return str(_("Tier settings"))


# --- Tiers ------------------------------------------------------------------------------------


class Tier(TimeStampedModel):
    """One tier of the ladder. The entry tier is the one with the lowest rank; its threshold is
    0 and it has no retention rule. Higher ranks need strictly higher thresholds
    (`tiers.services.tier_ladder_errors` checks the whole ladder before any save)."""

    class OnFailure(models.TextChoices):
        SUPPORTED = "supported", _("Drop to the tier the member's spend supports")
        ONE_DOWN = "one_down", _("Drop one tier only")

    code = models.CharField(_("code"), max_length=20, unique=True, validators=[code_validator])
    name = models.CharField(_("name (Vietnamese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    description = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("Higher is better. The lowest rank is the entry tier.")
    )
    threshold = _amount_field(
        _("entry threshold"),
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Qualifying spend (VND) or points earned, as the tier settings say, that reaches this tier."),
    )
    earn_rate_percent = _percent_field(
        _("earn rate (%)"), default=Decimal(5), help_text=_("Points earned as a percentage of the earn base.")
    )
    invoice_discount_percent = _percent_field(
        _("discount on every invoice (%)"),
        default=Decimal(0),
        help_text=_("A standing discount on every invoice of the member."),
    )
    voucher_points_discount_percent = _percent_field(
        _("discount on the points cost of vouchers (%)"),
        default=Decimal(0),
        help_text=_("Vouchers cost this much fewer points; the cost is rounded up to whole points."),
    )
    retention_spend = _amount_field(
        _("spend to keep the tier"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_(
            "Qualifying spend (or points) needed within the retention period. Blank: the tier is kept for good."
        ),
    )
    retention_months = models.PositiveSmallIntegerField(
        _("retention period (months)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("Counted from the day the member reached the tier, then cycle after cycle."),
    )
    on_failure = models.CharField(
        _("if the spend is not reached"),
        max_length=10,
        choices=OnFailure.choices,
        default=OnFailure.SUPPORTED,
    )
    grace_days = models.PositiveSmallIntegerField(
        _("grace period (days)"),
        default=0,
        validators=[MaxValueValidator(366)],
        help_text=_(
            "Days after the end of the cycle during which the member keeps the tier and may still reach the spend."
        ),
    )
    reset_spend_on_downgrade = models.BooleanField(
        _("restart the qualifying spend after a downgrade"),
        default=True,
        help_text=_(
            "Yes: the member starts again from 0. "
            "No: the member keeps credit up to the threshold of the tier they land in."
        ),
    )

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        permissions = [("export_tier", _("Can export tiers")), ("import_tier", _("Can import tiers"))]
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="tiers_tier_threshold_gte_0"),
            models.CheckConstraint(
                condition=Q(earn_rate_percent__gte=0, earn_rate_percent__lte=100),
                name="tiers_tier_earn_rate_percent",
            ),
            models.CheckConstraint(
                condition=Q(invoice_discount_percent__gte=0, invoice_discount_percent__lte=100),
                name="tiers_tier_invoice_discount_percent",
            ),
            models.CheckConstraint(
                condition=Q(voucher_points_discount_percent__gte=0, voucher_points_discount_percent__lte=100),
                name="tiers_tier_voucher_discount_percent",
            ),
            models.CheckConstraint(
                condition=(Q(retention_spend__isnull=True) & Q(retention_months__isnull=True))
                | (Q(retention_spend__gt=0) & Q(retention_months__gte=1)),
                name="tiers_tier_retention_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.code})"

    @property
    def display_name(self) -> str:
        """The name in the active language (Vietnamese when no English name is given)."""
        if (translation.get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name

    @property
    def display_description(self) -> str:
        if (translation.get_language() or "").startswith("en") and self.description_en:
            return self.description_en
        return self.description

    @property
    def has_retention(self) -> bool:
        return self.retention_spend is not None and self.retention_months is not None

    def clean(self) -> None:
        super().clean()
        if (self.retention_spend is None) != (self.retention_months is None):
            message = _("Give both the spend to keep the tier and its period, or neither.")
            raise ValidationError(
                {"retention_spend": message} if self.retention_spend is None else {"retention_months": message}
            )


# --- Member tier status -----------------------------------------------------------------------


class TierStatus(models.Model):
    """Where one member stands. Written under a row lock (`SELECT ... FOR NO KEY UPDATE`) by the
    spend services, and by set-based UPDATEs in the daily evaluation.

    - `qualifying_spend` is what counts towards the thresholds: what was recorded since
      `counted_from` (enrolment or the last downgrade), within the rolling window if the
      programme uses one, plus `carried_spend` (the credit a soft landing kept).
    - The retention cycle runs from `cycle_started_at` to the end of `retention_deadline` (a
      date in the programme's time zone); `cycle_spend` is what was spent in it. Tiers without
      a retention rule have no cycle.
    - `floor_tier` / `floor_until`: staff guaranteed this tier through that day."""

    member = models.OneToOneField(
        Member, on_delete=models.PROTECT, related_name="tier_status", verbose_name=_("member")
    )
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="statuses", verbose_name=_("tier"))
    since = models.DateTimeField(_("in this tier since"), default=timezone.now)
    qualifying_spend = _amount_field(_("qualifying spend"), default=Decimal(0))
    carried_spend = _amount_field(_("credit kept at the last downgrade"), default=Decimal(0), editable=False)
    counted_from = models.DateTimeField(
        _("qualifying spend counted from"), default=timezone.now, help_text=_("Enrolment or the last downgrade.")
    )
    cycle_started_at = models.DateTimeField(_("retention cycle started at"), null=True, blank=True)
    retention_deadline = models.DateField(
        _("retention deadline"), null=True, blank=True, help_text=_("The last day of the retention cycle.")
    )
    cycle_spend = _amount_field(_("spend in the current cycle"), default=Decimal(0))
    floor_tier = models.ForeignKey(
        Tier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("guaranteed tier"),
    )
    floor_until = models.DateField(_("guaranteed until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("member tier status")
        verbose_name_plural = _("member tier statuses")
        ordering = ["member_id"]
        indexes = [
            # The daily evaluation: the members of one tier whose cycle ended.
            models.Index(fields=["tier", "retention_deadline"], name="tiers_status_tier_deadline"),
            # The reports' members per tier of one store's members, read from the index alone
            # (a member's tier rarely changes: updates of the spend stay HOT).
            models.Index(fields=["member", "tier"], name="tiers_status_member_tier"),
            models.Index(fields=["floor_until"], condition=Q(floor_until__isnull=False), name="tiers_status_floor"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(qualifying_spend__gte=0), name="tiers_status_qualifying_gte_0"),
            models.CheckConstraint(condition=Q(carried_spend__gte=0), name="tiers_status_carried_gte_0"),
            models.CheckConstraint(condition=Q(cycle_spend__gte=0), name="tiers_status_cycle_spend_gte_0"),
            models.CheckConstraint(
                condition=Q(floor_tier__isnull=True, floor_until__isnull=True)
                | Q(floor_tier__isnull=False, floor_until__isnull=False),
                name="tiers_status_floor_complete",
            ),
            models.CheckConstraint(
                condition=Q(cycle_started_at__isnull=True, retention_deadline__isnull=True)
                | Q(cycle_started_at__isnull=False, retention_deadline__isnull=False),
                name="tiers_status_cycle_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.tier_id}"


# --- Qualifying events ------------------------------------------------------------------------


class TierSpend(models.Model):
    """One sale or refund as the tiers see it: the idempotency record of the spend services
    (unique `reference`) and the source of rolling-window sums. A refund is negative and counts
    at the time of the sale it refunds, so it leaves the window together with that sale."""

    class Kind(models.TextChoices):
        SALE = "sale", _("Sale")
        REFUND = "refund", _("Refund")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="tier_spends", verbose_name=_("member"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    reference = models.CharField(_("reference"), max_length=200, unique=True)
    original = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("refunded sale"),
    )
    amount = _amount_field(_("qualifying spend (VND)"))
    points = models.IntegerField(_("points earned"), default=0)
    occurred_at = models.DateTimeField(_("counts at"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    tier_before = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+", verbose_name=_("tier before"))
    tier_after = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+", verbose_name=_("tier after"))

    class Meta:
        verbose_name = _("qualifying spend record")
        verbose_name_plural = _("qualifying spend records")
        ordering = ["-recorded_at", "-pk"]
        indexes = [
            models.Index(fields=["member", "occurred_at"], name="tiers_spend_member_time"),
            models.Index(fields=["-recorded_at", "-id"], name="tiers_spend_recent"),  # the admin's list
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="sale") & Q(amount__gte=0) & Q(points__gte=0) & Q(original__isnull=True))
                | (Q(kind="refund") & Q(amount__lte=0) & Q(points__lte=0)),
                name="tiers_spend_sign_by_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.reference})"


# --- History ----------------------------------------------------------------------------------


class TierChange(models.Model):
    """One change of a member's tier and why. Append-only, read-only for everyone."""

    class Kind(models.TextChoices):
        UPGRADE = "upgrade", _("Upgrade: a sale crossed the threshold")
        RETENTION_NOT_MET = "retention_not_met", _("Retention spend not met at the end of the cycle")
        REFUND_REVERTED = "refund_reverted", _("A refund reverted an upgrade")
        STAFF = "staff", _("Set by staff")
        RECOMPUTE = "recompute", _("Recomputed after the rules changed")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="tier_changes", verbose_name=_("member"))
    from_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+", verbose_name=_("from tier"))
    to_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+", verbose_name=_("to tier"))
    kind = models.CharField(_("reason"), max_length=20, choices=Kind.choices)
    reference = models.CharField(
        _("reference"), max_length=200, blank=True, help_text=_("e.g. the sale that crossed the threshold")
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff user"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    # The status before an upgrade by a sale, so that a refund can put it back as it was.
    state_before = models.JSONField(_("status before"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier history")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["member", "-at"], name="tiers_change_member_time")]
        constraints = [
            models.CheckConstraint(condition=~Q(from_tier=F("to_tier")) | Q(kind="staff"), name="tiers_change_moves"),
            models.CheckConstraint(condition=~Q(kind="staff") | ~Q(note=""), name="tiers_change_staff_has_note"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_tier_id} → {self.to_tier_id} ({self.kind})"
