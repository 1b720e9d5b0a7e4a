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


# An address list arrives from Excel, LibreOffice or a mail client: UTF-8 (often with a byte
# order mark), else Windows-1252, else Latin-1 (which reads any byte).
ADDRESS_FILE_ENCODINGS = (
    ("utf-8-sig", "UTF-8"),
    ("cp1252", "Windows-1252"),
    ("latin-1", "Latin-1"),
)
ADDRESS_FILE_EXTENSIONS = ("csv", "txt")


def address_file_text(name: str | None, raw: bytes) -> tuple[str, str]:
    """The text of an uploaded address list and the encoding it was read in; or UploadRefused."""
    name = PurePath(name or "upload").name
    extension = PurePath(name).suffix.lower().lstrip(".")
    if extension not in ADDRESS_FILE_EXTENSIONS:
        raise UploadRefused(
            f"“{name}” is not a CSV or text file. Save the sheet as CSV (comma-separated) and "
            "upload that."
        )
    if len(raw) > settings.BULK_FILING_MAX_BYTES:
        raise UploadRefused(
            f"“{name}” is {len(raw) / 1_048_576:.1f} MB; an address list may be at most "
            f"{settings.BULK_FILING_MAX_BYTES / 1_048_576:.1f} MB. Split it."
        )
    if not raw.strip():
        raise UploadRefused(f"“{name}” is empty.")
    if b"\x00" in raw:
        raise UploadRefused(
            f"“{name}” holds NUL bytes: it is not plain text (a spreadsheet, or UTF-16?). "
            "Save it as “CSV UTF-8” and upload it again."
        )
    for codec, label in ADDRESS_FILE_ENCODINGS:
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        return text.replace("\r\n", "\n"), label
    raise AssertionError("Latin-1 decodes every byte")  # pragma: no cover
