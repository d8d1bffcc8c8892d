from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from ringtrail.api import api
from ringtrail.dashboard.views import demo_site


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok\n", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("demo/site/", demo_site, name="demo-site"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("carriers/", include("ringtrail.carriers.urls")),
    path("", include("ringtrail.dni.urls")),
    path("", include("ringtrail.accounts.urls")),
    path("", include("ringtrail.calls.urls")),
    path("", include("ringtrail.flows.urls")),
    path("", include("ringtrail.screening.urls")),
]
