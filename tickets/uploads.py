"""What may be uploaded: one rule for every form and the API (type by extension, size)."""

from __future__ import annotations

from pathlib import PurePath

from django.conf import settings

# A bounce is a mail message: its raw text or an .eml file. No HTML, images or programs.
BOUNCE_EXTENSIONS = ("eml", "txt")


class UploadRefused(ValueError):
    """The upload's type or size is not accepted; the message says which and why."""


def upload_name_checked(name: str | None, size: int, *, allowed=None) -> str:
    """The upload's safe base name, or UploadRefused when its type or size is refused."""
    allowed = tuple(allowed or settings.ATTACHMENT_ALLOWED_EXTENSIONS)
    name = PurePath(name or "upload").name
    extension = PurePath(name).suffix.lower().lstrip(".")
    if extension not in allowed:
        raise UploadRefused(
            f"“{name}” is not an accepted kind of file. Accepted: " + ", ".join(allowed) + "."
        )
    if size > settings.ATTACHMENT_MAX_BYTES:
        raise UploadRefused(
            f"“{name}” is {size / 1_048_576:.1f} MB; the limit is "
            f"{settings.ATTACHMENT_MAX_BYTES / 1_048_576:.1f} MB."
        )
    return name
