import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel

code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_-]*$",
    _("Use capital letters, digits, dashes and underscores only, e.g. PHO-HN01."),
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone, e.g. Asia/Ho_Chi_Minh."), params={"value": value})


def default_time_zone() -> str:
    return settings.TIME_ZONE


LOGO_MAX_BYTES = 200 * 1024
LOGO_EXTENSIONS = ["png", "jpg", "jpeg", "svg", "webp"]
DEFAULT_BRAND_COLOUR = "#0f766e"

colour_validator = RegexValidator(r"^#[0-9A-Fa-f]{6}$", _("Write the colour as # and six hex digits, e.g. #0F766E."))


def validate_logo_size(file) -> None:
    if file.size > LOGO_MAX_BYTES:
        raise ValidationError(
            _("The logo is %(size)d KB; at most %(max)d KB."),
            params={"size": (file.size + 1023) // 1024, "max": LOGO_MAX_BYTES // 1024},
        )


class Brand(TimeStampedModel):
    code = models.CharField(_("code"), max_length=20, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    # The member pages' look (member-web.md): shown in an <img>, so an SVG's scripts never run.
    logo = models.FileField(
        _("logo"),
        upload_to="brands/",
        blank=True,
        validators=[FileExtensionValidator(LOGO_EXTENSIONS), validate_logo_size],
        help_text=_("PNG, JPG, SVG or WebP, at most 200 KB; shown on the member pages."),
    )
    colour = models.CharField(
        _("colour"),
        max_length=7,
        default=DEFAULT_BRAND_COLOUR,
        validators=[colour_validator],
        help_text=_("The main colour of the member pages, e.g. #0F766E."),
    )

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Store(TimeStampedModel):
    code = models.CharField(_("code"), max_length=20, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="stores", verbose_name=_("brand"))
    city = models.CharField(_("city"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text=_("Clock-dependent rules (happy hours, birthdays, quiet hours) use this zone."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["brand__code", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Terminal(TimeStampedModel):
    """A POS till. Its API key is shown once at creation; only a prefix and a hash are kept.

    An `online` terminal is a web shop's key: it records online orders (pending, then completed or
    cancelled: pos-api.md 1.2) instead of sales."""

    class Kind(models.TextChoices):
        TILL = "till", _("Till in the store")
        ONLINE = "online", _("Online shop")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="terminals", verbose_name=_("store"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"),
        max_length=10,
        choices=Kind.choices,
        default=Kind.TILL,
        help_text=_("An online shop records online orders (pending until completed or cancelled), not sales."),
    )
    key_prefix = models.CharField(_("key prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
        editable=False,
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("POS terminal")
        verbose_name_plural = _("POS terminals")
        ordering = ["store__code", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="stores_terminal_store_name_uniq")]

    def __str__(self) -> str:
        return f"{self.store.code} / {self.name}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_online(self) -> bool:
        return self.kind == self.Kind.ONLINE
