from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from tickets.api.views import TicketViewSet

# No format-suffix routes (`…/events.json/`): the API speaks JSON only, and the suffixes'
# `format` argument reached actions that do not take one.
router = DefaultRouter()
router.include_format_suffixes = False
router.register("tickets", TicketViewSet, basename="ticket")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # GET only: its HTML renderer has no template for an OPTIONS answer (that was a 500).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", http_method_names=["get", "head"]
        ),
        name="api-docs",
    ),
    path("", include(router.urls)),
]
