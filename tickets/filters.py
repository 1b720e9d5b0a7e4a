"""The ticket list's filters and search."""

import django_filters

from tickets.models import Cause, Status, Ticket
from tickets.selectors import states_visible_to, statuses_owned_by
from tickets.selectors.tickets import tickets_search
from tickets.workflow import SIDE_LABELS


def _states_for(request):
    return states_visible_to(getattr(request, "user", None))


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=Status.choices)
    # Only the states the user may see are offered (and accepted): a state admin's list must
    # not name every other state.
    state = django_filters.ModelChoiceFilter(queryset=_states_for)
    cause = django_filters.ChoiceFilter(choices=Cause.choices)
    owner = django_filters.ChoiceFilter(
        choices=list(SIDE_LABELS.items()), method="waiting_on", label="Waiting on"
    )

    class Meta:
        model = Ticket
        fields = ["q", "status", "state", "cause", "owner"]

    def search(self, queryset, name, value):
        return tickets_search(queryset, query=value)

    def waiting_on(self, queryset, name, value: str):
        return queryset.filter(status__in=statuses_owned_by(value))
