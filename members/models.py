"""Members, their cards, the programme's point settings and the point ledger.

Everything here is written by `members.services` only. In particular the ledger tables
(`LedgerEntry`, `PointLot`, `LotMovement`) and the cached `Member.points_balance` /
`Member.points_debt` are written by `members.services.ledger` alone, under a row lock on the
member."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from loyalty_site.core.models import TimeStampedModel, UpdatedByModel, settings_history
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, RoundingMode
from members.phones import validate_phone_e164
from stores.models import Store

OLDEST_BIRTHDAY = datetime.date(1900, 1, 1)


def validate_birthday(value: datetime.date) -> None:
    if value > timezone.localdate():
        raise ValidationError(_("The birthday cannot be in the future."), code="future_birthday")
    if value < OLDEST_BIRTHDAY:
        raise ValidationError(_("The birthday cannot be before 1900."), code="birthday_too_old")


# --- Programme settings -----------------------------------------------------------------------


class ProgrammeSettings(UpdatedByModel):
    """The programme-wide point rules: one row (pk 1), edited in the admin, read through
    `members.selectors.programme_settings_get()` (cached) and written through
    `members.services.programme_settings_update()`.

    Expiry and pending periods are fixed on each lot when it is credited: changing the policy
    applies to points earned from then on, never retroactively."""

    SINGLETON_PK = 1

    class ExpiryPolicy(models.TextChoices):
        NEVER = "never", _("Never")
        MONTHS_AFTER_EARNING = "months_after_earning", _("N months after earning")
        END_OF_YEAR = "end_of_year", _("End of the calendar year, N years after earning")

    class ClawbackPolicy(models.TextChoices):
        ALLOW_NEGATIVE = "allow_negative", _("Allow a negative balance and flag the member for staff")
        STOP_AT_ZERO = "stop_at_zero", _("Stop at zero and record the points not taken back")

    class PresenceProof(models.TextChoices):
        NEVER = "never", _("Never required")
        ABOVE = "above", _("Above N points")
        ALWAYS = "always", _("Always")

    point_value = models.DecimalField(
        _("point value (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        default=Decimal(1000),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("What one point is worth when spent, in VND."),
    )
    rounding_mode = models.CharField(
        _("rounding mode"),
        max_length=20,
        choices=RoundingMode.choices,
        default=RoundingMode.HALF_UP,
        help_text=_("How fractional points are rounded when points are computed from money."),
    )
    expiry_policy = models.CharField(
        _("expiry policy"),
        max_length=30,
        choices=ExpiryPolicy.choices,
        default=ExpiryPolicy.MONTHS_AFTER_EARNING,
    )
    expiry_months = models.PositiveSmallIntegerField(
        _("expiry after (months)"),
        default=12,
        validators=[MinValueValidator(1)],
        help_text=_(
            "For the policy 'N months after earning': points are usable until the end of the day N months after the day they were earned."  # noqa: E501
        ),
    )
    expiry_years = models.PositiveSmallIntegerField(
        _("expiry after (calendar years)"),
        default=1,
        help_text=_(
            "For the policy 'end of the calendar year': 0 means the end of the year of earning, 1 the end of the next year."  # noqa: E501
        ),
    )
    pending_days = models.PositiveSmallIntegerField(
        _("pending days"),
        default=0,
        help_text=_("Days after earning before points can be spent (0: at once)."),
    )
    backdating_limit_days = models.PositiveSmallIntegerField(
        _("back-dating limit (days)"),
        default=7,
        help_text=_("How old a sale sent late by an offline POS may be."),
    )
    clawback_policy = models.CharField(
        _("refund claw-back"),
        max_length=20,
        choices=ClawbackPolicy.choices,
        default=ClawbackPolicy.ALLOW_NEGATIVE,
        help_text=_("What happens when a refund takes back points the member has already spent."),
    )
    adjustment_max_points = models.PositiveIntegerField(
        _("largest adjustment without approval (points)"),
        default=500,
        help_text=_("A manual adjustment of more points than this (added or removed) waits for a programme lead."),
    )
    adjustment_daily_points = models.PositiveIntegerField(
        _("adjustments a staff member may make a day without approval (points)"),
        default=2000,
        help_text=_(
            "Points added or removed by one staff member in a local day; beyond it adjustments wait for a programme lead."  # noqa: E501
        ),
    )
    presence_proof = models.CharField(
        _("proof that the member is present"),
        max_length=10,
        choices=PresenceProof.choices,
        default=PresenceProof.NEVER,
        help_text=_(
            "When a till must show the member's card token or a one-time code sent to the member before spending points."  # noqa: E501
        ),
    )
    presence_free_points = models.PositiveIntegerField(
        _("points spendable without proof"),
        default=100,
        help_text=_("For 'above N points': a payment or redemption of up to this many points needs no proof."),
    )
    redeem_max_percent = models.DecimalField(
        _("most of an invoice points may pay (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(100)],
        help_text=_(
            "Of what is left to pay after every discount. Points asked beyond it are not taken. Empty: no limit."
        ),
    )
    presence_free_store_credit = models.DecimalField(
        _("store credit spendable without proof (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        default=Decimal(100000),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("For 'above N points': a payment of up to this much store credit needs no proof."),
    )
    redeem_min_points = models.PositiveIntegerField(
        _("fewest points that may pay"),
        default=0,
        help_text=_("A payment with fewer points is not taken (0: no minimum)."),
    )

    history = settings_history(_("programme settings history"))

    class Meta:
        verbose_name = _("programme point settings")
        verbose_name_plural = _("programme point settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="members_programmesettings_singleton"),
        ]

    def __str__(self) -> str:
        return str(_("Programme point settings"))


# --- Members ----------------------------------------------------------------------------------


class Member(TimeStampedModel):
    """A member of the programme.

    Balance design (why the database can still protect spends while a balance may go negative):
    - every credit makes a `PointLot`; every debit takes points out of lots (`LotMovement`), and
      `PointLot.remaining >= 0` is a database constraint, so no spend can take more points than
      the lots hold, whatever the code above does;
    - the only way below zero is a refund's claw-back under the "allow negative" policy: the part
      that no lot can cover becomes `points_debt`, and the next credits pay it off first;
    - hence `points_balance == sum(lot.remaining) - points_debt`, and the constraint
      `points_balance + points_debt >= 0` keeps the balance at or above zero whenever there is no
      debt. Spends are checked again under the member's row lock (spendable points: lots that are
      available and not expired, minus the debt, which is only ever non-zero when no lot is left).
    `manage.py check_ledger` verifies the cached balance, the debt and every lot against the
    entries."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        BLOCKED = "blocked", _("Blocked")
        MERGED = "merged", _("Merged into another member")

    class Channel(models.TextChoices):
        STORE = "store", _("In store")
        ADMIN = "admin", _("Back office")
        IMPORT = "import", _("Import")
        API = "api", _("POS API")
        WEB = "web", _("Member pages")

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    CONSENT_CHANNELS = ("sms", "email", "zalo", "push")

    code = models.CharField(_("member code"), max_length=12, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    # The name lower-cased without accents (`members.search.name_fold`), kept by the member
    # services beside `name`: what staff searches match, with or without accents.
    name_folded = models.CharField(_("name without accents"), max_length=200, blank=True, editable=False)
    phone = models.CharField(
        _("phone number"),
        max_length=16,
        unique=True,
        validators=[validate_phone_e164],
        help_text=_("Stored as +84…; any common Vietnamese form is accepted."),
    )
    email = models.EmailField(_("email"), blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True, validators=[validate_birthday])
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    home_store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="home_members",
        verbose_name=_("home store"),
        db_index=False,  # indexed with the id below (members_member_home_store)
    )
    # Indexed with the id below (members_member_recent): the list's order, and its deep pages.
    enrolled_at = models.DateTimeField(_("enrolled at"), default=timezone.now)
    enrolment_channel = models.CharField(
        _("enrolment channel"), max_length=10, choices=Channel.choices, default=Channel.ADMIN
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True, editable=False)
    status_reason = models.CharField(_("reason for the status"), max_length=300, blank=True)
    referral_code = models.CharField(_("referral code"), max_length=12, unique=True, editable=False)
    referred_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=_("referred by"),
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_members",
        verbose_name=_("merged into"),
        editable=False,
    )
    consent_sms_at = models.DateTimeField(_("SMS consent given at"), null=True, blank=True)
    consent_email_at = models.DateTimeField(_("email consent given at"), null=True, blank=True)
    consent_zalo_at = models.DateTimeField(_("Zalo consent given at"), null=True, blank=True)
    consent_push_at = models.DateTimeField(_("push consent given at"), null=True, blank=True)
    points_balance = models.IntegerField(_("points balance"), default=0, editable=False)
    points_debt = models.IntegerField(
        _("points owed"),
        default=0,
        editable=False,
        help_text=_("Points a refund took back that the member no longer had; repaid by the next credits."),
    )
    store_credit_balance = models.DecimalField(
        _("store credit (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        default=Decimal(0),
        editable=False,
        help_text=_("Cash-back the member can spend at the till; moved only through its ledger."),
    )
    needs_review = models.BooleanField(
        _("needs staff review"),
        default=False,
        help_text=_("Set when something needs a person to look, e.g. a refund left the balance negative."),
    )
    review_note = models.CharField(_("review note"), max_length=300, blank=True)

    # The audit trail: who changed what, when and why, old and new values (phone, status and
    # its reason, merges...). Balances move through the ledger, which is its own record.
    history = HistoricalRecords(
        excluded_fields=["points_balance", "points_debt", "store_credit_balance", "updated_at", "name_folded"],
        verbose_name=_("member history"),
        verbose_name_plural=_("member history"),
    )

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-enrolled_at", "-pk"]
        # The list's order (and its deep pages: the ids alone), and its status filter: the few
        # blocked or merged members among millions (issue 18).
        indexes = [
            models.Index(fields=["-enrolled_at", "-id"], name="members_member_recent"),
            # A store's members, their ids read from the index alone: the reports join a store's
            # members to their entries, lots and tier changes through it (issue 15).
            models.Index(fields=["home_store", "id"], name="members_member_home_store"),
            models.Index(
                fields=["status", "-enrolled_at"], condition=~Q(status="active"), name="members_member_not_active"
            ),
        ]
        permissions = [
            ("import_members", _("Can import members")),
            ("export_members", _("Can export members")),
            ("adjust_points", _("Can adjust points")),
            ("adjust_store_credit", _("Can adjust store credit")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(points_debt__gte=0), name="members_member_debt_gte_0"),
            models.CheckConstraint(condition=Q(store_credit_balance__gte=0), name="members_member_store_credit_gte_0"),
            models.CheckConstraint(
                condition=Q(points_balance__gte=-F("points_debt")),
                name="members_member_balance_gte_minus_debt",
            ),
            models.CheckConstraint(
                condition=(Q(status="merged") & Q(merged_into__isnull=False))
                | (~Q(status="merged") & Q(merged_into__isnull=True)),
                name="members_member_merged_into_iff_merged",
            ),
            models.CheckConstraint(condition=~Q(referred_by=F("pk")), name="members_member_no_self_referral"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def consent_given_at(self, channel: str) -> datetime.datetime | None:
        """When the member consented to messages on `channel` (sms, email, zalo, push), or None."""
        if channel not in self.CONSENT_CHANNELS:
            raise ValueError(f"unknown consent channel {channel!r}")
        return getattr(self, f"consent_{channel}_at")


class ConsentChange(models.Model):
    """One change of a member's consent to messages on a channel (Decree 13/2023 on personal
    data: when, how and by whom consent was given or withdrawn). Append-only, written by
    `members.services` alongside the member's `consent_<channel>_at` (the current state) for
    every real change; a change to the state it already has writes nothing."""

    class Source(models.TextChoices):
        ENROLMENT = "enrolment", _("Enrolment form")
        TILL = "till", _("At the till (POS)")
        MEMBER_WEB = "member-web", _("The member's own pages")
        UNSUBSCRIBE_LINK = "unsubscribe-link", _("Unsubscribe link in a message")
        STAFF = "staff", _("Staff in the back office")
        IMPORT = "import", _("Member import")
        MERGE = "merge", _("Merge of two member records")
        SYSTEM = "system", _("System (demo data, scripts)")

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="consent_changes", verbose_name=_("member")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=[(c, c.upper()) for c in Member.CONSENT_CHANNELS])
    given = models.BooleanField(_("consent given"))
    at = models.DateTimeField(_("at"))
    source = models.CharField(_("how"), max_length=20, choices=Source.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff user"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent changes")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["member", "-at"], name="members_consent_member_time")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.channel} {'+' if self.given else '-'} ({self.source})"


