"""The REST API: the same selectors, services and transition table as the pages."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from tickets import selectors, services
from tickets.api import serializers as s
from tickets.filters import TicketFilter


class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tickets the caller may see; anything else is 404."""

    lookup_field = "number"
    lookup_value_regex = r"DT-\d+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = TicketFilter

    def get_queryset(self):
        return selectors.ticket_list_related(selectors.tickets_visible_to(self.request.user))

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.TicketDetailSerializer
        return s.TicketListSerializer

    def _ticket(self):
        return selectors.ticket_get_visible(user=self.request.user, number=self.kwargs["number"])

    def _detail(self, number: str, code=status.HTTP_200_OK) -> Response:
        ticket = selectors.ticket_detail(user=self.request.user, number=number)
        return Response(
            s.TicketDetailSerializer(ticket, context={"request": self.request}).data, status=code
        )

    @extend_schema(request=s.TicketCreateSerializer, responses={201: s.TicketDetailSerializer})
    def create(self, request):
        """File a ticket (state admins for their state; national staff give `state`)."""
        serializer = s.TicketCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # An `Idempotency-Key` header makes a retried request land on the ticket it filed.
        ticket = services.ticket_file(
            actor=request.user,
            submission_token=request.headers.get("Idempotency-Key", "")[:64],
            **serializer.validated_data,
        )
        return self._detail(ticket.number, status.HTTP_201_CREATED)

    @extend_schema(responses=s.AddressSerializer(many=True))
    @action(detail=True, methods=["get"])
    def addresses(self, request, number=None):
        """The ticket's affected addresses with the vendor's findings."""
        addresses = selectors.ticket_addresses(user=request.user, number=number)
        return Response(s.AddressSerializer(addresses, many=True).data)

    @extend_schema(request=s.AddAddressesSerializer, responses=s.AddressSerializer(many=True))
    @addresses.mapping.post
    def add_addresses(self, request, number=None):
        """Add affected addresses; ones already on the ticket are skipped."""
        serializer = s.AddAddressesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.ticket_add_addresses(
            actor=request.user,
            number=number,
            addresses=serializer.validated_data["addresses"],
            expected_version=serializer.validated_data["version"],
        )
        return Response(s.AddressSerializer(created, many=True).data, status=201)

    @extend_schema(responses=s.EventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request, number=None):
        """The ticket's timeline, oldest first."""
        events = selectors.ticket_events(user=request.user, number=number)
        return Response(s.EventSerializer(events, many=True).data)

    @extend_schema(request=s.CommentSerializer, responses={201: s.EventSerializer})
    @action(detail=True, methods=["post"])
    def comments(self, request, number=None):
        """Comment on the ticket; the other side is mailed."""
        serializer = s.CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = services.ticket_comment(
            actor=request.user, number=number, text=serializer.validated_data["text"]
        )
        return Response(s.EventSerializer(event).data, status=201)

    @extend_schema(responses=s.RunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def checks(self, request, number=None):
        """Diagnostic runs, newest first, with their check results and verdicts."""
        runs = selectors.ticket_runs(user=request.user, number=number)
        return Response(s.RunSerializer(runs, many=True).data)

    @extend_schema(request=None, responses={202: s.RunSerializer})
    @action(detail=True, methods=["post"], url_path="checks/rerun")
    def rerun(self, request, number=None):
        """Run the checks again for every address."""
        run = services.diagnosis_rerun(actor=request.user, number=number)
        return Response(s.RunSerializer(run).data, status=202)

    @extend_schema(
        request=s.TransitionSerializer,
        responses={200: s.TicketDetailSerializer},
        parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[a-z_]+)")
    def transition(self, request, number=None, name=None):
        """Take a workflow transition; 400 lists what is missing, 409 means reload."""
        self._ticket()  # 404 before anything else for a ticket out of reach
        serializer = s.TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        services.ticket_transition(
            actor=request.user, number=number, name=name, expected_version=version, data=data
        )
        return self._detail(number)

    @extend_schema(request=s.FindingSerializer, responses=s.AddressSerializer)
    @action(detail=True, methods=["post"], url_path=r"addresses/(?P<address_id>\d+)/finding")
    def finding(self, request, number=None, address_id=None):
        """Record the vendor's suppression finding for one address."""
        serializer = s.FindingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = services.address_record_finding(
            actor=request.user,
            number=number,
            address_id=int(address_id),
            source="api",
            **serializer.validated_data,
        )
        return Response(s.AddressSerializer(address).data)

    @extend_schema(request=None, responses=s.AddressSerializer)
    @action(detail=True, methods=["post"], url_path=r"addresses/(?P<address_id>\d+)/reactivate")
    def reactivate(self, request, number=None, address_id=None):
        """Record that a suppressed address was reactivated at the vendor."""
        address = services.address_reactivate(
            actor=request.user, number=number, address_id=int(address_id), source="api"
        )
        return Response(s.AddressSerializer(address).data)
