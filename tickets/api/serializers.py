"""API shapes. Serializers parse and present; the services decide."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets.addresses import parse_address_list
from tickets.limits import LONG_TEXT, PHONE, SHORT_TEXT
from tickets.models import (
    SUBJECT_MAX,
    AddressVerdict,
    AffectedAddress,
    Cause,
    CheckRecord,
    DiagnosticRun,
    Organisation,
    OrganisationKind,
    Symptom,
    Ticket,
    TicketEvent,
)
from tickets.selectors import ticket_capabilities
from tickets.selectors.desk import is_desk
from tickets.workflow import SIDE_LABELS, STATUS_OWNER


class AddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = AffectedAddress
        fields = [
            "id",
            "address",
            "domain",
            "display_name",
            "status",
            "suppressed_at",
            "suppression_reason",
            "bounce_text",
            "finding_recorded_at",
            "reactivated_at",
            "delivery_confirmed_at",
        ]


class EventSerializer(serializers.ModelSerializer):
    # None for what the system wrote (timers, watches).
    actor = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = TicketEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "kind",
            "transition",
            "from_status",
            "to_status",
            "text",
            "internal",
        ]


class TicketListSerializer(serializers.ModelSerializer):
    state = serializers.StringRelatedField()
    owner = serializers.SerializerMethodField()
    title = serializers.CharField(read_only=True, help_text="The subject, or the symptom's label.")
    assignee = serializers.SerializerMethodField(
        help_text="Who on the desk owns the ticket; always null for a state's admins."
    )
    addresses = serializers.SlugRelatedField(many=True, read_only=True, slug_field="address")

    class Meta:
        model = Ticket
        fields = [
            "number",
            "state",
            "status",
            "owner",
            "symptom",
            "subject",
            "title",
            "assignee",
            "cause",
            "addresses",
            "created_at",
            "status_changed_at",
            "version",
        ]

    def get_owner(self, ticket: Ticket) -> str:
        return STATUS_OWNER[ticket.status]

    def get_assignee(self, ticket: Ticket) -> str | None:
        request = self.context.get("request")
        if ticket.assignee_id is None or not is_desk(getattr(request, "user", None)):
            return None
        return str(ticket.assignee)


class TransitionOfferSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="For `POST …/transitions/{name}/`.")
    label = serializers.CharField()
    fields = serializers.ListField(
        child=serializers.CharField(), help_text="The body fields this transition reads."
    )
    required = serializers.ListField(
        child=serializers.CharField(), help_text="Those of `fields` it cannot do without."
    )


class TicketDetailSerializer(TicketListSerializer):
    addresses = AddressSerializer(many=True, read_only=True)
    reporter = serializers.StringRelatedField()
    owner_label = serializers.SerializerMethodField()
    transitions = serializers.SerializerMethodField()

    class Meta(TicketListSerializer.Meta):
        fields = [
            *TicketListSerializer.Meta.fields,
            "owner_label",
            "reporter",
            "description",
            "first_noticed",
            "spam_filter_checked",
            "spam_filter_notes",
            "mail_admin_name",
            "mail_admin_email",
            "mail_admin_phone",
            "resolution",
            "hard_bounce_prevention_affirmed",
            "delivery_override_reason",
            "transitions",
        ]

    def get_owner_label(self, ticket: Ticket) -> str:
        return SIDE_LABELS[STATUS_OWNER[ticket.status]]

    @extend_schema_field(TransitionOfferSerializer(many=True))
    def get_transitions(self, ticket: Ticket) -> list[dict]:
        """The transitions the requesting user may take now, with the fields each needs."""
        caps = ticket_capabilities(self.context["request"].user, ticket)
        return [
            {
                "name": t.name,
                "label": t.label,
                "fields": list(t.fields),
                "required": list(t.required),
            }
            for t in caps.transitions
        ]


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "string", "format": "email"}},
            {"type": "string", "description": "One address per line, or comma-separated"},
        ]
    }
)
class AddressListField(serializers.Field):
    """A list of address strings, or one text with one per line / comma-separated."""

    def to_internal_value(self, data):
        if isinstance(data, list):
            if not all(isinstance(item, str) for item in data):
                raise serializers.ValidationError("Give addresses as strings.")
            data = "\n".join(data)
        if not isinstance(data, str):
            raise serializers.ValidationError("Give a list of addresses or a text.")
        addresses, problems = parse_address_list(data)
        if problems:
            raise serializers.ValidationError([str(p) for p in problems])
        if not addresses:
            raise serializers.ValidationError("List at least one affected address.")
        return addresses

    def to_representation(self, value):
        return [a.address for a in value]


class TicketCreateSerializer(serializers.Serializer):
    state = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.filter(kind=OrganisationKind.STATE),
        required=False,
        help_text="National staff only: the state the ticket is for.",
    )
    symptom = serializers.ChoiceField(choices=Symptom.choices)
    subject = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=SUBJECT_MAX,
        help_text="A short title; made from the symptom and the addresses when left out.",
    )
    addresses = AddressListField()
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=LONG_TEXT
    )
    first_noticed = serializers.DateField(required=False, allow_null=True, default=None)
    spam_filter_checked = serializers.BooleanField(required=False, default=False)
    spam_filter_notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=LONG_TEXT
    )
    mail_admin_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=SHORT_TEXT
    )
    mail_admin_email = serializers.EmailField(required=False, allow_blank=True, default="")
    mail_admin_phone = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=PHONE
    )


class AddAddressesSerializer(serializers.Serializer):
    addresses = AddressListField()
    version = serializers.IntegerField(required=False, allow_null=True, default=None)


class CommentSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=LONG_TEXT)


class TransitionSerializer(serializers.Serializer):
    """Every field any transition may need; each transition reads the ones it declares."""

    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The ticket version you acted on; a changed ticket answers 409.",
    )
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=LONG_TEXT)
    spam_filter_checked = serializers.BooleanField(required=False, allow_null=True, default=None)
    spam_filter_notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=LONG_TEXT
    )
    mail_admin_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=SHORT_TEXT
    )
    mail_admin_email = serializers.EmailField(required=False, allow_blank=True, default="")
    mail_admin_phone = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=PHONE
    )
    cause = serializers.ChoiceField(
        choices=Cause.choices, required=False, allow_blank=True, default=""
    )
    resolution = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=LONG_TEXT
    )
    hard_bounce_prevention_affirmed = serializers.BooleanField(
        required=False, allow_null=True, default=None
    )
    delivery_override_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=LONG_TEXT
    )


class FindingSerializer(serializers.Serializer):
    suppressed = serializers.BooleanField()
    suppressed_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=SHORT_TEXT
    )
    bounce_text = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=LONG_TEXT
    )


class CheckRecordSerializer(serializers.ModelSerializer):
    check = serializers.CharField(source="check_name")

    class Meta:
        model = CheckRecord
        fields = ["check", "subject", "outcome", "summary", "details", "duration_ms"]


class VerdictSerializer(serializers.ModelSerializer):
    address = serializers.CharField(source="address.address")

    class Meta:
        model = AddressVerdict
        fields = ["address", "cause", "confidence", "next_step", "owner"]


class RunSerializer(serializers.ModelSerializer):
    results = CheckRecordSerializer(many=True, read_only=True)
    verdicts = VerdictSerializer(many=True, read_only=True)

    class Meta:
        model = DiagnosticRun
        fields = [
            "id",
            "status",
            "addresses",
            "created_at",
            "started_at",
            "finished_at",
            "error",
            "results",
            "verdicts",
        ]
