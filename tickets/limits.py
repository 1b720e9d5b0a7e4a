"""How long what people type may be: the forms and the API read the same numbers."""

from __future__ import annotations

# A comment, question, description or resolution: several pages of text, not a book.
LONG_TEXT = 20_000
# A name, a reason, a one-line note.
SHORT_TEXT = 200
PHONE = 50
