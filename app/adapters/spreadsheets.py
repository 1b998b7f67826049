"""Spreadsheet and CSV cells the app writes: text someone typed stays text.

A value that starts like a formula (`=`, `+`, `-`, `@`, tab, carriage return) would run when an officer opens
the file (formula injection: a citizen named `=HYPERLINK(...)`). In an Excel file such a value is written as a
text cell, exactly as typed; in CSV, which has no types, it gets a leading apostrophe, which spreadsheet
programs take as "this is text".
"""
from __future__ import annotations

from collections.abc import Iterable

from openpyxl.cell import WriteOnlyCell

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_value(value: object) -> object:
    """The value to write into a CSV field."""
    return "'" + value if _formula_like(value) else value


def text_safe_row(sheet, values: Iterable[object]) -> list[object]:
    """The values for `sheet.append(...)`, formula-like text made into text cells (normal or write-only sheets)."""
    row: list[object] = []
    for value in values:
        if _formula_like(value):
            cell = WriteOnlyCell(sheet, value=value)  # a plain cell, placed by append (any sheet)
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row
