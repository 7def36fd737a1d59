"""The campaigns admin: each package registers its own pages; importing this registers them all."""

from campaigns.audiences.admin import actions, groups  # noqa: F401
from campaigns.audiences.admin import imports as member_imports  # noqa: F401 -- Excel import / export of members
from campaigns.audiences.admin.actions import add_to_group_action  # noqa: F401
from campaigns.calendar import admin as calendar  # noqa: F401
from campaigns.credit import admin as credit  # noqa: F401
from campaigns.promotions import admin as promotions  # noqa: F401
from campaigns.referral import admin as referral  # noqa: F401
from campaigns.runs import admin as runs  # noqa: F401
from campaigns.stamps import admin as stamps  # noqa: F401
