"""The member pages under /m/ (member-web.md, "Fixed for tests and integrations")."""

from django.urls import path
from django.views.generic import TemplateView

from portal.views import claim, rewards, vouchers

app_name = "portal"

urlpatterns: list = [
    # Until the sign-in page (helper P1) lands: the target of member_required's redirect.
    path("", TemplateView.as_view(template_name="portal/base.html"), name="home"),
    path("rewards/", rewards.rewards, name="rewards"),
    path("rewards/<str:code>/", rewards.reward_exchange, name="reward-exchange"),
    path("vouchers/", vouchers.vouchers, name="vouchers"),
    path("claim/<str:token>", claim.claim, name="claim"),
]
