"""Stamp cards (visit-based earning, issue 16): every Nth qualifying sale of a member at the
stores of a brand within a period issues a reward voucher. Configured in the admin (`StampCard`),
counted by `campaigns.stamps.services.stamp_record`, called by the checkout under the member's
lock (so a member's concurrent sales are counted one after the other)."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from stores.models import Brand, code_validator


class StampCard(TimeStampedModel):
    code = models.CharField(_("code"), max_length=30, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", verbose_name=_("brand"))
    stamps_needed = models.PositiveSmallIntegerField(
        _("sales per card"),
        validators=[MinValueValidator(2)],
        help_text=_("Every Nth qualifying sale gives the reward."),
    )
    period_days = models.PositiveSmallIntegerField(
        _("within (days)"),
        validators=[MinValueValidator(1)],
        help_text=_("Counted from the card's first sale; a card not completed in time starts again."),
    )
    min_amount = models.DecimalField(
        _("minimum invoice (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        default=0,
        validators=[MinValueValidator(0)],
        help_text=_("The invoice after discounts, before any part paid with points."),
    )
    reward = models.ForeignKey(
        "vouchers.Reward",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reward"),
        help_text=_("The voucher a completed card gives; keep it hidden from the catalogue."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("stamp card")
        verbose_name_plural = _("stamp cards")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(stamps_needed__gte=2), name="campaigns_stampcard_two_or_more"),
            models.CheckConstraint(condition=Q(period_days__gte=1), name="campaigns_stampcard_period"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class StampProgress(models.Model):
    """A member's open card: how many stamps since `opened_at`, and how many cards completed."""

    card = models.ForeignKey(StampCard, on_delete=models.CASCADE, related_name="+", verbose_name=_("stamp card"))
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    opened_at = models.DateTimeField(_("card opened at"), null=True, blank=True)
    stamps = models.PositiveSmallIntegerField(_("stamps on the open card"), default=0)
    cards_completed = models.PositiveIntegerField(_("cards completed"), default=0)

    class Meta:
        verbose_name = _("stamp card progress")
        verbose_name_plural = _("stamp card progress")
        constraints = [models.UniqueConstraint(fields=["card", "member"], name="campaigns_stampprogress_once")]

    def __str__(self) -> str:
        return f"{self.card_id}/{self.member_id}: {self.stamps}"


class Stamp(models.Model):
    """One qualifying sale on a card; `completed` when it completed the card (`voucher_code`)."""

    card = models.ForeignKey(StampCard, on_delete=models.PROTECT, related_name="+", verbose_name=_("stamp card"))
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    sale_reference = models.CharField(_("sale reference"), max_length=100)
    at = models.DateTimeField(_("time of sale"))
    card_number = models.PositiveIntegerField(_("card number"))
    completed = models.BooleanField(_("completed the card"), default=False)
    voucher_code = models.CharField(_("voucher given"), max_length=20, blank=True)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stamp")
        verbose_name_plural = _("stamps")
        ordering = ["-at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["card", "sale_reference"], name="campaigns_stamp_once_per_sale")]
        indexes = [
            models.Index(fields=["sale_reference"], name="campaigns_stamp_sale"),
            models.Index(fields=["-at", "-id"], name="campaigns_stamp_recent"),  # the admin's list (issue 18)
        ]

    def __str__(self) -> str:
        return f"{self.card_id} @ {self.sale_reference}"
