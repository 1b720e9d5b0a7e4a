"""Post/redirect/get for the ticket page's refused forms: what was typed survives the redirect.

A refused form used to be answered with the ticket page itself, under the POST's address: a
reload sent the form again. Now the answer is a redirect to the ticket page; the reason is a
message (shown once), and the form comes back filled in as it was sent, with its field errors,
its panel open. Files cannot be kept; everything typed can. A form refused because the ticket
changed comes back with the ticket's current version: the person sees the current ticket and
sends again knowingly.
"""

from __future__ import annotations

from django.contrib import messages
from django.forms.utils import ErrorDict, ErrorList
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse

from tickets.forms import (
    AddAddressesForm,
    AttachmentForm,
    BounceForm,
    CommentForm,
    FindingForm,
    InternalNoteForm,
    TransitionForm,
)
from tickets.workflow import TRANSITIONS

SESSION_KEY = "refused_forms"
# Which override of the ticket page holds which form.
FORM_KEYS = {
    "comment_form": "comment",
    "add_form": "add",
    "attachment_form": "attach",
    "bounce_form": "bounce",
    "finding_form": "finding",
    "note_form": "note",
}
NOT_SENT = "Not sent: see what needs correcting in the form below."


def refuse(request: HttpRequest, number: str, overrides: dict) -> HttpResponse:
    """Keep the refused form of `overrides` in the session, say why, redirect to the ticket."""
    kept: dict = {"data": {}, "errors": {}}
    form = None
    if forms := overrides.get("transition_forms"):
        name, form = next(iter(forms.items()))
        kept |= {"kind": "transition", "name": name}
    else:
        for key, kind in FORM_KEYS.items():
            if key in overrides:
                form = overrides[key]
                kept["kind"] = kind
                break
    anchor = ""
    if form is not None:
        kept["data"] = {
            k: form.data.getlist(k) if hasattr(form.data, "getlist") else [form.data[k]]
            for k in form.data
            if k != "csrfmiddlewaretoken"
        }
        errors = form.errors.get_json_data()
        said = [e["message"] for e in errors.pop("__all__", [])]
        kept["errors"] = {field: [e["message"] for e in errs] for field, errs in errors.items()}
        if overrides.get("stale"):
            ticket = overrides.get("stale_ticket")
            now = f" (it is now “{ticket.get_status_display()}”)" if ticket else ""
            said = [
                f"{number} changed while you were looking at it{now}. The page shows it as it "
                "is now; what you typed is kept in the form: check it and send it again."
            ]
        messages.error(request, " ".join(said) or NOT_SENT)
        if kept["kind"] == "finding":
            kept["address_id"] = overrides.get("finding_address_id")
            anchor = f"#address-{kept['address_id']}"
        else:
            anchor = "#" + {"transition": f"panel-{kept.get('name')}", "add": "add-addresses"}.get(
                kept["kind"], kept["kind"]
            )
        request.session.setdefault(SESSION_KEY, {})[number] = kept
        request.session.modified = True
    return redirect(reverse("tickets:detail", kwargs={"number": number}) + anchor)


def restore(request: HttpRequest, ticket, *, addresses=()) -> dict:
    """The ticket page's overrides that bring back a form refused a moment ago (once)."""
    stored = request.session.get(SESSION_KEY, {})
    kept = stored.pop(ticket.number, None)
    if kept is None:
        return {}
    request.session.modified = True
    data = QueryDict(mutable=True)
    for key, values in kept["data"].items():
        data.setlist(key, values)
    kind = kept.get("kind")
    if kind == "transition" and kept.get("name") in TRANSITIONS:
        name = kept["name"]
        data[f"{name}-version"] = str(ticket.version)
        form = TransitionForm(data, transition=TRANSITIONS[name])
        return {"transition_forms": {name: _with(form, kept)}, "open_panel": name}
    if kind == "add":
        data["version"] = str(ticket.version)
        form = AddAddressesForm(data)
        form.is_valid()  # the report of bad rows and the "leave out" box, as they were
        return {"add_form": form, "open_panel": "add"}
    if kind == "comment":
        return {"comment_form": _with(CommentForm(data), kept)}
    if kind == "note":
        return {"note_form": _with(InternalNoteForm(data, prefix="note"), kept)}
    if kind == "bounce":
        return {"bounce_form": _with(BounceForm(data), kept), "open_panel": "bounce"}
    if kind == "attach":
        form = AttachmentForm(data, addresses=addresses)
        return {"attachment_form": _with(form, kept), "open_panel": "attach"}
    if kind == "finding":
        return {
            "finding_form": _with(
                FindingForm(data, auto_id=f"id_finding{kept.get('address_id')}_%s"), kept
            ),
            "finding_address_id": kept.get("address_id"),
        }
    return {}


def _with(form, kept: dict):
    """The form bound to what was typed, showing the field errors it was refused with."""
    form._errors = ErrorDict(
        {field: ErrorList(messages) for field, messages in kept["errors"].items()}
    )
    return form
