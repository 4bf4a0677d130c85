"""Spreadsheet exports (registers, search results) laid out to print: A4 landscape, one page
wide, the header rows repeated on every page and frozen on screen."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet


def printable_xlsx(book: Workbook, sheet: Worksheet, *, first_row: int, title_rows: str) -> bytes:
    """``book`` as .xlsx bytes, ``sheet`` frozen above ``first_row`` (the first data row) and
    printed A4 landscape one page wide with ``title_rows`` (e.g. ``"3:4"``) on every page."""
    sheet.freeze_panes = sheet.cell(row=first_row, column=1)
    sheet.print_title_rows = title_rows
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
