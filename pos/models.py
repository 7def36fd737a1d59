"""Sales and refunds recorded through the POS API.

A sale is written once, by `pos.checkout.sale_record`, in the same transaction as everything
it moves (ledger entries, vouchers, qualifying spend); afterwards only refunds change it, and
only through `pos.checkout.sale_refund`. The admin shows them read-only."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


def money_field(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, default=Decimal(0), **kwargs
    )


class Sale(TimeStampedModel):
    class Status(models.TextChoices):
        COMPLETED = "completed", _("Completed")
        PARTLY_REFUNDED = "partly_refunded", _("Partly refunded")
        REFUNDED = "refunded", _("Refunded")

    store = models.ForeignKey("stores.Store", on_delete=models.PROTECT, related_name="sales", verbose_name=_("store"))
    terminal = models.ForeignKey(
        "stores.Terminal", on_delete=models.PROTECT, related_name="sales", verbose_name=_("terminal")
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales",
        verbose_name=_("member"),
    )
    receipt_number = models.CharField(_("receipt number"), max_length=64)
    occurred_at = models.DateTimeField(_("time of sale"), db_index=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.COMPLETED)
    subtotal = money_field(_("subtotal"))
    discount_total = money_field(_("discounts"), help_text=_("Promotions, tier discount and vouchers."))
    points_amount = money_field(_("paid with points"))
    total = money_field(_("total paid"))
    earn_base = money_field(_("earn base"), help_text=_("The money actually paid: what points and tier spend count."))
    points_redeemed = models.PositiveIntegerField(_("points redeemed"), default=0)
    points_earned = models.PositiveIntegerField(_("points earned"), default=0)
    multiplier = models.DecimalField(_("earn multiplier"), max_digits=6, decimal_places=2, default=Decimal(1))
    tier_code = models.CharField(_("tier at the time of sale"), max_length=20, blank=True)
    tier_after_code = models.CharField(_("tier after the sale"), max_length=20, blank=True)
    tier_changed = models.BooleanField(_("tier changed"), default=False)
    referrer_points = models.PositiveIntegerField(_("points credited to the referrer"), default=0)
    refunded_amount = money_field(_("refunded (list price)"))
    refunded_paid = money_field(_("refunded (money paid)"))
    points_reversed = models.PositiveIntegerField(_("earned points reversed"), default=0)
    points_returned = models.PositiveIntegerField(_("redeemed points returned"), default=0)

    class Meta:
        verbose_name = _("sale")
        verbose_name_plural = _("sales")
        permissions = [("export_sale", _("Can export sales"))]
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["store", "receipt_number"], name="pos_sale_store_receipt_uniq"),
            models.CheckConstraint(condition=Q(total__gte=0), name="pos_sale_total_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("subtotal")), name="pos_sale_refund_within_subtotal"
            ),
        ]
        indexes = [models.Index(fields=["member", "-occurred_at"], name="pos_sale_member_time_idx")]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.receipt_number}"

    @property
    def reference(self) -> str:
        """The stable reference other apps record against this sale (ledger, vouchers, tiers)."""
        return f"sale:{self.pk}"


class SaleLine(models.Model):
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines", verbose_name=_("sale"))
    index = models.PositiveSmallIntegerField(_("line"))
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=64, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = money_field(_("unit price"))
    amount = money_field(_("amount"))
    refunded_quantity = models.PositiveIntegerField(_("quantity refunded"), default=0)

    class Meta:
        verbose_name = _("sale line")
        verbose_name_plural = _("sale lines")
        ordering = ["sale", "index"]
        constraints = [
            models.UniqueConstraint(fields=["sale", "index"], name="pos_saleline_sale_index_uniq"),
            models.CheckConstraint(
                condition=Q(refunded_quantity__lte=models.F("quantity")), name="pos_saleline_refund_within_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} x {self.quantity}"


class SaleDiscount(models.Model):
    class Source(models.TextChoices):
        PROMOTION = "promotion", _("Promotion")
        TIER = "tier", _("Tier")
        VOUCHER = "voucher", _("Voucher")
        POINTS = "points", _("Points")

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="discounts", verbose_name=_("sale"))
    position = models.PositiveSmallIntegerField(_("order"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    code = models.CharField(_("code"), max_length=64, blank=True)
    description = models.CharField(_("description"), max_length=300)
    amount = money_field(_("amount"))
    line_index = models.PositiveSmallIntegerField(_("line"), null=True, blank=True)

    class Meta:
        verbose_name = _("applied discount")
        verbose_name_plural = _("applied discounts")
        ordering = ["sale", "position"]

    def __str__(self) -> str:
        return f"{self.source} {self.code} -{self.amount}"


class Refund(TimeStampedModel):
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("sale"))
    terminal = models.ForeignKey(
        "stores.Terminal", on_delete=models.PROTECT, related_name="refunds", verbose_name=_("terminal")
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    is_full = models.BooleanField(_("refunds the rest of the sale"), default=False)
    amount = money_field(_("refunded (list price)"))
    paid_amount = money_field(_("refunded (money paid)"))
    points_reversed = models.PositiveIntegerField(_("earned points reversed"), default=0)
    points_returned = models.PositiveIntegerField(_("redeemed points returned"), default=0)
    vouchers_returned = models.JSONField(_("vouchers returned"), default=list, blank=True)
    vouchers_voided = models.JSONField(
        _("vouchers voided"),
        default=list,
        blank=True,
        help_text=_("Unused vouchers bought with points, voided so that the claw-back left no debt."),
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.sale} refund {self.pk}"


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines", verbose_name=_("refund"))
    sale_line = models.ForeignKey(
        SaleLine, on_delete=models.PROTECT, related_name="refund_lines", verbose_name=_("sale line")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = money_field(_("amount"))

    class Meta:
        verbose_name = _("refund line")
        verbose_name_plural = _("refund lines")

    def __str__(self) -> str:
        return f"{self.sale_line.sku} x {self.quantity}"
