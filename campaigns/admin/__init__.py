"""The campaigns admin, one module per part of the domain. Importing this package registers
them all."""

from campaigns.admin import campaigns, groups, promotions, referral  # noqa: F401
from campaigns.admin import imports as member_imports  # noqa: F401 -- Excel import / export of members
from campaigns.admin.actions import add_to_group_action  # noqa: F401
