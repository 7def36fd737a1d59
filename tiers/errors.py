"""The refusals of the tiers app (see `loyalty_site.core.errors`)."""

from django.utils.translation import gettext_lazy as _

from loyalty_site.core.errors import ConflictError, ValidationFailed


class TiersNotConfigured(ConflictError):
    code = "tiers-not-configured"
    title = _("No tier is configured.")


class TierConfigInvalid(ValidationFailed):
    code = "tier-config-invalid"
    title = _("The tier ladder is not valid.")


class TierReferenceReused(ConflictError):
    code = "tier-reference-reused"
    title = _("This reference was already used for a different qualifying spend.")


class TierInUse(ConflictError):
    code = "tier-in-use"
    title = _("The tier is in use.")
