"""The member pages under /m/ (member-web.md, "Fixed for tests and integrations")."""

app_name = "portal"

urlpatterns: list = [
    # path("", views.home, name="home") and the other pages arrive with issue 14's views.
]
