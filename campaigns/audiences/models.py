"""Customer groups: static lists of members (filled by an Excel import, a phone list or an admin
action) and rule-based segments evaluated when they are used
(`campaigns.audiences.selectors.segment_members`)."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from members.models import Member
from stores.models import Brand, Store

MAX_AGE = 120
# Category codes and SKUs of the "bought" rules: as many as a marketer types, each as long as a
# sale line's (pos.SaleLine.category / sku).
MAX_CODES = 50
CODE_MAX_LENGTH = 64
_CODE_SEPARATORS = re.compile(r"[\r\n,;]+")


def codes_split(text: str) -> list[str]:
    """The category codes or SKUs of a rule, typed one per line or separated by commas or
    semicolons; blanks and repeats dropped, order kept."""
    return list(dict.fromkeys(part.strip() for part in _CODE_SEPARATORS.split(text or "") if part.strip()))


def _money_field(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name,
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        **kwargs,
    )


class CustomerGroup(TimeStampedModel):
    """A static group: exactly the members put into it, until they are taken out."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    members = models.ManyToManyField(
        "members.Member",
        through="GroupMembership",
        related_name="customer_groups",
        verbose_name=_("members"),
        blank=True,
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
        verbose_name = _("customer group")
        verbose_name_plural = _("customer groups")
        permissions = [("export_customergroup", _("Can export customer groups"))]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupMembership(models.Model):
    """One member in one static group, with how and by whom they were added."""

    class Source(models.TextChoices):
        ADMIN = "admin", _("Chosen in the member list")
        PHONE_LIST = "phone_list", _("Phone list")
        IMPORT = "import", _("Excel import")
        API = "api", _("API")
        OTHER = "other", _("Other")

    group = models.ForeignKey(
        CustomerGroup, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("group")
    )
    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="group_memberships", verbose_name=_("member")
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.OTHER)
    note = models.CharField(_("note"), max_length=200, blank=True, help_text=_("e.g. the file it was imported from"))

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        ordering = ["-added_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["group", "member"], name="campaigns_groupmembership_once"),
        ]
        indexes = [models.Index(fields=["member"], name="campaigns_groupmember_member")]

    def __str__(self) -> str:
        return f"{self.group_id}: {self.member_id}"


# (lower bound, upper bound) pairs of a segment's rules.
_RANGES = (
    ("age_min", "age_max"),
    ("points_balance_min", "points_balance_max"),
    ("recent_orders_min", "recent_orders_max"),
    ("recent_net_sales_min", "recent_net_sales_max"),
    ("lifetime_net_sales_min", "lifetime_net_sales_max"),
)


