"""The reward catalogue and the vouchers issued from it.

A `Reward` is configuration, edited by marketing in the admin: what a voucher is worth (one of
four kinds), what it costs in points, when and where it can be had and used. A `Voucher` is one
issued copy, owned by one member, with a code to read aloud. Vouchers are written by
`vouchers.services` only: issuing, using, giving back, voiding and expiring are conditional
updates or run under a row lock, so a voucher is used at most once and a reward's stock is never
oversold (the `issued_count <= stock` constraint is the database's backstop)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from members.models import LedgerEntry, Member
from stores.models import Brand, Store, code_validator


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs)


class Reward(TimeStampedModel):
    """A catalogue item: what a voucher of this reward is worth and how it can be had."""

    class Kind(models.TextChoices):
        CASH = "cash", _("Amount off")
        PERCENT = "percent", _("Percent off")
        FREE_ITEM = "free_item", _("Free item")
        BUY_X_GET_Y = "buy_x_get_y", _("Buy X get Y")

    class Validity(models.TextChoices):
        DAYS = "days", _("N days after issue")
        FIXED_DATE = "fixed_date", _("Until a fixed date")
        END_OF_MONTH = "end_of_month", _("Until the end of the month of issue")

    class LimitPeriod(models.TextChoices):
        DAY = "day", _("per day")
        MONTH = "month", _("per month")
        YEAR = "year", _("per year")
        EVER = "ever", _("in total")

    # The fields each kind needs; every other kind field must stay empty.
    KIND_FIELDS = {
        Kind.CASH: ("value",),
        Kind.PERCENT: ("percent", "cap"),
        Kind.FREE_ITEM: ("sku", "category"),
        Kind.BUY_X_GET_Y: ("sku", "category", "buy_quantity", "free_quantity"),
    }
    ALL_KIND_FIELDS = ("value", "percent", "cap", "sku", "category", "buy_quantity", "free_quantity")

    code = models.CharField(
        _("code"),
        max_length=20,
        unique=True,
        validators=[code_validator],
        help_text=_("Capital letters, digits and dashes, e.g. CASH50K. The POS names the reward by it."),
    )
    name = models.CharField(_("name (Vietnamese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    terms = models.TextField(_("terms (Vietnamese)"), blank=True)
    terms_en = models.TextField(_("terms (English)"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    value = _money(
        _("amount off (VND)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(1))],
        help_text=_("For an amount off: taken off the invoice, never more than what is left to pay."),
    )
    percent = models.DecimalField(
        _("percent off"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(100))],
        help_text=_("For a percent off: e.g. 10 for 10 %."),
    )
    cap = _money(
        _("maximum discount (VND)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(1))],
        help_text=_("For a percent off: the discount never exceeds this amount."),
    )
    sku = models.CharField(
        _("SKU"),
        max_length=64,
        blank=True,
        help_text=_("For a free item or buy X get Y: the item it applies to (or give a category)."),
    )
    category = models.CharField(
        _("category"),
        max_length=64,
        blank=True,
        help_text=_("For a free item or buy X get Y: the category of items it applies to, e.g. coffee."),
    )
    buy_quantity = models.PositiveSmallIntegerField(
        _("items to buy (X)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("For buy X get Y: with X = 2 and Y = 1, of every 3 matching items the cheapest is free."),
    )
    free_quantity = models.PositiveSmallIntegerField(
        _("items free (Y)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    points_cost = models.PositiveIntegerField(
        _("points cost"),
        default=0,
        help_text=_("Points a member exchanges for one voucher, before the tier's discount."),
    )
    is_visible = models.BooleanField(
        _("shown in the catalogue"),
        default=True,
        help_text=_("Untick for a reward given only by campaigns or staff: it cannot be exchanged for points."),
    )
    active_from = models.DateTimeField(_("can be issued from"), null=True, blank=True)
    active_until = models.DateTimeField(_("can be issued until"), null=True, blank=True, help_text=_("Empty: no end."))
    validity = models.CharField(
        _("validity of issued vouchers"), max_length=20, choices=Validity.choices, default=Validity.DAYS
    )
    validity_days = models.PositiveSmallIntegerField(
        _("valid for (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("For 'N days after issue': usable through the whole N-th day after the day of issue."),
    )
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("For 'until a fixed date': the last day of use.")
    )
    brands = models.ManyToManyField(
        Brand,
        blank=True,
        related_name="rewards",
        verbose_name=_("brands"),
        help_text=_("Where vouchers can be used. Leave brands and stores empty for every store."),
    )
    stores = models.ManyToManyField(
        Store,
        blank=True,
        related_name="rewards",
        verbose_name=_("stores"),
        help_text=_("Single stores where vouchers can be used, on top of the brands chosen."),
    )
    tiers = models.ManyToManyField(
        "tiers.Tier",
        blank=True,
        related_name="+",
        verbose_name=_("tiers"),
        help_text=_(
            "Only members of these tiers see the reward and can exchange points for it (at the till and on "
            "the member pages). None: every tier."
        ),
    )
    min_invoice = _money(
        _("minimum invoice (VND)"),
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("The voucher applies only when the invoice subtotal is at least this amount."),
    )
    stock = models.PositiveIntegerField(
        _("total stock"),
        null=True,
        blank=True,
        help_text=_("How many vouchers can be issued in all. Empty: unlimited."),
    )
    issued_count = models.PositiveIntegerField(_("issued"), default=0, editable=False)
    limit_per_member = models.PositiveSmallIntegerField(
        _("limit per member"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("How many vouchers one member can get in the period. Empty: no limit."),
    )
    limit_period = models.CharField(
        _("limit period"), max_length=10, choices=LimitPeriod.choices, default=LimitPeriod.EVER
    )

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        permissions = [("export_reward", _("Can export rewards")), ("import_reward", _("Can import rewards"))]
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(issued_count__lte=F("stock")),
                name="vouchers_reward_stock_not_oversold",
            ),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | (Q(percent__gt=0) & Q(percent__lte=100)),
                name="vouchers_reward_percent_range",
            ),
            models.CheckConstraint(condition=Q(min_invoice__gte=0), name="vouchers_reward_min_invoice_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.code})"

    @property
    def display_name(self) -> str:
        """The name in the active language (the Vietnamese one when no English name is given)."""
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name

    @property
    def display_terms(self) -> str:
        if (get_language() or "").startswith("en") and self.terms_en:
            return self.terms_en
        return self.terms

    @property
    def stock_left(self) -> int | None:
        return None if self.stock is None else max(0, self.stock - self.issued_count)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list] = {}
        needed = self.KIND_FIELDS.get(self.kind, ())
        required = _("Required for this kind of reward.")
        if self.kind == self.Kind.CASH and self.value is None:
            errors["value"] = [required]
        if self.kind == self.Kind.PERCENT:
            if self.percent is None:
                errors["percent"] = [required]
            if self.cap is None:
                errors["cap"] = [required]
        if self.kind in (self.Kind.FREE_ITEM, self.Kind.BUY_X_GET_Y):
            self.sku = (self.sku or "").strip()
            self.category = (self.category or "").strip()
            if not self.sku and not self.category:
                errors["sku"] = [_("Give the SKU or the category of the items it applies to.")]
        if self.kind == self.Kind.BUY_X_GET_Y:
            if self.buy_quantity is None:
                errors["buy_quantity"] = [required]
            if self.free_quantity is None:
                errors["free_quantity"] = [required]
        if self.kind:
            for name in self.ALL_KIND_FIELDS:
                if name not in needed and getattr(self, name) not in (None, ""):
                    errors.setdefault(name, []).append(_("Not used by this kind of reward: leave it empty."))
        if self.validity == self.Validity.DAYS and self.validity_days is None:
            errors["validity_days"] = [_("Give the number of days vouchers stay valid.")]
        if self.validity == self.Validity.FIXED_DATE and self.valid_until is None:
            errors["valid_until"] = [_("Give the last day vouchers can be used.")]
        if self.active_from and self.active_until and self.active_until <= self.active_from:
            errors["active_until"] = [_("The end must come after the start.")]
        if (
            self.validity == self.Validity.FIXED_DATE
            and self.valid_until
            and self.active_from
            and self.valid_until < timezone.localtime(self.active_from).date()
        ):
            errors["valid_until"] = [_("Vouchers would expire before they can be issued.")]
        if self.stock is not None and self.stock < self.issued_count:
            errors["stock"] = [
                _("%(count)d vouchers were issued already; the stock cannot be lower.") % {"count": self.issued_count}
            ]
        if self.limit_per_member is not None and not self.limit_period:
            errors["limit_period"] = [required]
        if errors:
            raise ValidationError(errors)


class Voucher(TimeStampedModel):
    """One issued voucher. `expires_at` is the first moment it can no longer be used (the
    midnight after its last valid day, in the zone it was issued in)."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")
        VOID = "void", _("Void")

    class Channel(models.TextChoices):
        POINTS = "points", _("Exchanged for points")
        WEB = "web", _("Exchanged for points on the member pages")
        CAMPAIGN = "campaign", _("Campaign")
        STAFF = "staff", _("Staff")
        IMPORT = "import", _("Import")

    code = models.CharField(_("code"), max_length=20, unique=True, editable=False)
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("reward"))
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("member"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    channel = models.CharField(_("issued through"), max_length=10, choices=Channel.choices)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    issued_store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued at store"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    reference = models.CharField(
        _("idempotency reference"),
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text=_("Issuing again with the same reference returns this voucher instead of a new one."),
    )
    points_spent = models.PositiveIntegerField(_("points spent"), default=0)
    spend_entry = models.ForeignKey(
        LedgerEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ledger entry of the exchange"),
    )
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("used at store")
    )
    used_sale_reference = models.CharField(_("used on sale"), max_length=100, blank=True)
    returned_at = models.DateTimeField(_("given back at"), null=True, blank=True)
    returned_from_sale = models.CharField(_("given back from sale"), max_length=100, blank=True)
    return_reason = models.CharField(_("reason it was given back"), max_length=300, blank=True)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("voided by"),
    )
    void_reason = models.CharField(_("reason for voiding"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        permissions = [("export_voucher", _("Can export vouchers"))]
        ordering = ["-issued_at", "-pk"]
        indexes = [
            models.Index(fields=["member", "status", "expires_at"], name="vouchers_member_status_exp"),
            models.Index(fields=["reward", "member", "issued_at"], name="vouchers_reward_member_time"),
            models.Index(fields=["expires_at"], condition=Q(status="issued"), name="vouchers_issued_expiry"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="used") & Q(used_at__isnull=False)) | (~Q(status="used") & Q(used_at__isnull=True)),
                name="vouchers_voucher_used_at_iff_used",
            ),
            models.CheckConstraint(
                condition=(Q(status="void") & Q(voided_at__isnull=False))
                | (~Q(status="void") & Q(voided_at__isnull=True)),
                name="vouchers_voucher_voided_at_iff_void",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("issued_at")), name="vouchers_voucher_expires_after_issue"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def is_expired_at(self, at) -> bool:
        return self.status == self.Status.EXPIRED or (self.status == self.Status.ISSUED and self.expires_at <= at)

    def status_at(self, at) -> str:
        """The status as the till should see it at `at`: an issued voucher past its expiry is
        expired even before the nightly job marks it."""
        if self.status == self.Status.ISSUED and self.expires_at <= at:
            return self.Status.EXPIRED
        return self.status


class SharedCode(TimeStampedModel):
    """One code many members type at the till (e.g. `CHAOBAN`), given in `"vouchers"` like a
    voucher code. What it takes off, where, and from which invoice, is its `reward`'s (a reward
    kept out of the catalogue); the code adds its dates and its limits: uses in all (held under
    concurrency by a conditional UPDATE of `uses_count`) and uses per member (counted under the
    member's row lock the sale holds). A full refund gives the use back (`SharedCodeUse.returned_at`)."""

    code = models.CharField(
        _("code"),
        max_length=20,
        unique=True,
        validators=[code_validator],
        help_text=_("Capital letters, digits and dashes, e.g. CHAOBAN. Typed at the till like a voucher code."),
    )
    reward = models.ForeignKey(
        Reward,
        on_delete=models.PROTECT,
        related_name="shared_codes",
        verbose_name=_("reward"),
        help_text=_("What the code gives, where, and the minimum invoice: those of this reward."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True, help_text=_("First day, store local date."))
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Last day (included), store local date.")
    )
    total_limit = models.PositiveIntegerField(
        _("uses in all"), null=True, blank=True, validators=[MinValueValidator(1)], help_text=_("Empty: no limit.")
    )
    per_member_limit = models.PositiveIntegerField(
        _("uses per member"), null=True, blank=True, validators=[MinValueValidator(1)], help_text=_("Empty: no limit.")
    )
    uses_count = models.PositiveIntegerField(_("uses"), default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("shared code")
        verbose_name_plural = _("shared codes")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_limit__isnull=True) | Q(uses_count__lte=F("total_limit")),
                name="vouchers_sharedcode_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValidationError({"valid_until": _("The last day cannot be before the first day.")})


class SharedCodeUse(models.Model):
    """One use of a shared code on a sale, by a member. A full refund sets `returned_at`: the
    use no longer counts, for the member nor in all."""

    shared_code = models.ForeignKey(
        SharedCode, on_delete=models.PROTECT, related_name="uses", verbose_name=_("shared code")
    )
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("member")
    )
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    sale_reference = models.CharField(_("sale reference"), max_length=100)
    used_at = models.DateTimeField(_("used at"))
    discount = _money(_("discount given"), default=Decimal(0))
    returned_at = models.DateTimeField(_("given back at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shared code use")
        verbose_name_plural = _("shared code uses")
        ordering = ["-used_at", "-pk"]
        indexes = [models.Index(fields=["shared_code", "member"], name="vouchers_sharedcodeuse_member")]
        constraints = [
            models.UniqueConstraint(fields=["shared_code", "sale_reference"], name="vouchers_sharedcodeuse_once"),
        ]

    def __str__(self) -> str:
        return f"{self.shared_code_id} @ {self.sale_reference}"


class VoucherBatch(TimeStampedModel):
    """Printed codes: `count` unique codes of `reward` generated at once
    (`vouchers.services.batches.voucher_batch_create`), exported to CSV or Excel for printing
    (each export recorded), each usable once, by whoever brings it: a code belongs to nobody
    until a sale uses it, then to the member on that sale."""

    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="batches", verbose_name=_("reward"))
    name = models.CharField(_("name"), max_length=200)
    count = models.PositiveIntegerField(_("number of codes"), validators=[MinValueValidator(1)])
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
        verbose_name = _("voucher batch")
        verbose_name_plural = _("voucher batches")
        ordering = ["-created_at", "-pk"]
        # Downloading the codes for printing hands out value: Marketing and the Programme lead
        # (backoffice/roles.py gives `export` on the vouchers app to them only).
        permissions = [("export_voucherbatch", "Can download the codes of a voucher batch")]

    def __str__(self) -> str:
        return self.name


