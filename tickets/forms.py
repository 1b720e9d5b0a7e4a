"""Forms: parse and validate what people type; the services decide what it means."""

from __future__ import annotations

import secrets

from django import forms
from django.conf import settings
from django.utils import timezone

from tickets.addresses import parse_address_list
from tickets.limits import LONG_TEXT, PHONE, SHORT_TEXT
from tickets.models import (
    SUBJECT_MAX,
    AttachmentKind,
    Cause,
    Organisation,
    OrganisationKind,
    Symptom,
)
from tickets.roles import Role
from tickets.uploads import BOUNCE_EXTENSIONS, UploadRefused, upload_name_checked
from tickets.workflow import Transition

ADDRESSES_HELP = (
    "One per line, or separated by commas. CSV rows such as “Jane Doe, jane@agency.gov” "
    "and “Jane Doe <jane@agency.gov>” work too. Duplicates are dropped."
)
# An address (at most 254 characters), a display name and the separators of a CSV row.
ADDRESS_LINE_CHARS = 400


class AddressListField(forms.CharField):
    """A pasted list of addresses, cleaned into ParsedAddress values; every bad line named."""

    widget = forms.Textarea(attrs={"rows": 5, "placeholder": "jane.doe@agency.gov"})

    def clean(self, value):
        value = super().clean(value)
        # Checked before parsing: every address costs a validation, and the request may hold
        # megabytes. Room for the limit's worth of addresses, each with a name beside it.
        most = settings.TICKET_MAX_ADDRESSES * ADDRESS_LINE_CHARS
        if value and len(value) > most:
            raise forms.ValidationError(
                f"The list is {len(value):,} characters long; a ticket takes at most "
                f"{settings.TICKET_MAX_ADDRESSES} addresses ({most:,} characters). Split the list."
            )
        addresses, problems = parse_address_list(value or "")
        if problems:
            raise forms.ValidationError([str(p) for p in problems])
        if not addresses and self.required:
            raise forms.ValidationError("List at least one affected address.")
        if len(addresses) > settings.TICKET_MAX_ADDRESSES:
            raise forms.ValidationError(
                f"{len(addresses)} addresses: a ticket takes at most "
                f"{settings.TICKET_MAX_ADDRESSES}; split the list."
            )
        return addresses


class TicketFileForm(forms.Form):
    # One token per rendered form: submitting it again lands on the ticket it filed.
    submission_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    file_anyway = forms.BooleanField(
        required=False,
        widget=forms.HiddenInput,
        label="File anyway: these addresses need a ticket of their own",
    )
    state = forms.ModelChoiceField(
        queryset=Organisation.objects.filter(kind=OrganisationKind.STATE), required=False
    )
    symptom = forms.ChoiceField(choices=Symptom.choices)
    subject = forms.CharField(
        required=False,
        max_length=SUBJECT_MAX,
        label="Subject",
        help_text="A short title. Left blank, it is made from the symptom and the addresses.",
    )
    addresses = AddressListField(label="Affected addresses", help_text=ADDRESSES_HELP)
    first_noticed = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="First noticed"
    )
    description = forms.CharField(
        required=False,
        max_length=LONG_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What do the users see?",
        help_text="Which messages are missing, since when, anything already tried.",
    )
    spam_filter_checked = forms.BooleanField(
        required=False,
        label="Our spam filter and quarantine were checked with our mail administrators",
        help_text="Without this the ticket starts with your IT team, not the national office.",
    )
    spam_filter_notes = forms.CharField(
        required=False,
        max_length=LONG_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="What the check found",
    )
    mail_admin_name = forms.CharField(
        required=False, max_length=SHORT_TEXT, label="Mail administrator's name"
    )
    mail_admin_email = forms.EmailField(required=False, label="Mail administrator's email")
    mail_admin_phone = forms.CharField(
        required=False, max_length=PHONE, label="Mail administrator's phone"
    )

    def __init__(self, *args, role: Role | None = None, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("submission_token", secrets.token_urlsafe(24))
        super().__init__(*args, **kwargs)
        if role == Role.NATIONAL_STAFF:
            self.fields["state"].required = True
            self.fields["state"].help_text = "Filing on a state's behalf."
        else:
            del self.fields["state"]

    def ask_to_file_anyway(self) -> None:
        """Show the "file anyway" box, after a warning about addresses already on tickets."""
        self.fields["file_anyway"].widget = forms.CheckboxInput()

    def clean_first_noticed(self):
        value = self.cleaned_data["first_noticed"]
        if value and value > timezone.localdate():
            raise forms.ValidationError("The date lies in the future.")
        return value


class AddAddressesForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    addresses = AddressListField(label="More affected addresses", help_text=ADDRESSES_HELP)


class CommentForm(forms.Form):
    text = forms.CharField(
        label="Comment", widget=forms.Textarea(attrs={"rows": 3}), max_length=LONG_TEXT
    )


TRANSITION_FIELDS = {
    "text": lambda: forms.CharField(
        required=False,
        max_length=LONG_TEXT,
        label="Message",
        widget=forms.Textarea(attrs={"rows": 3}),
    ),
    "spam_filter_checked": lambda: forms.BooleanField(
        required=False,
        label="Our spam filter and quarantine were checked with our mail administrators",
    ),
    "spam_filter_notes": lambda: forms.CharField(
        required=False,
        max_length=LONG_TEXT,
        label="What the check found",
        widget=forms.Textarea(attrs={"rows": 2}),
    ),
    "mail_admin_name": lambda: forms.CharField(
        required=False, max_length=SHORT_TEXT, label="Mail administrator's name"
    ),
    "mail_admin_email": lambda: forms.EmailField(
        required=False, label="Mail administrator's email"
    ),
    "mail_admin_phone": lambda: forms.CharField(
        required=False, max_length=PHONE, label="Mail administrator's phone"
    ),
    "cause": lambda: forms.ChoiceField(
        required=False, choices=[("", "—"), *Cause.choices], label="Cause"
    ),
    "resolution": lambda: forms.CharField(
        required=False,
        max_length=LONG_TEXT,
        label="Resolution",
        widget=forms.Textarea(attrs={"rows": 3}),
    ),
    "hard_bounce_prevention_affirmed": lambda: forms.BooleanField(
        required=False,
        label="Our mail servers will no longer hard-bounce mail from the notification platform",
        help_text="The most important step: otherwise the address is deactivated again.",
    ),
    "delivery_override_reason": lambda: forms.CharField(
        required=False,
        max_length=LONG_TEXT,
        label="Confirm without proof of delivery — why?",
        help_text="Leave empty when every address has confirmed a delivery probe.",
        widget=forms.Textarea(attrs={"rows": 2}),
    ),
}

TEXT_LABELS = {
    "return_to_state": "Question or instruction for the state",
    "still_failing": "What still fails",
    "reopen": "Why reopen",
    "resubmit": "Answer for the national office",
}


class TransitionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, transition: Transition, **kwargs):
        super().__init__(*args, **kwargs)
        self.transition = transition
        self.prefix = transition.name
        for name in transition.fields:
            field = TRANSITION_FIELDS[name]()
            if name in transition.required:
                field.required = True
            if name == "text" and transition.name in TEXT_LABELS:
                field.label = TEXT_LABELS[transition.name]
            self.fields[name] = field


