from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from loyalty_site.core.views import healthz

admin.site.site_header = settings.LOYALTY_PROGRAMME_NAME or _("Loyalty programme back office")
admin.site.site_title = _("Loyalty back office")
admin.site.index_title = _("Programme administration")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", include("backoffice.urls")),  # the one-time code step, before the admin's own pages
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/pos/v1/", include("pos.urls")),
    path("m/", include("portal.urls")),
]

handler404 = "loyalty_site.core.views.api_not_found"
handler500 = "loyalty_site.core.views.server_error"
