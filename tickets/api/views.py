"""The REST API: the same selectors, services and transition table as the pages."""

from __future__ import annotations

import re

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from tickets import selectors, services
from tickets.api import serializers as s
from tickets.api.schema import RESPONSE_HEADERS, answers
from tickets.filters import TicketFilter
from tickets.selectors.desk import DEFAULT_SORT, SORTS
from tickets.selectors.tickets import (
    COUNT_CAP,
    LAST,
    SEARCH_COUNT_CAP,
    TicketPage,
    ticket_list_page,
)
from tickets.workflow import TRANSITIONS


class TicketPagination(BasePagination):
    """The list pages' seek pagination: links to the first, previous, next and last pages.

    Each link carries a `cursor` naming the row to continue from, so any page costs what the
    first does; `count` stops at COUNT_CAP and `count_capped` says there are more.
    """

    cursor_query_param = "cursor"
    sort_query_param = "sort"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        sort = request.query_params.get(self.sort_query_param) or DEFAULT_SORT
        if sort not in SORTS:
            # The pages fall back to the default with a message; a program is told at once.
            raise ValidationError({self.sort_query_param: [f"Choose one of: {', '.join(SORTS)}."]})
        self.page: TicketPage = ticket_list_page(
            queryset,
            cursor=request.query_params.get(self.cursor_query_param),
            searched=bool(request.query_params.get("q", "").strip()),
            size=api_settings.PAGE_SIZE,
            ordering=SORTS[sort],
        )
        return list(self.page)

    def _link(self, cursor: str | None) -> str:
        url = self.request.build_absolute_uri()
        if cursor is None:
            return remove_query_param(url, self.cursor_query_param)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data):
        page = self.page
        return Response(
            {
                "count": page.count,
                "count_capped": page.count_capped,
                "first": self._link(None),
                "previous": self._link(page.previous_cursor) if page.has_previous else None,
                "next": self._link(page.next_cursor) if page.has_next else None,
                "last": self._link(LAST),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "count_capped", "first", "previous", "next", "last", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": f"Tickets matching, counted up to {COUNT_CAP} "
                    f"({SEARCH_COUNT_CAP} with a search `q`).",
                    "example": 123,
                },
                "count_capped": {
                    "type": "boolean",
                    "description": "True when more than `count` tickets match.",
                },
                "first": {**link, "example": "http://api.example.org/tickets/"},
                "previous": {
                    **link,
                    "nullable": True,
                    "example": "http://api.example.org/tickets/?cursor=WyJiIiwiMjAyNi0xMS0yOVQx",
                },
                "next": {
                    **link,
                    "nullable": True,
                    "example": "http://api.example.org/tickets/?cursor=WyJhIiwiMjAyNi0xMS0yOVQx",
                },
                "last": {**link, "example": "http://api.example.org/tickets/?cursor=last"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The page: a cursor from a `next`, `previous` or `last` link; "
                "none for the first page. A cursor is valid only with the `sort` it was made for.",
                "schema": {"type": "string"},
            },
            {
                "name": self.sort_query_param,
                "required": False,
                "in": "query",
                "description": "The order, as on the list page: `-filed` (newest filed first, "
                "the default), `filed`, `waiting` (longest in its status first), `-waiting`, "
                "`status`, `-status`, `subject`, `-subject`, `number`, `-number`.",
                "schema": {"type": "string", "enum": list(SORTS), "default": DEFAULT_SORT},
            },
        ]


# The routes take any path segment for these, so that one of the wrong form reaches the view and
# answers the API's JSON 404 (not the site's HTML page); the schema gives the form that can match.
# Every character but "/", spelt without "^" or groups: tests/tickets/access.py and the crawl
# read these patterns as text.
ANY_SEGMENT = r"[\x00-.0-\U0010ffff]+"
NUMBER_FORM = re.compile(r"DT-\d+")
TICKET_NUMBER = OpenApiParameter(
    "number",
    str,
    OpenApiParameter.PATH,
    pattern=r"^DT-\d+$",
    description="The ticket's number, `DT-` and digits (`DT-000412`).",
)
ADDRESS_ID = OpenApiParameter(
    "address_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The address's `id`."
)
TRANSITION_NAME = OpenApiParameter(
    "name",
    str,
    OpenApiParameter.PATH,
    enum=sorted(TRANSITIONS),
    description="The transition; the ticket's `transitions` lists those you may take now.",
)


