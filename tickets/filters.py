"""The ticket list's filters and search."""

import django_filters
from django.db.models import Exists, OuterRef, Q

from tickets.models import AddressVerdict, Cause, RunStatus, Status, Ticket
from tickets.selectors import states_visible_to, statuses_owned_by
from tickets.selectors.desk import is_desk
from tickets.selectors.tickets import tickets_search
from tickets.workflow import SIDE_LABELS


def _states_for(request):
    return states_visible_to(getattr(request, "user", None))


ASSIGNED_CHOICES = [
    ("me", "Mine"),
    ("nobody", "Nobody's"),
    ("anyone", "Someone's"),
]


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=Status.choices)
    # Only the states the user may see are offered (and accepted): a state admin's list must
    # not name every other state.
    state = django_filters.ModelChoiceFilter(queryset=_states_for)
    cause = django_filters.ChoiceFilter(choices=Cause.choices, method="with_cause")
    owner = django_filters.ChoiceFilter(
        choices=list(SIDE_LABELS.items()), method="waiting_on", label="Waiting on"
    )
    assigned = django_filters.ChoiceFilter(
        choices=ASSIGNED_CHOICES, method="assigned_to", label="Assigned", empty_label="Anyone's"
    )

    class Meta:
        model = Ticket
        fields = ["q", "status", "state", "cause", "owner", "assigned"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        # Ownership is the desk's business: a state admin neither sees nor filters by it.
        if not is_desk(getattr(request, "user", None)):
            del self.filters["assigned"]

    def search(self, queryset, name, value):
        return tickets_search(queryset, query=value)

    def waiting_on(self, queryset, name, value: str):
        return queryset.filter(status__in=statuses_owned_by(value))

    def with_cause(self, queryset, name, value: str):
        # A ticket resolved with a cause says so; one confirmed by its state never gets a
        # resolution cause, so the diagnosis's newest verdict on each address speaks for it.
        newer = AddressVerdict.objects.filter(
            address=OuterRef("address"),
            run__status=RunStatus.DONE,
            run__created_at__gt=OuterRef("run__created_at"),
        )
        verdict = AddressVerdict.objects.filter(
            address__ticket=OuterRef("pk"), cause=value, run__status=RunStatus.DONE
        ).exclude(Exists(newer))
        return queryset.filter(Q(cause=value) | Q(cause="") & Exists(verdict))

    def assigned_to(self, queryset, name, value: str):
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        if value == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee__isnull=False)
