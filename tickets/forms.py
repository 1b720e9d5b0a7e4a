"""Forms: parse and validate what people type; the services decide what it means."""

from __future__ import annotations

import hashlib
import secrets

from django import forms
from django.conf import settings
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.html import escape

from tickets.addresses import AddressReading, group_by_domain, read_address_rows
from tickets.limits import LONG_TEXT, PHONE, SHORT_TEXT
from tickets.models import (
    SUBJECT_MAX,
    AttachmentKind,
    Cause,
    MailDelivery,
    Organisation,
    OrganisationKind,
    Symptom,
)
from tickets.roles import Role
from tickets.uploads import (
    BOUNCE_EXTENSIONS,
    UploadRefused,
    address_file_text,
    upload_name_checked,
)
from tickets.workflow import Transition

# Escaped: crispy-forms shows help text as HTML, and "<jane@agency.gov>" would vanish as a tag.
ADDRESSES_HELP = escape(
    "One per line, or separated by commas. CSV rows (address, name, notes; a header row is "
    "optional) and “Jane Doe <jane@agency.gov>” work too. Repeats are listed once."
)
# An address (at most 254 characters), a display name, notes and the separators of a CSV row.
ADDRESS_LINE_CHARS = 400


class AddressListField(forms.CharField):
    """A pasted list or CSV of addresses, read into an AddressReading (the form judges it)."""

    widget = forms.Textarea(attrs={"rows": 5, "placeholder": "jane.doe@agency.gov"})

    def clean(self, value):
        value = super().clean(value)
        # Checked before parsing: every address costs a validation, and the request may hold
        # megabytes. Room for a bulk filing's rows, each with a name and notes beside it.
        most = settings.BULK_FILING_MAX_ROWS * ADDRESS_LINE_CHARS
        if value and len(value) > most:
            raise forms.ValidationError(
                f"The list is {len(value):,} characters long; at most {most:,} are read at once "
                f"({settings.BULK_FILING_MAX_ROWS:,} rows). Split the list."
            )
        return read_address_rows(value or "", max_rows=settings.BULK_FILING_MAX_ROWS)