def address_id_from_path(value: str) -> int:
    """The address id a path names; 404 for a segment that is no number."""
    try:
        return int(value)
    except ValueError:
        raise Http404("No such address on this ticket.") from None


# The per-ticket lists are whole (a ticket has few addresses, events and runs): bare arrays,
# neither paged nor filtered like the ticket list.
WHOLE_LIST = {"pagination_class": None, "filter_backends": []}


@extend_schema_view(
    list=extend_schema(responses=answers({200: s.TicketListSerializer(many=True)}, 400, 404)),
    retrieve=extend_schema(
        responses=answers({200: s.TicketDetailSerializer}, 404), parameters=[TICKET_NUMBER]
    ),
)
@extend_schema(parameters=RESPONSE_HEADERS)
class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tickets the caller may see; anything else is 404."""

    lookup_field = "number"
    lookup_value_regex = ANY_SEGMENT
    filter_backends = [DjangoFilterBackend]
    filterset_class = TicketFilter
    pagination_class = TicketPagination

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Reach before role (as the pages' `in_reach`): a ticket out of reach, or an address not
        # on it, is 404 whatever the action, before a service can answer 403 for the role.
        # A method the route does not take (no action) stays 405.
        if self.action is None or "number" not in kwargs:
            return
        if not NUMBER_FORM.fullmatch(kwargs["number"]):
            raise Http404("No such ticket.")  # before a NUL or the like reaches the database
        if "address_id" in kwargs:
            selectors.address_get_visible(
                user=request.user,
                number=kwargs["number"],
                address_id=address_id_from_path(kwargs["address_id"]),
            )
        else:
            selectors.ticket_get_visible(user=request.user, number=kwargs["number"])

    def get_queryset(self):
        return selectors.ticket_list_related(selectors.tickets_visible_to(self.request.user))

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.TicketDetailSerializer
        return s.TicketListSerializer

    def _detail(self, number: str, code=status.HTTP_200_OK) -> Response:
        ticket = selectors.ticket_detail(user=self.request.user, number=number)
        return Response(
            s.TicketDetailSerializer(ticket, context={"request": self.request}).data, status=code
        )

    def retrieve(self, request, number=None):
        """One ticket with its addresses and the transitions you may take now."""
        # Through the selector, as every other action: the list's filters are no part of it.
        return self._detail(number)

    @extend_schema(
        request=s.TicketCreateSerializer,
        responses=answers({201: s.TicketDetailSerializer}, 400, 403, 415),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Any text up to 64 characters: a retried request with the same key "
                "answers the ticket it filed instead of filing another.",
            )
        ],
    )
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

    @extend_schema(
        responses=answers({200: s.AddressSerializer(many=True)}, 404), parameters=[TICKET_NUMBER]
    )
    @action(detail=True, methods=["get"], **WHOLE_LIST)
    def addresses(self, request, number=None):
        """The ticket's affected addresses with the vendor's findings."""
        addresses = selectors.ticket_addresses(user=request.user, number=number)
        return Response(s.AddressSerializer(addresses, many=True).data)

    @extend_schema(
        request=s.AddAddressesSerializer,
        responses=answers({201: s.AddressSerializer(many=True)}, 400, 403, 404, 409, 415),
        parameters=[TICKET_NUMBER],
    )
    @addresses.mapping.post
    def add_addresses(self, request, number=None):
        """Add affected addresses; ones already on the ticket are skipped (201 lists the new)."""
        serializer = s.AddAddressesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.ticket_add_addresses(
            actor=request.user,
            number=number,
            addresses=serializer.validated_data["addresses"],
            expected_version=serializer.validated_data["version"],
        )
        return Response(s.AddressSerializer(created, many=True).data, status=201)

    @extend_schema(
        responses=answers({200: s.EventSerializer(many=True)}, 404), parameters=[TICKET_NUMBER]
    )
    @action(detail=True, methods=["get"], **WHOLE_LIST)
    def events(self, request, number=None):
        """The ticket's timeline, oldest first."""
        events = selectors.ticket_events(user=request.user, number=number)
        return Response(s.EventSerializer(events, many=True).data)

    @extend_schema(
        request=s.CommentSerializer,
        responses=answers({201: s.EventSerializer}, 400, 403, 404, 415),
        parameters=[TICKET_NUMBER],
    )
    @action(detail=True, methods=["post"])
    def comments(self, request, number=None):
        """Comment on the ticket; the other side is mailed."""
        serializer = s.CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = services.ticket_comment(
            actor=request.user, number=number, text=serializer.validated_data["text"]
        )
        return Response(s.EventSerializer(event).data, status=201)

    @extend_schema(
        responses=answers({200: s.RunSerializer(many=True)}, 404), parameters=[TICKET_NUMBER]
    )
    @action(detail=True, methods=["get"], **WHOLE_LIST)
    def checks(self, request, number=None):
        """Diagnostic runs, newest first, with their check results and verdicts."""
        runs = selectors.ticket_runs(user=request.user, number=number)
        return Response(s.RunSerializer(runs, many=True).data)

    @extend_schema(
        request=None,
        responses=answers({202: s.RunSerializer}, 400, 403, 404),
        parameters=[TICKET_NUMBER],
    )
    @action(detail=True, methods=["post"], url_path="checks/rerun")
    def rerun(self, request, number=None):
        """Run the checks again for every address (202: the run is queued)."""
        run = services.diagnosis_rerun(actor=request.user, number=number)
        return Response(s.RunSerializer(run).data, status=202)

    @extend_schema(
        request=s.TransitionSerializer,
        responses=answers({200: s.TicketDetailSerializer}, 400, 403, 404, 409, 415),
        parameters=[TICKET_NUMBER, TRANSITION_NAME],
    )
    @action(detail=True, methods=["post"], url_path=rf"transitions/(?P<name>{ANY_SEGMENT})")
    def transition(self, request, number=None, name=None):
        """Take a workflow transition; 400 lists what is missing, 409 means reload."""
        if name not in TRANSITIONS:
            raise Http404("No such action.")  # as the page answers
        serializer = s.TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        services.ticket_transition(
            actor=request.user, number=number, name=name, expected_version=version, data=data
        )
        return self._detail(number)

    @extend_schema(
        request=s.FindingSerializer,
        responses=answers({200: s.AddressSerializer}, 400, 403, 404, 415),
        parameters=[TICKET_NUMBER, ADDRESS_ID],
    )
    @action(
        detail=True, methods=["post"], url_path=rf"addresses/(?P<address_id>{ANY_SEGMENT})/finding"
    )
    def finding(self, request, number=None, address_id=None):
        """Record the vendor's suppression finding for one address."""
        serializer = s.FindingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = services.address_record_finding(
            actor=request.user,
            number=number,
            address_id=address_id_from_path(address_id),
            source="api",
            **serializer.validated_data,
        )
        return Response(s.AddressSerializer(address).data)

    @extend_schema(
        request=None,
        responses=answers({200: s.AddressSerializer}, 400, 403, 404),
        parameters=[TICKET_NUMBER, ADDRESS_ID],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=rf"addresses/(?P<address_id>{ANY_SEGMENT})/reactivate",
    )
    def reactivate(self, request, number=None, address_id=None):
        """Record that a suppressed address was reactivated at the vendor."""
        address = services.address_reactivate(
            actor=request.user,
            number=number,
            address_id=address_id_from_path(address_id),
            source="api",
        )
        return Response(s.AddressSerializer(address).data)