class Segment(TimeStampedModel):
    """A rule-based group: the active members who meet every rule filled in (an empty rule places
    no limit). Evaluated for a given day by `segment_members`, in one query.

    Where the facts come from, so that the rules work before the POS app records sales itself:
    - a "purchase" is a sale that earned points: the latest earn entry of the point ledger is the
      member's last purchase;
    - "spend" is the qualifying spend the checkout records for tiers (`tiers.TierSpend`): the
      money actually paid on each sale, refunds negative, counted at the time of the sale.
    The sales rules (brand bought at, categories or products bought, orders and net sales in
    the last N days, lifetime net sales) use the sales themselves and the report definitions of
    net sales and orders (reports.md): see `campaigns.audiences.purchases`."""

    class BirthdayMonth(models.TextChoices):
        ANY = "", _("Any")
        CURRENT = "current", _("The month of the run")
        JANUARY = "1", _("January")
        FEBRUARY = "2", _("February")
        MARCH = "3", _("March")
        APRIL = "4", _("April")
        MAY = "5", _("May")
        JUNE = "6", _("June")
        JULY = "7", _("July")
        AUGUST = "8", _("August")
        SEPTEMBER = "9", _("September")
        OCTOBER = "10", _("October")
        NOVEMBER = "11", _("November")
        DECEMBER = "12", _("December")

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    birthday_month = models.CharField(
        _("birthday month"), max_length=7, choices=BirthdayMonth.choices, blank=True, default=""
    )
    tiers = models.ManyToManyField(
        "tiers.Tier", blank=True, related_name="+", verbose_name=_("tiers"), help_text=_("In any of these tiers.")
    )
    home_stores = models.ManyToManyField(
        Store,
        blank=True,
        related_name="+",
        verbose_name=_("home stores"),
        help_text=_("With any of these home stores."),
    )
    enrolled_from = models.DateField(_("enrolled from"), null=True, blank=True)
    enrolled_until = models.DateField(_("enrolled until"), null=True, blank=True, help_text=_("Included."))
    last_purchase_after = models.DateField(
        _("last purchase on or after"), null=True, blank=True, help_text=_("Bought something on this day or later.")
    )
    last_purchase_before = models.DateField(
        _("last purchase before"),
        null=True,
        blank=True,
        help_text=_("Has bought, but nothing on this day or later."),
    )
    purchased_within_days = models.PositiveIntegerField(
        _("bought within the last N days"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    not_purchased_within_days = models.PositiveIntegerField(
        _("no purchase in the last N days"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Members who never bought are included."),
    )
    min_spend = models.DecimalField(
        _("spent at least (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(1))],
        help_text=_("The money actually paid (the earn base of the sales), less refunds."),
    )
    spend_within_days = models.PositiveIntegerField(
        _("... in the last N days"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty: since enrolment."),
    )
    # --- Who they are
    gender = models.CharField(
        _("gender"), max_length=10, choices=[("", _("Any")), *Member.Gender.choices], blank=True, default=""
    )
    age_min = models.PositiveSmallIntegerField(
        _("aged at least"), null=True, blank=True, validators=[MaxValueValidator(MAX_AGE)], help_text=_("In years.")
    )
    age_max = models.PositiveSmallIntegerField(
        _("aged at most"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_AGE)],
        help_text=_("In years. Members without a birthday are left out of an age band."),
    )
    points_balance_min = models.IntegerField(_("points balance at least"), null=True, blank=True)
    points_balance_max = models.IntegerField(_("points balance at most"), null=True, blank=True)

    # --- Sales (reports.md definitions: net sales = paid less refunded; orders = sales not refunded in full)
    bought_at_brands = models.ManyToManyField(
        Brand,
        blank=True,
        related_name="+",
        verbose_name=_("bought at brands"),
        help_text=_("Has an order at any of these brands."),
    )
    bought_categories = models.TextField(
        _("bought categories"),
        blank=True,
        help_text=_("Category codes as the tills send them, one per line or separated by commas: bought any of them."),
    )
    bought_skus = models.TextField(
        _("bought products"),
        blank=True,
        help_text=_("SKUs, one per line or separated by commas: bought any of them."),
    )
    bought_within_days = models.PositiveIntegerField(
        _("... bought within the last N days"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("For the brand, category and product rules. Empty: ever."),
    )
    recent_days = models.PositiveIntegerField(
        _("in the last N days"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("The window of the order and net sales rules below."),
    )
    recent_orders_min = models.PositiveIntegerField(_("orders at least"), null=True, blank=True)
    recent_orders_max = models.PositiveIntegerField(_("orders at most"), null=True, blank=True)
    recent_net_sales_min = _money_field(_("net sales at least (VND)"))
    recent_net_sales_max = _money_field(_("net sales at most (VND)"))
    lifetime_net_sales_min = _money_field(_("lifetime net sales at least (VND)"))
    lifetime_net_sales_max = _money_field(_("lifetime net sales at most (VND)"))

    groups = models.ManyToManyField(
        CustomerGroup,
        blank=True,
        related_name="segments",
        verbose_name=_("in static groups"),
        help_text=_("In any of these groups."),
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
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.enrolled_from and self.enrolled_until and self.enrolled_from > self.enrolled_until:
            errors["enrolled_until"] = _("The last day cannot be before the first day.")
        if self.spend_within_days and not self.min_spend:
            errors["min_spend"] = _("Give the amount to reach in that period.")
        after, before = self.last_purchase_after, self.last_purchase_before
        if after and before and after >= before:
            errors["last_purchase_before"] = _("No member can meet both purchase dates.")
        for low, high in _RANGES:
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value is not None and high_value is not None and low_value > high_value:
                errors[high] = _("The upper bound cannot be below the lower one.")
        recent = ("recent_orders_min", "recent_orders_max", "recent_net_sales_min", "recent_net_sales_max")
        if self.recent_days and all(getattr(self, name) is None for name in recent):
            errors["recent_orders_min"] = _("Give the orders or the net sales to look for in those days.")
        if not self.recent_days and any(getattr(self, name) is not None for name in recent):
            errors["recent_days"] = _("Give the number of days the orders and net sales are counted over.")
        for name in ("bought_categories", "bought_skus"):
            codes = codes_split(getattr(self, name))
            if len(codes) > MAX_CODES:
                errors[name] = _("At most %(count)d codes.") % {"count": MAX_CODES}
            elif any(len(code) > CODE_MAX_LENGTH for code in codes):
                errors[name] = _("A code has at most %(length)d characters.") % {"length": CODE_MAX_LENGTH}
            else:
                setattr(self, name, "\n".join(codes))
        if errors:
            raise ValidationError(errors)


class SegmentMembership(models.Model):
    """The members a segment found at its last refresh (`segment_refresh`): what the sale reads to
    target a promotion at a segment, by one indexed look-up, without evaluating the segment's
    rules on the sale path."""

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("segment")
    )
    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="segment_memberships", verbose_name=_("member")
    )

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(fields=["segment", "member"], name="campaigns_segmentmembership_once"),
        ]
        indexes = [models.Index(fields=["member"], name="campaigns_segmentmember_member")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.member_id}"


class RewardAudience(models.Model):
    """A catalogue reward kept for the members of a customer group or a segment (issue 16): a
    reward with none of these rows is open to everyone; with some, only to the members of one of
    its groups or segments (and still of one of its tiers, `vouchers.Reward.tiers`). Held here,
    above `vouchers`, because a higher app holds the link. Read at the till and on the member pages
    by `campaigns.audiences.membership.rewards_open_to_member` (indexed look-ups by member id, as
    the promotions do); written by `campaigns.audiences.services.reward_audience_set`."""

    reward = models.ForeignKey(
        "vouchers.Reward", on_delete=models.CASCADE, related_name="audiences", verbose_name=_("reward")
    )
    group = models.ForeignKey(
        CustomerGroup,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reward_audiences",
        verbose_name=_("customer group"),
    )
    segment = models.ForeignKey(
        Segment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reward_audiences",
        verbose_name=_("segment"),
    )

    class Meta:
        verbose_name = _("reward audience")
        verbose_name_plural = _("reward audiences")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(group__isnull=False, segment__isnull=True)
                | models.Q(group__isnull=True, segment__isnull=False),
                name="campaigns_rewardaudience_group_or_segment",
            ),
            models.UniqueConstraint(
                fields=["reward", "group"],
                condition=models.Q(group__isnull=False),
                name="campaigns_rewardaudience_group",
            ),
            models.UniqueConstraint(
                fields=["reward", "segment"],
                condition=models.Q(segment__isnull=False),
                name="campaigns_rewardaudience_segment",
            ),
        ]

    def __str__(self) -> str:
        return str(self.group or self.segment or "")

    def clean(self) -> None:
        if (self.group_id is None) == (self.segment_id is None):
            raise ValidationError(_("Choose either a customer group or a segment."))
