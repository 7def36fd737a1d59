"""The referral programme: one row of settings. Who referred whom is `Member.referred_by`, set
once at enrolment by the members app (one referrer per member, never oneself)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import UpdatedByModel


class ReferralProgramme(UpdatedByModel):
    """The referrer earns `percent` % of the referred member's earn base, as points, on each
    sale the referred member makes in the `days` days after enrolling. One row (pk 1), read
    through `campaigns.referral.selectors.referral_programme_get()`."""

    SINGLETON_PK = 1

    is_active = models.BooleanField(_("active"), default=False)
    percent = models.DecimalField(
        _("referrer's share (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(2),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(100)],
        help_text=_("Of the referred member's earn base (the money paid), converted with the point value."),
    )
    days = models.PositiveIntegerField(
        _("for (days after enrolment)"),
        default=180,
        validators=[MinValueValidator(1)],
        help_text=_("Sales made after this many days from the referred member's enrolment earn the referrer nothing."),
    )

    class Meta:
        verbose_name = _("referral programme")
        verbose_name_plural = _("referral programme")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="campaigns_referralprogramme_singleton"),
            models.CheckConstraint(condition=Q(percent__gt=0), name="campaigns_referralprogramme_percent_gt_0"),
        ]

    def __str__(self) -> str:
        return str(_("Referral programme"))
