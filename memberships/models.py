"""Paid membership: the plans on sale and the periods members bought.

One `PaidMembership` row is one period bought (a sale or a renewal) with its fee: a renewal is a
new row starting at the end of the member's last period, so revenue, refunds and who sold what
stay per period. A member is a paid member at an instant when a period that is not cancelled
covers it (`started_at <= t < ends_at`); `status` says what the daily job last saw (active,
expired) or that the period was cancelled (and refunded)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


class PaidPlan(TimeStampedModel):
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    fee = models.DecimalField(
        _("fee (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal(0))],
    )
    period_months = models.PositiveSmallIntegerField(
        _("period (months)"), default=12, validators=[MinValueValidator(1)]
    )
    earn_multiplier = models.DecimalField(
        _("earn multiplier"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal(1))],
        help_text=_("While the membership is active, e.g. 1.5 for x1.5. It competes with promotions' multipliers."),
    )
    monthly_reward = models.ForeignKey(
        "vouchers.Reward",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("monthly voucher"),
        help_text=_("Issued once a month to every active member of the plan. Empty: none."),
    )
    refund_window_days = models.PositiveSmallIntegerField(
        _("refund window (days)"),
        default=14,
        help_text=_("A period cancelled within this many days of its sale is refunded in full; later, never."),
    )
    reminder_days = models.PositiveSmallIntegerField(
        _("renewal reminder (days before the end)"), default=14, validators=[MinValueValidator(1)]
    )
    renewable = models.BooleanField(
        _("renewable while active"),
        default=True,
        help_text=_("A sale during an active period adds a period after it. Off: refused until it ends."),
    )
    brands = models.ManyToManyField(
        "stores.Brand",
        blank=True,
        related_name="+",
        verbose_name=_("brands"),
        help_text=_("Sold at and giving its multiplier at these brands' stores. Empty: every brand."),
    )
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("paid membership plan")
        verbose_name_plural = _("paid membership plans")
        constraints = [
            models.CheckConstraint(condition=Q(fee__gte=0), name="memberships_plan_fee_not_negative"),
            models.CheckConstraint(condition=Q(earn_multiplier__gte=1), name="memberships_plan_multiplier_min_1"),
            models.CheckConstraint(condition=Q(period_months__gte=1), name="memberships_plan_period_min_1"),
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"

    @property
    def display_name(self) -> str:
        from django.utils.translation import get_language

        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class PaidMembership(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    member = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, related_name="paid_memberships", verbose_name=_("member")
    )
    plan = models.ForeignKey(PaidPlan, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("plan"))
    started_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    fee_paid = models.DecimalField(_("fee paid"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    sold_at = models.DateTimeField(_("sold at"))
    sold_store = models.ForeignKey(
        "stores.Store", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    sold_terminal = models.ForeignKey(
        "stores.Terminal", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("terminal")
    )
    sold_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sold by"),
    )
    reference = models.CharField(
        _("idempotency reference"),
        max_length=120,
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text=_("Selling again with the same reference returns this period instead of a new one."),
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    cancel_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True)
    refund_amount = models.DecimalField(
        _("refund"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, default=Decimal(0)
    )
    reminder_sent_on = models.DateField(_("renewal reminder sent on"), null=True, blank=True)
    expiry_notified = models.BooleanField(_("expiry message sent"), default=False)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("paid membership")
        verbose_name_plural = _("paid memberships")
        indexes = [
            models.Index(fields=["member", "ends_at"], name="memberships_member_ends"),
            models.Index(fields=["status", "ends_at"], name="memberships_status_ends"),
            models.Index(fields=["sold_at"], name="memberships_sold_at"),
            models.Index(fields=["cancelled_at"], name="memberships_cancelled_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("started_at")), name="memberships_period_not_empty"),
            models.CheckConstraint(
                condition=Q(refund_amount__gte=0) & Q(refund_amount__lte=F("fee_paid")),
                name="memberships_refund_within_fee",
            ),
            models.CheckConstraint(
                condition=(Q(status="cancelled") & Q(cancelled_at__isnull=False))
                | (~Q(status="cancelled") & Q(cancelled_at__isnull=True) & Q(refund_amount=0)),
                name="memberships_cancelled_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} #{self.member_id} {self.started_at:%Y-%m-%d}..{self.ends_at:%Y-%m-%d}"


class MembershipVoucher(models.Model):
    """The monthly voucher of a paid member: one row per member and month (the unique key is
    the once-a-month rule; the voucher's issue reference makes a retry find the same voucher)."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    membership = models.ForeignKey(
        PaidMembership, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("paid membership")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month (programme time)."))
    voucher = models.ForeignKey(
        "vouchers.Voucher", on_delete=models.PROTECT, related_name="+", verbose_name=_("voucher")
    )
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)

    class Meta:
        ordering = ["-month", "member"]
        verbose_name = _("monthly membership voucher")
        verbose_name_plural = _("monthly membership vouchers")
        constraints = [models.UniqueConstraint(fields=["member", "month"], name="memberships_voucher_once_a_month")]

    def __str__(self) -> str:
        return f"#{self.member_id} {self.month:%Y-%m}"