class BatchCode(models.Model):
    """One printed code of a batch. Ten characters of the voucher alphabet (a voucher code has
    eight), so a printed code and a voucher code can never be the same."""

    batch = models.ForeignKey(VoucherBatch, on_delete=models.CASCADE, related_name="codes", verbose_name=_("batch"))
    code = models.CharField(_("code"), max_length=12, unique=True)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("used by")
    )
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("used at store")
    )
    used_sale_reference = models.CharField(_("sale reference"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("printed code")
        verbose_name_plural = _("printed codes")
        indexes = [models.Index(fields=["batch", "used_at"], name="vouchers_batchcode_batch")]

    def __str__(self) -> str:
        return self.code


class VoucherBatchExport(models.Model):
    """Who exported a batch for printing, when, and in which format."""

    batch = models.ForeignKey(VoucherBatch, on_delete=models.CASCADE, related_name="exports", verbose_name=_("batch"))
    exported_at = models.DateTimeField(_("exported at"), default=timezone.now)
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("exported by"),
    )
    file_format = models.CharField(_("format"), max_length=5)
    rows = models.PositiveIntegerField(_("rows"))

    class Meta:
        verbose_name = _("voucher batch export")
        verbose_name_plural = _("voucher batch exports")
        ordering = ["-exported_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.batch_id} @ {self.exported_at:%Y-%m-%d %H:%M}"
