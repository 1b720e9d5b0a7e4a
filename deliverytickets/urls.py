from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from deliverytickets.views import favicon
from tickets import (
    converters,  # noqa: F401 - registers the URL converters
    webhooks,
)
from tickets import views as ticket_views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("p/<token:token>/", ticket_views.probe_landing, name="probe"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/", include("tickets.api.urls")),
    # Only the configured vendor's bounce webhook, and only with its credentials (fail closed).
    path("anymail/", include((webhooks.urlpatterns, "webhooks"))),
    path("", include("tickets.urls")),
]
