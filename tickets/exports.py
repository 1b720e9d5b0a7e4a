"""CSV cells a spreadsheet shows as text: the one rule every export of the helpdesk uses."""

from __future__ import annotations

# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection"):
# such a cell is written with a leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """The value as text a spreadsheet shows as text: a leading formula character is quoted."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
