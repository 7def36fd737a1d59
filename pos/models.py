"""Sales and refunds recorded through the POS API.

A sale is written once, by `pos.checkout.sale_record`, in the same transaction as everything
it moves (ledger entries, vouchers, qualifying spend); afterwards only refunds change it, and
only through `pos.checkout.sale_refund`. The admin shows them read-only."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel, UpdatedByModel, settings_history
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


def money_field(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, default=Decimal(0), **kwargs
    )


class RecordedSaleManager(models.Manager):
    """Sales and completed online orders: what the reports, the member's history and the sales
    endpoints see. An online order still pending, or cancelled, is a promise rather than a sale:
    it is reached only through `Sale.all_objects` (`pos.checkout.orders`, the admin)."""

    def get_queryset(self):
        return super().get_queryset().exclude(order_status__in=Sale.UNRECORDED_ORDER_STATUSES)


class Sale(TimeStampedModel):
    class Status(models.TextChoices):
        COMPLETED = "completed", _("Completed")
        PARTLY_REFUNDED = "partly_refunded", _("Partly refunded")
        REFUNDED = "refunded", _("Refunded")

    class OrderStatus(models.TextChoices):
        """The life cycle of an online order (pos-api.md 1.2); empty for a till's sale."""

        NONE = "", _("Not an online order")
        PENDING = "pending", _("Order pending")
        COMPLETED = "completed", _("Order completed")
        CANCELLED = "cancelled", _("Order cancelled")

    UNRECORDED_ORDER_STATUSES = (OrderStatus.PENDING, OrderStatus.CANCELLED)

    # Their single-column indexes gave way to (store, time) and (terminal, time) below: the same
    # lookups, plus a store's sales newest first and a terminal's sales of the day (issue 18).
    store = models.ForeignKey(
        "stores.Store", on_delete=models.PROTECT, related_name="sales", verbose_name=_("store"), db_index=False
    )
    terminal = models.ForeignKey(
        "stores.Terminal", on_delete=models.PROTECT, related_name="sales", verbose_name=_("terminal"), db_index=False
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
    # Store credit (docs/store-credit.md): paid with it, earned, and what refunds gave back.
    store_credit_redeemed = money_field(_("paid with store credit"))
    store_credit_earned = money_field(_("store credit earned"))
    store_credit_reversed = money_field(_("earned store credit taken back"))
    store_credit_returned = money_field(_("store credit given back"))
    order_status = models.CharField(
        _("online order status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.NONE, blank=True
    )
    order_closed_at = models.DateTimeField(_("online order completed or cancelled at"), null=True, blank=True)

    objects = RecordedSaleManager()
    all_objects = models.Manager()

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
        indexes = [
            models.Index(fields=["member", "-occurred_at"], name="pos_sale_member_time_idx"),
            models.Index(fields=["store", "-occurred_at"], name="pos_sale_store_time_idx"),
            models.Index(fields=["terminal", "-occurred_at"], name="pos_sale_terminal_time_idx"),
            # The member's pending points (`points_pending`) and staff's list of open orders.
            models.Index(fields=["member"], condition=Q(order_status="pending"), name="pos_sale_pending_order_idx"),
            # The reports' late-changed days (`reports.figures.dirty_days`): online orders closed
            # since the rollups ran. Only online orders have the column: the index stays small.
            models.Index(
                fields=["order_closed_at"],
                condition=Q(order_closed_at__isnull=False),
                name="pos_sale_order_closed_idx",
            ),
        ]

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
    # Set when an earn rule touched the sale (`pos.checkout.earning`), else empty: the line's share
    # of the earn base and its unrounded points, by which a refund of some lines reverses points
    # and qualifying spend.
    earn_base = models.DecimalField(
        _("share of the earn base"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    earn_points = models.DecimalField(
        _("points earned (unrounded)"), max_digits=24, decimal_places=6, null=True, blank=True
    )
    # Set when the line earned store credit: its unrounded share, by which a refund of some lines
    # takes back store credit (`pos.checkout.credit`).
    store_credit_earned = models.DecimalField(
        _("store credit earned (unrounded)"), max_digits=24, decimal_places=6, null=True, blank=True
    )

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
        STORE_CREDIT = "store_credit", _("Store credit")

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
    store_credit_reversed = money_field(_("earned store credit taken back"))
    store_credit_returned = money_field(_("store credit given back"))
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


# --- Plausibility limits on tills (risk.md "Tills", pos-api.md 1.1) -------------------------------

DEMO_MAX_SALE_AMOUNT = Decimal(200_000_000)
DEMO_MAX_POINTS_PER_SALE = 20_000
DEMO_MAX_TERMINAL_POINTS_PER_DAY = 200_000


class SaleLimits(UpdatedByModel):
    """The programme's plausibility limits on sales (one row, pk 1), read by every sale through
    `pos.checkout.limits.sale_limits_for` (cached) and written through `sale_limits_update`.
    An empty limit means none. A new programme starts with the demo's values: a leaked terminal
    key is bounded from the first day."""

    SINGLETON_PK = 1

    max_sale_amount = models.DecimalField(
        _("most a sale may total (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        null=True,
        blank=True,
        default=DEMO_MAX_SALE_AMOUNT,
        validators=[MinValueValidator(Decimal(1))],
        help_text=_("The sale's subtotal, before discounts. Empty: no limit."),
    )
    max_points_per_sale = models.PositiveIntegerField(
        _("most points one sale may earn"),
        null=True,
        blank=True,
        default=DEMO_MAX_POINTS_PER_SALE,
        validators=[MinValueValidator(1)],
        help_text=_("Empty: no limit."),
    )
    max_terminal_points_per_day = models.PositiveIntegerField(
        _("most points a terminal may give out in a day"),
        null=True,
        blank=True,
        default=DEMO_MAX_TERMINAL_POINTS_PER_DAY,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Counted per local day of the store, on the day the sale is recorded (a back-dated sale "
            "counts today). Empty: no limit."
        ),
    )

    history = settings_history(_("sale limits history"))

    class Meta:
        verbose_name = _("sale limits")
        verbose_name_plural = _("sale limits")

    def __str__(self) -> str:
        return str(_("Sale limits of the programme"))


class StoreSaleLimits(UpdatedByModel):
    """A store's own values for some of the programme's sale limits; an empty field takes the
    programme's value."""

    store = models.OneToOneField(
        "stores.Store", on_delete=models.CASCADE, related_name="sale_limits", verbose_name=_("store")
    )
    max_sale_amount = models.DecimalField(
        _("most a sale may total (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(1))],
        help_text=_("Empty: the programme's limit."),
    )
    max_points_per_sale = models.PositiveIntegerField(
        _("most points one sale may earn"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty: the programme's limit."),
    )
    max_terminal_points_per_day = models.PositiveIntegerField(
        _("most points a terminal may give out in a day"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty: the programme's limit."),
    )

    history = settings_history(_("store sale limits history"))

    class Meta:
        verbose_name = _("store sale limits")
        verbose_name_plural = _("store sale limits")
        ordering = ["store__code"]

    def __str__(self) -> str:
        return str(self.store)


class TerminalDay(models.Model):
    """What one terminal gave out on one local day of its store: the points its sales earned
    (the daily cap is checked and counted in one guarded UPDATE, in the sale's transaction) and
    how many of its attempts a limit refused (which bounds the refusals kept one by one)."""

    terminal = models.ForeignKey(
        "stores.Terminal", on_delete=models.CASCADE, related_name="days", verbose_name=_("terminal")
    )
    day = models.DateField(_("day"))
    points_given = models.PositiveBigIntegerField(_("points given out"), default=0)
    refusals = models.PositiveIntegerField(_("attempts refused by a limit"), default=0)

    class Meta:
        verbose_name = _("terminal day")
        verbose_name_plural = _("terminal days")
        ordering = ["-day", "terminal"]
        constraints = [models.UniqueConstraint(fields=["terminal", "day"], name="pos_terminalday_terminal_day_uniq")]

    def __str__(self) -> str:
        return f"{self.terminal_id} {self.day}"


class LimitRefusal(models.Model):
    """A sale a plausibility limit refused, kept for staff to review (the sale itself recorded
    nothing). Written after the sale's transaction rolled back. A terminal keeps at most
    `pos.checkout.limits.REFUSALS_KEPT_PER_DAY` rows a day; later refusals that day are counted
    on its latest row (`repeats`), so a flooding till cannot grow the table without bound."""

    class Limit(models.TextChoices):
        SALE_AMOUNT = "sale-amount", _("Most a sale may total")
        POINTS_PER_SALE = "points-per-sale", _("Most points one sale may earn")
        TERMINAL_POINTS_PER_DAY = "terminal-points-per-day", _("Most points a terminal may give out in a day")

    terminal = models.ForeignKey(
        "stores.Terminal", on_delete=models.CASCADE, related_name="limit_refusals", verbose_name=_("terminal")
    )
    store = models.ForeignKey(
        "stores.Store", on_delete=models.CASCADE, related_name="limit_refusals", verbose_name=_("store")
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("member"),
    )
    receipt_number = models.CharField(_("receipt number"), max_length=64)
    limit = models.CharField(_("limit"), max_length=30, choices=Limit.choices)
    maximum = models.DecimalField(_("limit value"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    amount = money_field(_("sale subtotal"))
    points = models.PositiveBigIntegerField(_("points to earn"), default=0)
    day = models.DateField(_("local day"))
    refused_at = models.DateTimeField(_("refused at"), db_index=True)
    last_refused_at = models.DateTimeField(_("last refused at"))
    repeats = models.PositiveIntegerField(
        _("later refusals folded in"),
        default=0,
        help_text=_("Refusals of this terminal on this day after the daily number kept one by one."),
    )

    class Meta:
        verbose_name = _("refused sale")
        verbose_name_plural = _("refused sales (limits)")
        ordering = ["-refused_at", "-pk"]
        indexes = [models.Index(fields=["terminal", "day", "-id"], name="pos_limitrefusal_term_day_idx")]

    def __str__(self) -> str:
        return f"{self.terminal_id} {self.limit} {self.refused_at:%Y-%m-%d %H:%M}"
