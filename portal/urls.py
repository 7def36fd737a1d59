"""The member pages under /m/ (member-web.md, "Fixed for tests and integrations")."""

from django.urls import path

from portal.views import card, claim, consent, history, push, rewards, signin, unsubscribe, vouchers

app_name = "portal"

urlpatterns = [
    path("", signin.index, name="home"),
    path("enrol/", signin.enrol, name="enrol"),
    path("sign-out/", signin.sign_out, name="sign_out"),
    path("card/", card.card, name="card"),
    path("card/token/", card.card_token, name="card_token"),
    path("history/", history.history, name="history"),
    path("rewards/", rewards.rewards, name="rewards"),
    path("rewards/<str:code>/", rewards.reward_exchange, name="reward-exchange"),
    path("vouchers/", vouchers.vouchers, name="vouchers"),
    path("claim/<str:token>", claim.claim, name="claim"),
    path("consent/", consent.consent, name="consent"),
    path("unsubscribe/<str:token>", unsubscribe.unsubscribe, name="unsubscribe"),
    path("push/subscribe/", push.subscribe, name="push_subscribe"),
    path("push/unsubscribe/", push.unsubscribe, name="push_unsubscribe"),
    path("sw.js", push.service_worker, name="service_worker"),
]