def text_digest(text: str) -> str:
    """What identifies the list whose bad rows a person was shown."""
    # Browsers send a text box's lines with CRLF whatever it was shown with.
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def address_file_field() -> forms.FileField:
    return forms.FileField(
        required=False,
        label="…or upload a CSV file",
        help_text="Columns: address, name, notes. Saved from a spreadsheet as CSV (UTF-8 or "
        f"Windows); at most {settings.BULK_FILING_MAX_ROWS:,} rows.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )


class AddressListForm(forms.Form):
    """The pasted list, a CSV upload beside it, and the explicit step that leaves bad rows out.

    An uploaded file's text is put into the list field, so a refused form shows it again and
    nothing has to be chosen twice. Bad rows stop the form: each is listed with its line and
    reason, and the valid rows are filed only once the person ticks "leave out" for exactly
    the list they were shown (a changed list is judged again).
    """

    address_field = "addresses"
    may_split = False  # whether a list longer than a ticket takes may be filed as several

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.address_field].required = False
        self.address_problems: list = []
        self.address_duplicates: list = []
        self.left_out: list = []
        self.split_groups: list = []
        self.upload_error = ""
        self.upload_note = ""
        if self.is_bound:
            self._read_upload()

    def _read_upload(self) -> None:
        upload = self.files.get(self.add_prefix("address_file"))
        if upload is None:
            return
        try:
            if upload.size > settings.BULK_FILING_MAX_BYTES:  # not read into memory at all
                raise UploadRefused(
                    f"“{upload.name}” is {upload.size / 1_048_576:.1f} MB; an address list may "
                    f"be at most {settings.BULK_FILING_MAX_BYTES / 1_048_576:.1f} MB. Split it."
                )
            text, encoding = address_file_text(upload.name, upload.read())
        except UploadRefused as refusal:
            self.upload_error = str(refusal)
            return
        pasted = self.data.get(self.add_prefix(self.address_field), "")
        shown = self.data.get(self.add_prefix("checked_digest"), "")
        if pasted.strip() and text_digest(pasted) != shown:
            # A list of the person's own beside a file: neither may silently replace the other.
            # (The text of a file read before, shown back unchanged, may be replaced by a new file.)
            self.upload_error = (
                "There is a list in the box and a file chosen. Empty the box to use the file, "
                "or send the form without the file to use the list (it is kept)."
            )
            return
        self.data = self.data.copy()
        self.data[self.add_prefix(self.address_field)] = text
        self.upload_note = f"“{upload.name}” was read as {encoding}."

    def clean_address_file(self):
        if self.upload_error:
            raise forms.ValidationError(self.upload_error)
        return None

    def clean(self):
        data = super().clean()
        reading = data.get(self.address_field)
        if reading is None or self.upload_error:
            return data
        data[self.address_field] = self._judged(reading, data)
        # Should the form come back, its digest names the list it shows: the "leave out" box
        # is honoured for that list only, and a new file may replace that text (not another).
        shown = text_digest(self.data.get(self.add_prefix(self.address_field), ""))
        if self.data.get(self.add_prefix("checked_digest")) != shown:
            self.data = self.data.copy()
            self.data[self.add_prefix("checked_digest")] = shown
        return data

    def _judged(self, reading: AddressReading, data: dict):
        """The addresses to file, or None with the form's errors set."""
        name = self.address_field
        self.address_duplicates = reading.duplicates
        if reading.over_limit:
            self.add_error(
                name,
                f"The list has more than {settings.BULK_FILING_MAX_ROWS:,} rows, the most read "
                f"at once, and a ticket takes at most {settings.TICKET_MAX_ADDRESSES} addresses. "
                "Split it.",
            )
            return None
        if reading.problems:
            digest = text_digest(self.data.get(self.add_prefix(name), ""))
            if data.get("leave_out_bad_rows") and data.get("checked_digest") == digest:
                self.left_out = reading.problems
            else:
                self._offer_leave_out(reading, digest)
                return None
        if not reading.addresses:
            self.add_error(name, "List at least one affected address.")
            return None
        limit = settings.TICKET_MAX_ADDRESSES
        if len(reading.addresses) > limit:
            groups = group_by_domain(reading.addresses, limit)
            digest = text_digest(self.data.get(self.add_prefix(name), ""))
            if (
                self.may_split
                and data.get("split_tickets")
                and data.get("checked_digest") == digest
            ):
                self.split_groups = groups
                return reading.addresses
            self.add_error(
                name,
                f"{len(reading.addresses):,} valid addresses: a ticket takes at most {limit:,}. "
                + (
                    f"Tick “File them as {len(groups)} tickets” below, or split the list."
                    if self.may_split
                    else "Split the list, or file the rest as a ticket of its own."
                ),
            )
            if self.may_split:
                field = self.fields["split_tickets"]
                field.widget = forms.CheckboxInput()
                field.label = (
                    f"File them as {len(groups)} tickets of at most {limit:,} addresses each, "
                    "an email domain kept on one ticket where it fits"
                )
                self["split_tickets"].label = field.label
                self.data = self.data.copy()
                self.data.pop(self.add_prefix("split_tickets"), None)
            return None
        return reading.addresses

    def _offer_leave_out(self, reading: AddressReading, digest: str) -> None:
        self.address_problems = reading.problems
        bad = len(reading.bad_lines)
        valid = len(reading.addresses)
        self.add_error(
            self.address_field,
            f"{bad:,} row{pluralize(bad)} cannot be filed: each is listed with its reason. "
            "Correct them here (or in the file and upload it again)"
            + (", or file the valid rows alone." if valid else "."),
        )
        self.data = self.data.copy()
        self.data[self.add_prefix("checked_digest")] = digest
        self.data.pop(self.add_prefix("leave_out_bad_rows"), None)
        if valid:
            field = self.fields["leave_out_bad_rows"]
            field.widget = forms.CheckboxInput()
            field.label = (
                f"File the {valid:,} valid address{pluralize(valid, 'es')} and leave out "
                f"the {bad:,} row{pluralize(bad)} listed"
            )
            self["leave_out_bad_rows"].label = field.label  # the bound field kept the old one

    def left_out_note(self) -> str:
        """For the ticket's timeline: the rows the person chose to leave out, and why."""
        if not self.left_out:
            return ""
        shown = [f"line {p.line}: “{p.text}” — {p.message}" for p in self.left_out[:50]]
        more = len(self.left_out) - len(shown)
        return (
            "Left out of the list by choice, as they could not be filed: "
            + "; ".join(shown)
            + (f"; and {more:,} more." if more else ".")
        )

    def outcome_note(self) -> str:
        """What the success message adds: rows left out, repeats listed once, the encoding."""
        parts = []
        if self.left_out:
            lines = sorted({p.line for p in self.left_out})
            shown = ", ".join(str(n) for n in lines[:20]) + (" …" if len(lines) > 20 else "")
            parts.append(f"{len(lines):,} row(s) left out (line {shown}).")
        if self.address_duplicates:
            parts.append(f"{len(self.address_duplicates):,} repeated address(es) listed once.")
        if self.upload_note:
            parts.append(self.upload_note)
        return " ".join(parts)


class TicketFileForm(AddressListForm):
    may_split = True
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
    address_file = address_file_field()
    leave_out_bad_rows = forms.BooleanField(required=False, widget=forms.HiddenInput)
    split_tickets = forms.BooleanField(required=False, widget=forms.HiddenInput)
    checked_digest = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
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


class AddAddressesForm(AddressListForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    addresses = AddressListField(label="More affected addresses", help_text=ADDRESSES_HELP)
    address_file = address_file_field()
    leave_out_bad_rows = forms.BooleanField(required=False, widget=forms.HiddenInput)
    checked_digest = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)


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


class NotificationSettingsForm(forms.Form):
    delivery = forms.ChoiceField(
        label="How should we mail you about tickets?",
        choices=MailDelivery.choices,
        widget=forms.RadioSelect,
        help_text="The digest comes once a day and lists every update of the day before it.",
    )


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
