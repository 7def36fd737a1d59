"""Daily rollups of the figures of reports.md that add up day by day, one row per local day of
the programme's zone and per store (or per store-or-none where the source may have no store).

Written only by `reports.services` (the beat task `reports.refresh_rollups` and
`manage.py rebuild_rollups`), always as a whole range: delete the range's rows, insert them again
with one INSERT ... SELECT per table. Nothing else depends on them: `reports.figures` reads them
for days that are rolled up and untouched since (`RollupDay`, `RollupState.watermark`) and the
raw tables for every other day, so a stale rollup can never show a wrong figure.

Balances and tiers are never rolled up: `reports.figures` reads them from the members' current
state. Active members and the returning rate (distinct members) have their own kept structure,
`MemberDay` and `ActivityGap` below, rebuilt with the rollups."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


def _money(verbose_name) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=MONEY_MAX_DIGITS + 4, decimal_places=MONEY_DECIMAL_PLACES, default=Decimal(0)
    )


class DailySales(models.Model):
    """The sales of one store on one local day (by `occurred_at`), members' and others' apart.
    Net money and orders follow the sales' refunds: a refund made later changes its sale's day."""

    day = models.DateField(_("day"))
    store = models.ForeignKey(
        "stores.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("store"), db_constraint=False
    )
    member_net = _money(_("members' net sales"))
    member_gross = _money(_("members' gross sales"))
    member_orders = models.PositiveIntegerField(_("members' orders"), default=0)
    other_net = _money(_("others' net sales"))
    other_gross = _money(_("others' gross sales"))
    other_orders = models.PositiveIntegerField(_("others' orders"), default=0)

    class Meta:
        verbose_name = _("daily sales")
        verbose_name_plural = _("daily sales")
        ordering = ["-day", "store"]
        # The report permission lives on this model: reports have no model of their own.
        permissions = [("view_reports", _("Can see the reports"))]
        constraints = [models.UniqueConstraint(fields=["day", "store"], name="reports_dailysales_day_store")]

    def __str__(self) -> str:
        return f"{self.day} {self.store_id}"


class DailyPoints(models.Model):
    """Points moved on one local day (by the entry's `occurred_at`), per figure and per store
    where the entry has one (a sale's or a refund's entries: the sale's store), else no store."""

    class Figure(models.TextChoices):
        ISSUED = "issued", _("Points issued")
        REDEEMED = "redeemed", _("Points redeemed")
        EXPIRED = "expired", _("Points expired")
        ADJUSTED = "adjusted", _("Points adjusted")

    day = models.DateField(_("day"))
    store = models.ForeignKey(
        "stores.Store",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("store"),
        db_constraint=False,
    )
    figure = models.CharField(_("figure"), max_length=10, choices=Figure.choices)
    points = models.BigIntegerField(_("points"), default=0)

    class Meta:
        verbose_name = _("daily points")
        verbose_name_plural = _("daily points")
        ordering = ["-day", "store", "figure"]
        indexes = [models.Index(fields=["day"], name="reports_dailypoints_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.store_id} {self.figure}: {self.points}"


class DailyEnrolments(models.Model):
    """Members enrolled on one local day, per home store (none: no home store)."""

    day = models.DateField(_("day"))
    store = models.ForeignKey(
        "stores.Store",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("home store"),
        db_constraint=False,
    )
    members = models.PositiveIntegerField(_("members"), default=0)

    class Meta:
        verbose_name = _("daily enrolments")
        verbose_name_plural = _("daily enrolments")
        ordering = ["-day", "store"]
        indexes = [models.Index(fields=["day"], name="reports_dailyenrol_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.store_id}: {self.members}"


class DailyVouchers(models.Model):
    """Vouchers issued (by `issued_at`, at `issued_store`) and used (by `used_at`, at
    `used_store`) on one local day, per reward and per campaign (none: not a campaign's)."""

    day = models.DateField(_("day"))
    store = models.ForeignKey(
        "stores.Store",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("store"),
        db_constraint=False,
    )
    reward = models.ForeignKey(
        "vouchers.Reward", on_delete=models.CASCADE, related_name="+", verbose_name=_("reward"), db_constraint=False
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("campaign"),
        db_constraint=False,
    )
    issued = models.PositiveIntegerField(_("issued"), default=0)
    used = models.PositiveIntegerField(_("used"), default=0)

    class Meta:
        verbose_name = _("daily vouchers")
        verbose_name_plural = _("daily vouchers")
        ordering = ["-day", "reward"]
        indexes = [models.Index(fields=["day"], name="reports_dailyvouchers_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.reward_id}/{self.campaign_id}: {self.issued}/{self.used}"


class RollupDay(models.Model):
    """A local day whose rollups were built, and when."""

    day = models.DateField(_("day"), unique=True)
    built_at = models.DateTimeField(_("built at"))

    class Meta:
        verbose_name = _("rolled-up day")
        verbose_name_plural = _("rolled-up days")
        ordering = ["-day"]

    def __str__(self) -> str:
        return str(self.day)


class RollupState(models.Model):
    """One row (pk 1): the time up to which the rows created in the source tables have been
    folded into the rollups. A row created after it makes its day read from the raw tables
    until the next refresh."""

    SINGLETON_PK = 1

    watermark = models.DateTimeField(_("rolled up to"))

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup state")

    def __str__(self) -> str:
        return f"{self.watermark:%Y-%m-%d %H:%M:%S}"


class MemberDay(models.Model):
    """A local day on which a member placed an order (a sale not refunded in full) at a store:
    the kept structure behind the distinct-member figures (active members, returning rate).
    Rebuilt with the other rollups, day range by day range, from the same sales."""

    member_id = models.BigIntegerField(_("member"))
    store_id = models.BigIntegerField(_("store"))
    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("member's order day")
        verbose_name_plural = _("members' order days")
        # A member's own rows first: a member's order days before a day, in a scope, and whether
        # a member already counted has one in a run of days, are read a member at a time.
        constraints = [
            models.UniqueConstraint(fields=["member_id", "store_id", "day"], name="reports_memberday_member_store_day")
        ]
        indexes = [models.Index(fields=["day"], name="reports_memberday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.store_id} {self.member_id}"


class ActivityGap(models.Model):
    """How many members of a scope (all stores, a brand, a store) had an order day `day` whose
    previous order day in that scope was `previous_day` (none: their first). The members active
    in `[a, b]` are then exactly Σ members over the rows with `a <= day <= b` and no previous
    day or one before `a` (each member counts once: on their first order day of the range), and
    the members active in two adjacent periods P, C are |P| + |C| - |P ∪ C|. Derived from
    `MemberDay`: rebuilt from the first day of a rebuilt range whose order days changed."""

    class Kind(models.IntegerChoices):
        ALL = 0, _("All stores")
        BRAND = 1, _("Brand")
        STORE = 2, _("Store")

    kind = models.PositiveSmallIntegerField(_("scope"), choices=Kind.choices)
    scope_id = models.BigIntegerField(_("brand or store"), default=0)
    day = models.DateField(_("day"))
    previous_day = models.DateField(_("previous order day"), null=True, blank=True)
    members = models.PositiveIntegerField(_("members"), default=0)

    class Meta:
        verbose_name = _("activity gap")
        verbose_name_plural = _("activity gaps")
        indexes = [
            models.Index(fields=["kind", "scope_id", "day", "previous_day"], name="reports_activitygap_scope_day"),
            models.Index(fields=["day"], name="reports_activitygap_day"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.scope_id} {self.day} after {self.previous_day}: {self.members}"