class FindingForm(forms.Form):
    suppressed = forms.TypedChoiceField(
        choices=[("yes", "Suppressed (deactivated)"), ("no", "Not suppressed")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        label="On the suppression list?",
    )
    suppressed_at = forms.DateTimeField(
        required=False,
        label="Deactivated at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    reason = forms.CharField(
        required=False, max_length=SHORT_TEXT, label="Reason (e.g. hard bounce)"
    )
    bounce_text = forms.CharField(
        required=False,
        max_length=LONG_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Bounce text",
    )

    def clean(self):
        data = super().clean()
        if data.get("suppressed") and not data.get("suppressed_at"):
            self.add_error("suppressed_at", "Give the date the address was deactivated.")
        return data


class AttachmentForm(forms.Form):
    file = forms.FileField()
    kind = forms.ChoiceField(choices=AttachmentKind.choices)
    address = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[])

    def __init__(self, *args, addresses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].choices = [("", "Whole ticket")] + [
            (a.pk, a.address) for a in addresses
        ]


class BounceForm(forms.Form):
    message = forms.CharField(
        required=False,
        max_length=settings.ATTACHMENT_MAX_BYTES,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "Paste the whole bounce message"}),
        label="Bounce message",
    )
    file = forms.FileField(
        required=False,
        label="…or upload it (" + ", ".join(f".{e}" for e in BOUNCE_EXTENSIONS) + ")",
    )

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            try:
                data["filename"] = upload_name_checked(
                    upload.name, upload.size, allowed=BOUNCE_EXTENSIONS
                )
            except UploadRefused as refusal:
                raise forms.ValidationError(str(refusal)) from refusal
            data["raw"] = upload.read()
        elif data.get("message", "").strip():
            data["raw"] = data["message"].encode("utf-8", "surrogateescape")
            data["filename"] = "pasted-bounce.eml"
        else:
            raise forms.ValidationError("Paste a bounce message or choose a file.")
        return data


# --- The desk: ownership, internal notes, saved filters, bulk actions -----------------------------


class AssignForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("take", "Take"), ("assign", "Assign"), ("release", "Release")]
    )
    assignee = forms.ModelChoiceField(queryset=None, required=False, label="Assign to")

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class InternalNoteForm(forms.Form):
    text = forms.CharField(
        label="Internal note",
        help_text="Seen by the national office and the vendor's liaison only; never by the state.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=LONG_TEXT,
    )


class SavedFilterForm(forms.Form):
    name = forms.CharField(max_length=80, label="Save these filters as")
    query = forms.CharField(widget=forms.HiddenInput, required=False, max_length=2000)


class BulkForm(forms.Form):
    # One token per rendered list: the same submit twice adds each note once.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    action = forms.ChoiceField(
        choices=[
            ("", "Choose an action…"),
            ("assign", "Assign to"),
            ("note", "Add an internal note"),
            ("close", "Close resolved tickets"),
        ],
        label="With the ticked tickets",
    )
    assignee = forms.ModelChoiceField(queryset=None, required=False, label="Assignee")
    text = forms.CharField(
        required=False,
        max_length=LONG_TEXT,
        label="Internal note",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, assignees, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("token", secrets.token_urlsafe(16))
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees
