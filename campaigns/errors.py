"""The refusals of the campaigns app, each with a stable code and a translated title."""

from django.utils.translation import gettext_lazy as _

from loyalty_site.core.errors import NotFoundError, UnprocessableError


class CampaignNotFound(NotFoundError):
    code = "campaign-not-found"
    title = _("No campaign has this code.")


class CampaignInactive(UnprocessableError):
    code = "campaign-inactive"
    title = _("This campaign is not active.")


class CampaignNotRunnable(UnprocessableError):
    """The campaign cannot run as configured (e.g. its voucher cannot be issued now)."""

    code = "campaign-not-runnable"
    title = _("This campaign cannot run now.")


class CampaignClaimRefused(UnprocessableError):
    """A claim link that cannot give its voucher to the signed-in member; `extra["reason"]`:
    `invalid` (not a link of a claim campaign, or altered), `not-yours` (another member's link),
    `not-in-audience`, `ended` (the campaign was switched off), `expired` (past the days to
    claim)."""

    code = "claim-refused"
    title = _("This link cannot give you the voucher.")
