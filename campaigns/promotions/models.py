"""Promotions: earn multipliers, bonus points and direct discounts, each with the conditions under
which it applies. Evaluated by `campaigns.promotions.selectors.promotions_applicable` (a pure read shared by
the POS quote and the sale); the checkout records what it applied as `PromotionApplication` rows
through `campaigns.promotions.services.promotion_applications_record`.

Every clock condition (validity dates, weekdays, time window, birthday) is read in the store's
local time zone."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from campaigns.calendar.models import DateSchedule
from loyalty_site.core.models import TimeStampedModel
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from stores.models import Brand, Store, code_validator

WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]
weekdays_validator = RegexValidator(r"^[1-7]*$", _("ISO weekday numbers only: 1 (Monday) to 7 (Sunday)."))
_LIST_SEPARATORS = re.compile(r"[\s,;]+")


def split_list(value: str) -> set[str]:
    """SKUs or categories typed one per line or separated by commas."""
    return {item for item in _LIST_SEPARATORS.split(value or "") if item}


class Promotion(TimeStampedModel):
    """One promotion. Its `kind` says what it gives; every other field is a condition, and an
    empty condition places no limit (no stores and no brands: every store; no tiers: every
    tier; no groups and no segments: every member; no weekdays: every day; no time window: all
    day). Tiers and the audience (groups and segments) are separate conditions: a member must be
    in one of the tiers AND in one of the groups or segments."""

    class Kind(models.TextChoices):
        EARN_MULTIPLIER = "earn_multiplier", _("Earn multiplier")
        BONUS_POINTS = "bonus_points", _("Bonus points")
        PERCENT_DISCOUNT = "percent_discount", _("Percentage discount")
        AMOUNT_DISCOUNT = "amount_discount", _("Amount discount")

    class Scope(models.TextChoices):
        INVOICE = "invoice", _("The whole invoice")
        LINES = "lines", _("Lines of the chosen SKUs or categories")

    class Birthday(models.TextChoices):
        ANY = "", _("No birthday condition")
        DAY = "day", _("On the member's birthday")
        WEEK = "week", _("In the member's birthday week (Monday to Sunday)")
        MONTH = "month", _("In the member's birthday month")

    class LimitPeriod(models.TextChoices):
        DAY = "day", _("per day")
        MONTH = "month", _("per month")
        EVER = "ever", _("in total")

    DISCOUNT_KINDS = (Kind.PERCENT_DISCOUNT, Kind.AMOUNT_DISCOUNT)
    POINT_KINDS = (Kind.EARN_MULTIPLIER, Kind.BONUS_POINTS)

    code = models.CharField(_("code"), max_length=30, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200, help_text=_("In Vietnamese; shown on receipts and in the POS."))
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    multiplier = models.DecimalField(
        _("earn multiplier"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("For earn multipliers: e.g. 2 for x2, 1.5 for x1.5."),
    )
    bonus_points = models.PositiveIntegerField(
        _("bonus points"), null=True, blank=True, help_text=_("For bonus points: points added to the sale.")
    )
    percent = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    amount = models.DecimalField(
        _("discount amount (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Off the invoice once, or off each item of the matching lines."),
    )
    scope = models.CharField(_("discount applies to"), max_length=10, choices=Scope.choices, default=Scope.INVOICE)
    skus = models.TextField(_("SKUs"), blank=True, help_text=_("One per line or separated by commas."))
    categories = models.TextField(
        _("categories"), blank=True, help_text=_("One per line or separated by commas, e.g. coffee.")
    )

    # --- Conditions
    valid_from = models.DateField(_("valid from"), null=True, blank=True, help_text=_("First day, store local date."))
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Last day (included), store local date.")
    )
    weekdays = models.CharField(
        _("days of the week"),
        max_length=7,
        blank=True,
        validators=[weekdays_validator],
        help_text=_("Empty: every day."),
    )
    time_from = models.TimeField(_("from (time of day)"), null=True, blank=True)
    time_until = models.TimeField(
        _("until (time of day)"),
        null=True,
        blank=True,
        help_text=_(
            "Store local time; the end is excluded (14:00 to 17:00 stops at 16:59:59). A window that "
            "ends before it starts (22:00 to 02:00) crosses midnight and belongs to the day it opened."
        ),
    )
    date_schedule = models.ForeignKey(
        DateSchedule,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="promotions",
        verbose_name=_("only on the days of the schedule"),
        help_text=_("E.g. the days around Tết, computed for each year by the lunar calendar. Empty: every day."),
    )
    brands = models.ManyToManyField(Brand, blank=True, related_name="+", verbose_name=_("brands"))
    stores = models.ManyToManyField(
        Store,
        blank=True,
        related_name="+",
        verbose_name=_("stores"),
        help_text=_("The promotion runs in these stores and in every store of the brands chosen. None: everywhere."),
    )
    tiers = models.ManyToManyField(
        "tiers.Tier", blank=True, related_name="+", verbose_name=_("tiers"), help_text=_("None: every tier.")
    )
    groups = models.ManyToManyField(
        "campaigns.CustomerGroup",
        blank=True,
        related_name="promotions",
        verbose_name=_("customer groups"),
        help_text=_("Only for members of these groups or segments. None of either: every member."),
    )
    segments = models.ManyToManyField(
        "campaigns.Segment",
        blank=True,
        related_name="promotions",
        verbose_name=_("segments"),
        help_text=_(
            "As their last refresh found them (the sale never evaluates a segment): refreshed every night and "
            "when the segment is saved."
        ),
    )
    members_only = models.BooleanField(
        _("members only"),
        default=False,
        help_text=_("Only when a member is identified on the sale. Points and member conditions always need one."),
    )
    birthday = models.CharField(_("birthday"), max_length=5, choices=Birthday.choices, blank=True, default="")
    min_spend = models.DecimalField(
        _("minimum spend (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("The invoice subtotal, before any discount."),
    )
    limit_count = models.PositiveIntegerField(
        _("times per member"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("How many sales of one member it may apply to in the period. Empty: no limit."),
    )
    limit_period = models.CharField(
        _("limit period"), max_length=5, choices=LimitPeriod.choices, default=LimitPeriod.DAY
    )
    priority = models.IntegerField(
        _("priority"),
        default=0,
        help_text=_("Higher first. Among discounts that are not stackable only one applies: the highest priority."),
    )
    stackable = models.BooleanField(
        _("stackable"),
        default=False,
        help_text=_(
            "Stackable promotions combine with the best non-stackable one: multipliers multiply, bonus points "
            "add up, discounts apply one after the other on what remains."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
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
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        permissions = [
            ("export_promotion", _("Can export promotions")),
            ("import_promotion", _("Can import promotions")),
        ]
        ordering = ["-priority", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="earn_multiplier") | Q(multiplier__gte=1),
                name="campaigns_promotion_multiplier_given",
            ),
            models.CheckConstraint(
                condition=~Q(kind="bonus_points") | Q(bonus_points__gt=0),
                name="campaigns_promotion_bonus_given",
            ),
            models.CheckConstraint(
                condition=~Q(kind="percent_discount") | (Q(percent__gt=0) & Q(percent__lte=100)),
                name="campaigns_promotion_percent_given",
            ),
            models.CheckConstraint(
                condition=~Q(kind="amount_discount") | Q(amount__gt=0),
                name="campaigns_promotion_amount_given",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lte=models.F("valid_until")),
                name="campaigns_promotion_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.code})"

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name

    @property
    def is_discount(self) -> bool:
        return self.kind in self.DISCOUNT_KINDS

    @property
    def sku_set(self) -> set[str]:
        return split_list(self.skus)

    @property
    def category_set(self) -> set[str]:
        return split_list(self.categories)

    @property
    def weekday_set(self) -> set[int]:
        return {int(d) for d in self.weekdays}

    @property
    def crosses_midnight(self) -> bool:
        return self.time_from is not None and self.time_until is not None and self.time_until < self.time_from

    def clean(self) -> None:
        errors: dict[str, list] = {}
        required = {
            self.Kind.EARN_MULTIPLIER: "multiplier",
            self.Kind.BONUS_POINTS: "bonus_points",
            self.Kind.PERCENT_DISCOUNT: "percent",
            self.Kind.AMOUNT_DISCOUNT: "amount",
        }
        needed = required.get(self.kind)
        if needed and getattr(self, needed) in (None, ""):
            errors.setdefault(needed, []).append(_("Required for this kind of promotion."))
        for field_name in required.values():
            if field_name != needed and getattr(self, field_name) not in (None, ""):
                errors.setdefault(field_name, []).append(_("Leave empty for this kind of promotion."))
        if self.kind == self.Kind.EARN_MULTIPLIER and self.multiplier is not None and self.multiplier <= 1:
            errors.setdefault("multiplier", []).append(_("A multiplier must be greater than 1."))
        if self.kind == self.Kind.PERCENT_DISCOUNT and self.percent is not None and self.percent <= 0:
            errors.setdefault("percent", []).append(_("A discount must be greater than zero."))
        if self.kind == self.Kind.AMOUNT_DISCOUNT and self.amount is not None and self.amount <= 0:
            errors.setdefault("amount", []).append(_("A discount must be greater than zero."))
        if self.is_discount and self.scope == self.Scope.LINES and not (self.sku_set or self.category_set):
            errors.setdefault("skus", []).append(_("Name at least one SKU or category for a discount on lines."))
        if not self.is_discount and (self.skus.strip() or self.categories.strip()):
            errors.setdefault("skus", []).append(_("SKUs and categories only apply to discounts."))
        if (self.time_from is None) != (self.time_until is None):
            errors.setdefault("time_until", []).append(_("Give both ends of the time window, or neither."))
        elif self.time_from is not None and self.time_from == self.time_until:
            errors.setdefault("time_until", []).append(_("The window cannot start and end at the same time."))
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            errors.setdefault("valid_until", []).append(_("The last day cannot be before the first day."))
        if self.weekdays:
            self.weekdays = "".join(sorted(set(self.weekdays)))
        if errors:
            raise ValidationError(errors)


class PromotionApplication(models.Model):
    """A promotion applied to a recorded sale: the basis of per-member trigger limits and of the
    promotions report. Written by the checkout through `promotion_applications_record`, in the
    sale's transaction; a full refund marks it reversed, which frees the trigger again.

    `sale_reference` names the sale in the POS app's own terms (e.g. `sale:42`): campaigns sits
    below pos and cannot hold a foreign key to it."""

    promotion = models.ForeignKey(
        Promotion, on_delete=models.PROTECT, related_name="applications", verbose_name=_("promotion")
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("member"),
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    sale_reference = models.CharField(_("sale reference"), max_length=100)
    at = models.DateTimeField(_("applied at"))
    discount = models.DecimalField(
        _("discount given"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, default=0
    )
    multiplier = models.DecimalField(_("multiplier"), max_digits=7, decimal_places=2, null=True, blank=True)
    bonus_points = models.PositiveIntegerField(_("bonus points"), default=0)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversal_reference = models.CharField(_("reversal reference"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("promotion application")
        verbose_name_plural = _("promotion applications")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["promotion", "member", "at"], name="campaigns_promoapp_limit"),
            models.Index(fields=["-at", "-id"], name="campaigns_promoapp_recent"),  # the admin's list (issue 18)
        ]
        constraints = [
            models.UniqueConstraint(fields=["promotion", "sale_reference"], name="campaigns_promoapp_once_per_sale"),
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id} @ {self.sale_reference}"

    @property
    def counts(self) -> bool:
        return self.reversed_at is None


class EarnRule(TimeStampedModel):
    """How some lines earn, whatever the tier (issue 16): lines of the chosen SKUs or categories
    earn nothing and count for no tier spend (`exclude`), earn at a fixed rate instead of the
    tier's (`rate`), or earn bonus points per item sold (`bonus`, usually dated: "+20 points on
    a new drink this month"). Read by `campaigns.promotions.earn.earn_rules_applicable`, the
    same for the quote and the sale; no brands: every brand."""

    class Kind(models.TextChoices):
        EXCLUDE = "exclude", _("Earns nothing")
        RATE = "rate", _("Earns at its own rate")
        BONUS = "bonus", _("Bonus points per item")

    code = models.CharField(_("code"), max_length=30, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    skus = models.TextField(_("SKUs"), blank=True, help_text=_("One per line or separated by commas."))
    categories = models.TextField(
        _("categories"), blank=True, help_text=_("One per line or separated by commas, e.g. alcohol.")
    )
    rate_percent = models.DecimalField(
        _("earn rate (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("For 'earns at its own rate': the share of the money paid given back as points, any tier."),
    )
    bonus_points = models.PositiveIntegerField(
        _("bonus points per item"), null=True, blank=True, help_text=_("For bonus points: added for each item sold.")
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True, help_text=_("First day, store local date."))
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Last day (included), store local date.")
    )
    brands = models.ManyToManyField(Brand, blank=True, related_name="+", verbose_name=_("brands"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("earn rule")
        verbose_name_plural = _("earn rules")
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="rate") | Q(rate_percent__gte=0, rate_percent__lte=100),
                name="campaigns_earnrule_rate_given",
            ),
            models.CheckConstraint(
                condition=~Q(kind="bonus") | Q(bonus_points__gt=0),
                name="campaigns_earnrule_bonus_given",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lte=models.F("valid_until")),
                name="campaigns_earnrule_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def sku_set(self) -> set[str]:
        return split_list(self.skus)

    @property
    def category_set(self) -> set[str]:
        return split_list(self.categories)

    def clean(self) -> None:
        errors: dict[str, list] = {}
        if not (self.sku_set or self.category_set):
            errors.setdefault("skus", []).append(_("Name at least one SKU or category."))
        if self.kind == self.Kind.RATE and self.rate_percent is None:
            errors.setdefault("rate_percent", []).append(_("Required for this kind of rule."))
        if self.kind != self.Kind.RATE and self.rate_percent is not None:
            errors.setdefault("rate_percent", []).append(_("Leave empty for this kind of rule."))
        if self.kind == self.Kind.BONUS and not self.bonus_points:
            errors.setdefault("bonus_points", []).append(_("Required for this kind of rule."))
        if self.kind != self.Kind.BONUS and self.bonus_points is not None:
            errors.setdefault("bonus_points", []).append(_("Leave empty for this kind of rule."))
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            errors.setdefault("valid_until", []).append(_("The last day cannot be before the first day."))
        if errors:
            raise ValidationError(errors)
