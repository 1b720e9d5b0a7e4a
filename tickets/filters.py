"""The ticket list's filters and search."""

from datetime import datetime, time, timedelta

import django_filters
from django.db.models import Exists, OuterRef
from django.utils import timezone

from tickets.models import (
    OPEN_STATUSES,
    AffectedAddress,
    Status,
    Ticket,
)
from tickets.selectors import states_visible_to, statuses_owned_by
from tickets.selectors.dashboard import CAUSES, cause_q, resolved_q
from tickets.selectors.desk import is_desk, late_q
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
    status = django_filters.ChoiceFilter(choices=Status.choices, label="Status")
    # Only the states the user may see are offered (and accepted): a state admin's list must
    # not name every other state.
    state = django_filters.ModelChoiceFilter(queryset=_states_for, label="State")
    cause = django_filters.ChoiceFilter(choices=CAUSES, method="of_cause", label="Cause")
    owner = django_filters.ChoiceFilter(
        choices=list(SIDE_LABELS.items()), method="waiting_on", label="Waiting on"
    )
    assigned = django_filters.ChoiceFilter(
        choices=ASSIGNED_CHOICES, method="assigned_to", label="Assigned", empty_label="Anyone's"
    )

    # The dashboard's figures link to the tickets they count (selectors/dashboard.py).
    domain = django_filters.CharFilter(method="on_domain", label="Recipient domain")
    open = django_filters.BooleanFilter(method="is_open", label="Open")
    late = django_filters.BooleanFilter(method="is_late", label="Late")
    resolved = django_filters.BooleanFilter(method="is_resolved", label="Ended resolved")
    filed_week = django_filters.DateFilter(method="in_week", label="Filed in the week of")

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

    def assigned_to(self, queryset, name, value: str):
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        if value == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee__isnull=False)

    # --- The dashboard's filters -------------------------------------------------------------

    def on_domain(self, queryset, name, value: str):
        domain = value.strip().lower().rstrip(".")
        on_it = AffectedAddress.objects.filter(ticket=OuterRef("pk"), domain=domain)
        return queryset.filter(Exists(on_it)) if domain else queryset

    def is_open(self, queryset, name, value: bool | None):
        if value is None:
            return queryset
        open_statuses = sorted(OPEN_STATUSES)
        if value:
            return queryset.filter(status__in=open_statuses)
        return queryset.exclude(status__in=open_statuses)

    def is_late(self, queryset, name, value: bool | None):
        if value is None:
            return queryset
        return queryset.filter(late_q()) if value else queryset.exclude(late_q())

    def is_resolved(self, queryset, name, value: bool | None):
        if value is None:
            return queryset
        return queryset.filter(resolved_q()) if value else queryset.exclude(resolved_q())

    def of_cause(self, queryset, name, value: str):
        return queryset.filter(cause_q(value))

    def in_week(self, queryset, name, value):
        """Filed from the Monday of the week holding `value` (local time) to the next one."""
        monday = value - timedelta(days=value.weekday())
        start = timezone.make_aware(datetime.combine(monday, time.min))
        return queryset.filter(created_at__gte=start, created_at__lt=start + timedelta(weeks=1))
