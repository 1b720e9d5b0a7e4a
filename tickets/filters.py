"""The ticket list's filters and search."""

import django_filters
from django.db.models import Exists, OuterRef, Q

from tickets.models import AffectedAddress, Cause, Organisation, OrganisationKind, Status, Ticket
from tickets.selectors import statuses_owned_by
from tickets.workflow import SIDE_LABELS


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=Status.choices)
    state = django_filters.ModelChoiceFilter(
        queryset=Organisation.objects.filter(kind=OrganisationKind.STATE)
    )
    cause = django_filters.ChoiceFilter(choices=Cause.choices)
    owner = django_filters.ChoiceFilter(
        choices=list(SIDE_LABELS.items()), method="waiting_on", label="Waiting on"
    )

    class Meta:
        model = Ticket
        fields = ["q", "status", "state", "cause", "owner"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # Exists, not a join: one row per ticket however many addresses match.
        matching_address = AffectedAddress.objects.filter(ticket=OuterRef("pk")).filter(
            Q(address__icontains=value) | Q(domain__icontains=value)
        )
        return queryset.filter(Q(number__icontains=value) | Exists(matching_address))

    def waiting_on(self, queryset, name, value):
        return queryset.filter(status__in=statuses_owned_by(value))