class Card(models.Model):
    """A membership card. A lost card is replaced, not deleted: the old one is deactivated and
    points to its replacement, so its history stays readable and it can no longer be used."""

    class DeactivationReason(models.TextChoices):
        LOST = "lost", _("Lost")
        DAMAGED = "damaged", _("Damaged")
        STOLEN = "stolen", _("Stolen")
        OTHER = "other", _("Other")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="cards", verbose_name=_("member"))
    number = models.CharField(_("card number"), max_length=32, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)
    deactivation_reason = models.CharField(
        _("deactivation reason"), max_length=10, choices=DeactivationReason.choices, blank=True
    )
    replaced_by = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaces",
        verbose_name=_("replaced by"),
    )

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        ordering = ["-issued_at", "-pk"]
        indexes = [models.Index(fields=["-issued_at", "-id"], name="members_card_recent")]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_active=True, deactivated_at__isnull=True)
                | Q(is_active=False, deactivated_at__isnull=False),
                name="members_card_deactivated_at_iff_inactive",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class MemberMerge(models.Model):
    """The record of one merge: `merged` (kept, with status "merged") was folded into
    `survivor`. `snapshot` holds the merged member's data as it was, `moved` the rows moved."""

    survivor = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="absorbed_merges", verbose_name=_("surviving member")
    )
    merged = models.OneToOneField(
        Member, on_delete=models.PROTECT, related_name="merge_record", verbose_name=_("merged member")
    )
    merged_at = models.DateTimeField(_("merged at"), default=timezone.now)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("merged by"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    snapshot = models.JSONField(_("merged member's data"), default=dict)
    moved = models.JSONField(_("rows moved"), default=dict)

    class Meta:
        verbose_name = _("member merge")
        verbose_name_plural = _("member merges")
        ordering = ["-merged_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(survivor=F("merged")), name="members_merge_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


# --- The ledger -------------------------------------------------------------------------------


class LedgerEntry(models.Model):
    """One movement of points. Append-only: corrections are new entries (an adjustment or a
    reversal), never edits. `points` is signed; `balance_after` is the balance of the member the
    entry was posted to, right after it (a merge moves entries to the survivor but keeps the
    figure they were posted with; the `MemberMerge` record says which ones moved).

    `reference` is the idempotency reference: posting again with the same reference returns the
    existing entry instead of posting twice (e.g. `sale:42:earn`, `expire:lot:7`)."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        SPEND = "spend", _("Spent")
        ADJUST = "adjust", _("Adjustment")
        EXPIRE = "expire", _("Expired")
        REVERSE = "reverse", _("Reversal")
        REFERRAL = "referral", _("Referral")
        BONUS = "bonus", _("Bonus")

    CREDIT_KINDS = (Kind.EARN, Kind.REFERRAL, Kind.BONUS)
    DEBIT_KINDS = (Kind.SPEND, Kind.EXPIRE)

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("member")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance after"))
    points_not_recovered = models.PositiveIntegerField(
        _("points not taken back"),
        default=0,
        help_text=_("A claw-back under the stop-at-zero policy: the points that could not be taken back."),
    )
    occurred_at = models.DateTimeField(_("occurred at"), help_text=_("When it happened, e.g. the time of the sale."))
    created_at = models.DateTimeField(_("posted at"), default=timezone.now, db_index=True)
    cause_kind = models.CharField(
        _("cause"), max_length=40, blank=True, help_text=_("e.g. sale, refund, redemption, manual")
    )
    cause_reference = models.CharField(_("cause reference"), max_length=100, blank=True)
    reference = models.CharField(_("idempotency reference"), max_length=200, unique=True)
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        verbose_name=_("reverses"),
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff user"),
    )

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        permissions = [("export_ledgerentry", _("Can export ledger entries"))]
        ordering = ["-created_at", "-pk"]
        indexes = [
            # A member's history, latest first; occurred_at and points in the key too, so that the
            # reports' "outstanding points at a past end" for one store's members reads this index
            # alone (an index-only scan per member: 0.57 s -> 0.15 s for a year of a store with
            # 23,000 members, issue 15). Key columns rather than INCLUDE: SQLite has no INCLUDE.
            models.Index(fields=["member", "-created_at", "occurred_at", "points"], name="members_ledger_member_cover"),
            # The admin's list filtered by kind, newest first, and a sale's entries found by their
            # cause (the sale page, the ledger searched by a receipt's reference): issue 18.
            models.Index(fields=["kind", "-created_at"], name="members_ledger_kind_time"),
            models.Index(fields=["cause_reference"], name="members_ledger_cause"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(points=0) | Q(points_not_recovered__gt=0), name="members_ledger_points_not_zero"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["earn", "referral", "bonus"]) | Q(points__gt=0),
                name="members_ledger_credit_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["spend", "expire"]) | Q(points__lt=0),
                name="members_ledger_debit_negative",
            ),
            models.CheckConstraint(
                condition=(Q(kind="reverse") & Q(reverses__isnull=False))
                | (~Q(kind="reverse") & Q(reverses__isnull=True)),
                name="members_ledger_reverse_has_original",
            ),
            models.CheckConstraint(
                condition=~Q(kind="adjust") | ~Q(reason=""), name="members_ledger_adjust_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d} ({self.reference})"


class PointLot(models.Model):
    """The points of one credit, with their own expiry: debits take points out of lots, the
    soonest-expiring first, and each removal is a `LotMovement`, so a reversal can put points
    back exactly where they came from. `remaining >= 0` is the database backstop against any
    spend exceeding what the member holds."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="lots", verbose_name=_("member"))
    entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="lot", verbose_name=_("credit entry")
    )
    points = models.PositiveIntegerField(_("points credited"))
    remaining = models.IntegerField(_("points remaining"))
    earned_at = models.DateTimeField(_("earned at"))
    available_from = models.DateTimeField(_("spendable from"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("point lot")
        verbose_name_plural = _("point lots")
        ordering = ["member", "expires_at", "pk"]
        indexes = [
            models.Index(fields=["member", "expires_at"], name="members_lot_member_expiry"),
            # The expiry job's lots due, and the reports' points expiring in 30 / 60 / 90 days
            # (with `remaining`: read from the index alone).
            models.Index(
                fields=["expires_at", "remaining"], condition=Q(remaining__gt=0), name="members_lot_open_expiry_rem"
            ),
            # The admin's list, soonest expiry first, every lot (issue 18).
            models.Index(fields=["expires_at", "id"], name="members_lot_expiry"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(remaining__gte=0), name="members_lot_remaining_gte_0"),
            models.CheckConstraint(condition=Q(remaining__lte=F("points")), name="members_lot_remaining_lte_points"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}: {self.remaining}/{self.points}"


class LotMovement(models.Model):
    """Points moved into (+) or out of (-) a lot by an entry. For every lot, `remaining` equals
    the sum of its movements."""

    entry = models.ForeignKey(
        LedgerEntry, on_delete=models.PROTECT, related_name="movements", verbose_name=_("ledger entry")
    )
    lot = models.ForeignKey(PointLot, on_delete=models.PROTECT, related_name="movements", verbose_name=_("lot"))
    points = models.IntegerField(_("points"))

    class Meta:
        verbose_name = _("lot movement")
        verbose_name_plural = _("lot movements")
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="members_lotmovement_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} → lot {self.lot_id}: {self.points:+d}"


# --- Store credit (cash-back) -----------------------------------------------------------------


class StoreCreditEntry(models.Model):
    """One movement of the member's store credit (VND), the second balance beside points.
    Append-only, written by `members.services.credit` alone under the member's row lock, which
    also moves `Member.store_credit_balance` by `amount`: the cached balance always equals the sum
    of the member's entries (`check_ledger`), and never goes below zero (a constraint on the
    member row). Unlike points there are no lots: credit does not expire.

    Reversals name the entry they undo (`reverses`): a refund gives back spent credit
    (`refund-return`, positive) and takes back credit earned (`refund-reverse`, negative), never
    below zero: what the member no longer holds is recorded in `amount_not_recovered`."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        SPEND = "spend", _("Spent")
        REFUND_RETURN = "refund-return", _("Given back by a refund")
        REFUND_REVERSE = "refund-reverse", _("Taken back by a refund")
        ADJUSTMENT = "adjustment", _("Adjustment")

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="store_credit_entries", verbose_name=_("member")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = models.DecimalField(_("amount (VND)"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    balance_after = models.DecimalField(
        _("balance after (VND)"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES
    )
    amount_not_recovered = models.DecimalField(
        _("not taken back (VND)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        default=Decimal(0),
        help_text=_("A refund's reversal of earned credit: what the member no longer had."),
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    created_at = models.DateTimeField(_("posted at"), default=timezone.now, db_index=True)
    cause_kind = models.CharField(_("cause"), max_length=40, blank=True)
    cause_reference = models.CharField(_("cause reference"), max_length=100, blank=True)
    reference = models.CharField(_("idempotency reference"), max_length=200, unique=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    # Staff adjustments name their author; the refunds' reversals name the entry they undo.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("staff user")
    )
    reverses = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="reversals", verbose_name=_("reverses")
    )

    class Meta:
        verbose_name = _("store credit entry")
        verbose_name_plural = _("store credit entries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["member", "-created_at"], name="members_credit_member_time")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0) | Q(amount_not_recovered__gt=0), name="members_credit_amount_not_zero"
            ),
            models.CheckConstraint(condition=Q(amount_not_recovered__gte=0), name="members_credit_not_recovered_gte_0"),
            models.CheckConstraint(
                condition=~Q(kind__in=["earn", "refund-return"]) | Q(amount__gt=0),
                name="members_credit_credit_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["spend", "refund-reverse"]) | Q(amount__lte=0),
                name="members_credit_debit_negative",
            ),
            models.CheckConstraint(condition=~Q(kind="spend") | Q(amount__lt=0), name="members_credit_spend_negative"),
            models.CheckConstraint(
                condition=(Q(kind__in=["refund-return", "refund-reverse"]) & Q(reverses__isnull=False))
                | (~Q(kind__in=["refund-return", "refund-reverse"]) & Q(reverses__isnull=True)),
                name="members_credit_reversal_has_original",
            ),
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | ~Q(reason=""), name="members_credit_adjustment_has_reason"
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="members_credit_balance_after_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+} ({self.reference})"


# --- Manual adjustments and their approval ------------------------------------------------------


class PointsAdjustment(models.Model):
    """A manual adjustment asked for by staff: applied at once when it is within the limits of
    `ProgrammeSettings`, otherwise pending (no balance change) until a programme lead other than
    the requester approves or rejects it. Written by `members.services.adjustments` only."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied (within the limits)")
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved and applied")
        REJECTED = "rejected", _("Rejected")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="adjustments", verbose_name=_("member"))
    points = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=500)
    reference = models.CharField(_("reference"), max_length=200, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved or rejected by"),
    )
    decided_at = models.DateTimeField(_("approved or rejected at"), null=True, blank=True)
    decision_note = models.CharField(_("note on the decision"), max_length=300, blank=True)
    entry = models.OneToOneField(
        LedgerEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adjustment",
        verbose_name=_("ledger entry"),
    )
    history = HistoricalRecords(verbose_name=_("adjustment history"), verbose_name_plural=_("adjustment history"))

    class Meta:
        verbose_name = _("point adjustment")
        verbose_name_plural = _("point adjustments")
        ordering = ["-requested_at", "-pk"]
        permissions = [("approve_pointsadjustment", _("Can approve point adjustments"))]
        indexes = [
            models.Index(fields=["requested_at"], condition=Q(status="pending"), name="members_adjust_pending"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="members_adjust_points_not_zero"),
            models.CheckConstraint(condition=~Q(reason=""), name="members_adjust_has_reason"),
            # Never the same person: the database says so too.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="members_adjust_four_eyes",
            ),
            models.CheckConstraint(
                condition=(Q(status__in=["applied", "approved"]) & Q(entry__isnull=False))
                | (Q(status__in=["pending", "rejected"]) & Q(entry__isnull=True)),
                name="members_adjust_entry_iff_applied",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} → {self.member_id} ({self.get_status_display()})"


class StaffAdjustmentDay(models.Model):
    """How many points one staff member adjusted without approval on one local day: the row
    the daily allowance is counted on, under a conditional UPDATE, so that parallel requests
    cannot together pass it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("staff user")
    )
    day = models.DateField(_("day"))
    points = models.PositiveIntegerField(_("points adjusted"), default=0)

    class Meta:
        verbose_name = _("staff adjustments of a day")
        verbose_name_plural = _("staff adjustments of a day")
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="members_staffadjday_user_day_uniq")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}: {self.points}"


# --- Proof that the member is present (pos-api.md 1.1) ----------------------------------------


class PresenceKey(models.Model):
    """The member's key for the rotating card token (`members.services.presence`). `handle` is
    random and names the key inside a token (never the member id); `secret` is random too, and a
    token is an HMAC keyed by SECRET_KEY over it, so reading this table is not enough to forge
    one."""

    member = models.OneToOneField(
        Member, on_delete=models.CASCADE, related_name="presence_key", verbose_name=_("member")
    )
    handle = models.CharField(_("handle"), max_length=16, unique=True, editable=False)
    secret = models.CharField(_("secret"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("member token key")
        verbose_name_plural = _("member token keys")

    def __str__(self) -> str:
        return f"{self.member_id}: {self.handle}"


class PresenceTokenUse(models.Model):
    """A card token spent on a payment: each (key, time step) once."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="presence_token_uses", verbose_name=_("member")
    )
    key = models.ForeignKey(PresenceKey, on_delete=models.CASCADE, related_name="uses", verbose_name=_("key"))
    step = models.BigIntegerField(_("time step"))
    used_at = models.DateTimeField(_("used at"), default=timezone.now)
    cause_reference = models.CharField(_("used for"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("member token use")
        verbose_name_plural = _("member token uses")
        constraints = [
            models.UniqueConstraint(fields=["key", "step"], name="members_presencetokenuse_once"),
        ]

    def __str__(self) -> str:
        return f"{self.key_id}@{self.step}"


class PresenceCode(models.Model):
    """A one-time code sent to the member (SMS or Zalo, the outbox message says which) to prove
    presence at the till. Only an HMAC of the code (keyed by SECRET_KEY, salted by `salt`) is
    stored."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="presence_codes", verbose_name=_("member")
    )
    salt = models.CharField(_("salt"), max_length=32, editable=False)
    code_hash = models.CharField(_("code hash"), max_length=128, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires at"))
    wrong_tries = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    cause_reference = models.CharField(_("used for"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["member", "-created_at"], name="members_presencecode_recent")]

    def __str__(self) -> str:
        return f"{self.member_id} @ {self.created_at:%Y-%m-%d %H:%M:%S}"
