"""Store-credit earning rules, configured in the admin, read on every sale through
`campaigns.credit.selectors.store_credit_plan` (cached)."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel
from stores.models import Brand, Store, code_validator


def categories_split(value: str) -> frozenset[str]:
    """Categories typed one per line or separated by commas or semicolons."""
    return frozenset(part.strip() for part in re.split(r"[,;\n]", value or "") if part.strip())


class StoreCreditRule(TimeStampedModel):
    """A share of what a member pays on some lines, given back as store credit (VND) on the
    member's store-credit balance. Scope: the rule's brands and stores (none named: everywhere);
    lines: of the included categories (none named: every category) and not of the excluded
    ones, and, with `full_price_only`, only lines no promotion discounted. When several rules
    match a line, the highest percent wins (rules never add up)."""

    code = models.CharField(_("code"), max_length=30, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    percent = models.DecimalField(
        _("cash-back (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(100)],
        help_text=_("The share of the money paid for a matching line given back as store credit."),
    )
    brands = models.ManyToManyField(Brand, blank=True, related_name="+", verbose_name=_("brands"))
    stores = models.ManyToManyField(
        Store,
        blank=True,
        related_name="+",
        verbose_name=_("stores"),
        help_text=_("Empty: every store of the brands chosen (or every store)."),
    )
    full_price_only = models.BooleanField(
        _("full-price lines only"),
        default=True,
        help_text=_("Lines a promotion discounted earn no store credit."),
    )
    categories_included = models.TextField(
        _("categories included"), blank=True, help_text=_("One per line or separated by commas. Empty: every category.")
    )
    categories_excluded = models.TextField(
        _("categories excluded"), blank=True, help_text=_("One per line or separated by commas.")
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True, help_text=_("First day, store local date."))
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Last day (included), store local date.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("store credit rule")
        verbose_name_plural = _("store credit rules")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gt=0, percent__lte=100), name="campaigns_storecreditrule_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lte=models.F("valid_until")),
                name="campaigns_storecreditrule_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def included(self) -> frozenset[str]:
        return categories_split(self.categories_included)

    @property
    def excluded(self) -> frozenset[str]:
        return categories_split(self.categories_excluded)

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValidationError({"valid_until": _("The last day cannot be before the first day.")})
        both = self.included & self.excluded
        if both:
            raise ValidationError(
                {
                    "categories_excluded": _("Both included and excluded: %(names)s.")
                    % {"names": ", ".join(sorted(both))}
                }
            )
