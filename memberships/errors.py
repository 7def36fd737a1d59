"""The refusals of paid membership (see `loyalty_site.core.errors`)."""

from django.utils.translation import gettext_lazy as _

from loyalty_site.core.errors import ConflictError, NotFoundError, UnprocessableError


class PlanNotFound(NotFoundError):
    """No plan has this code, the plan is not on sale, or not sold at this brand."""

    code = "plan-not-found"
    title = _("No paid membership plan has this code here.")


class MembershipActive(ConflictError):
    """The plan cannot be renewed while a period is running (`renewable` off)."""

    code = "membership-active"
    title = _("The member already has an active paid membership.")


class MembershipNotFound(NotFoundError):
    code = "membership-not-found"
    title = _("The member has no paid membership that can be cancelled.")


class MembershipNotCancellable(UnprocessableError):
    """Past the plan's refund window: the period runs to its end and nothing is refunded."""

    code = "membership-not-cancellable"
    title = _("The refund window of this paid membership has passed.")
