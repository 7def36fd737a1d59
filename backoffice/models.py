"""The staff profile: which brands and stores a store manager manages (backoffice/scoping.py),
edited on the staff user page (`StaffUser`, a proxy of the user model with the profile inline).
The module also exists because Django sends `post_migrate` only for apps with a models module,
and the roles are synced on it."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext_lazy as _

from stores.models import Brand, Store


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_profile",
        verbose_name=_("staff user"),
    )
    brands = models.ManyToManyField(
        Brand,
        blank=True,
        related_name="staff_profiles",
        verbose_name=_("brands managed"),
        help_text=_("Every store of these brands, including stores opened later."),
    )
    stores = models.ManyToManyField(
        Store,
        blank=True,
        related_name="staff_profiles",
        verbose_name=_("stores managed"),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return self.user.get_username()


class StaffUser(get_user_model()):
    """The user model as the back office shows it: with the stores and brands each one manages."""

    class Meta:
        proxy = True
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")
