"""What the person wrote: the reply without quoted history and signature; a filing request."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailparser_reply import EmailReplyParser

from tickets.models import Symptom

REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z ]{1,40}?)\s*:\s*(.*)$")
_YES = frozenset({"yes", "y", "true", "done", "checked", "1"})

# The labels a filing mail may use, each to a field of the filing form.
LABELS = {
    "symptom": "symptom",
    "spam filter checked": "spam_filter_checked",
    "spam filter": "spam_filter_checked",
    "spam filter notes": "spam_filter_notes",
    "first noticed": "first_noticed",
    "mail admin": "mail_admin",
    "mail administrator": "mail_admin",
    "mail admin phone": "mail_admin_phone",
    "description": "description",
    "addresses": "addresses",
    "affected addresses": "addresses",
}
SYMPTOMS = {label.lower(): value for value, label in Symptom.choices} | {
    value.replace("_", " "): value for value in Symptom.values
}


def reply_text(text: str) -> str:
    """The newest part of a reply: quoted history, reply headers and signature removed."""
    if not text.strip():
        return ""
    message = EmailReplyParser(languages=REPLY_LANGUAGES).read(text=text)
    if not message.replies:
        return text.strip()
    return message.replies[0].body.strip()


@dataclass
class FilingRequest:
    """A ticket asked for by mail: the form's fields, the address lines as typed."""

    address_text: str = ""
    symptom: str = ""
    spam_filter_checked: bool = False
    spam_filter_notes: str = ""
    mail_admin: str = ""
    mail_admin_phone: str = ""
    description_lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def description(self) -> str:
        return "\n".join(self.description_lines).strip()

    def form_initial(self) -> dict[str, object]:
        """The filing form's initial values: the draft the sender confirms on the page."""
        return {
            "symptom": self.symptom,
            "addresses": self.address_text,
            "description": self.description,
            "spam_filter_checked": self.spam_filter_checked,
            "spam_filter_notes": self.spam_filter_notes,
            "mail_admin_name": self.mail_admin,
            "mail_admin_phone": self.mail_admin_phone,
        }


def filing_request(text: str) -> FilingRequest:
    """Read `Label: value` lines and the address list (after `Addresses:`, else unlabelled lines).

    Labels are those of the filing form (LABELS). Without an `Addresses:` line every unlabelled
    line is an address line, so a line of prose is named as a bad line, as the form would.
    """
    request = FilingRequest()
    address_lines: list[str] = []
    unlabelled: list[str] = []
    in_addresses = False
    for line in text.splitlines():
        match = _FIELD.match(line)
        label = match[1].strip().lower() if match else ""
        if label in LABELS:
            name, value = LABELS[label], match[2].strip()
            in_addresses = name == "addresses"
            if in_addresses:
                if value:
                    address_lines.append(value)
            elif name == "symptom":
                request.symptom = SYMPTOMS.get(value.lower(), "")
                if not request.symptom:
                    choices = ", ".join(label for _, label in Symptom.choices)
                    request.problems.append(f"Symptom “{value}” is not one of: {choices}.")
            elif name == "spam_filter_checked":
                request.spam_filter_checked = value.lower() in _YES
            elif name == "description":
                request.description_lines.append(value)
            else:
                setattr(request, name, value)
            continue
        if in_addresses:
            address_lines.append(line)
        elif line.strip():
            unlabelled.append(line)
    if address_lines:
        request.address_text = "\n".join(address_lines)
        request.description_lines += unlabelled
    else:
        request.address_text = "\n".join(unlabelled)
    return request
